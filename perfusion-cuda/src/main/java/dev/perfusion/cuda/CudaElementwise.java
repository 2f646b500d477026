package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaContext.fail;
import static dev.perfusion.cuda.CudaContext.launch1d;
import static dev.perfusion.cuda.CudaContext.ptr;
import static dev.perfusion.cuda.CudaContext.sameDType;
import static dev.perfusion.cuda.CudaContext.sameShape;

import dev.perfusion.cuda.KernelRef.Variants;
import dev.perfusion.cuda.driver.KernelArgs;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;

/**
 * Elementwise ops ({@code elementwise.cu}) for FLOAT32, FLOAT16 and BFLOAT16 storage: unary functions and their
 * derivatives, broadcasting binary ops, affine, pow, GEGLU and nearest ×2 upsampling. The result has the input's
 * dtype; arithmetic is float inside the kernels.
 */
final class CudaElementwise {
    static final KernelRef UNARY = KernelRef.of("elementwise", "unary", Variants.FLOAT_TYPES);
    static final KernelRef UNARY_BACKWARD = KernelRef.of("elementwise", "unary_backward", Variants.FLOAT_TYPES);
    static final KernelRef BINARY = KernelRef.of("elementwise", "binary", Variants.FLOAT_TYPES);
    static final KernelRef AFFINE = KernelRef.of("elementwise", "affine", Variants.FLOAT_TYPES);
    static final KernelRef POW = KernelRef.of("elementwise", "pow", Variants.FLOAT_TYPES);
    static final KernelRef GEGLU = KernelRef.of("elementwise", "geglu", Variants.FLOAT_TYPES);
    static final KernelRef GEGLU_BACKWARD = KernelRef.of("elementwise", "geglu_backward", Variants.FLOAT_TYPES);
    static final KernelRef UPSAMPLE = KernelRef.of("elementwise", "upsample2x", Variants.FLOAT_TYPES);
    static final KernelRef UPSAMPLE_BACKWARD = KernelRef.of("elementwise", "upsample2x_backward", Variants.FLOAT_TYPES);

    private final CudaContext cx;

    CudaElementwise(CudaContext cx) {
        this.cx = cx;
    }

    /** The op code elementwise.cu's unary kernels switch on (listed in its header). */
    static int code(UnaryOp op) {
        return switch (op) {
            case NEG -> 0;
            case SQUARE -> 1;
            case EXP -> 2;
            case LOG -> 3;
            case SQRT -> 4;
            case RSQRT -> 5;
            case SIN -> 6;
            case COS -> 7;
            case TANH -> 8;
            case SIGMOID -> 9;
            case SILU -> 10;
            case GELU -> 11;
            case GELU_TANH -> 12;
            case QUICK_GELU -> 13;
        };
    }

    /** The op code elementwise.cu's binary kernels switch on. */
    static int code(BinaryOp op) {
        return switch (op) {
            case ADD -> 0;
            case SUB -> 1;
            case MUL -> 2;
            case DIV -> 3;
            case MAXIMUM -> 4;
            case MINIMUM -> 5;
        };
    }

    Tensor unary(UnaryOp op, Tensor x) {
        String name = "unary " + op;
        cx.checkFloating(name, "x", x);
        Tensor y = cx.allocate(x.shape(), x.dtype());
        launch1d(cx.kernel(UNARY, x.dtype()), x.numel(),
                KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(x.numel()).i32(code(op)));
        return y;
    }

    Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy) {
        String name = "unaryBackward " + op;
        cx.checkFloating(name, "x", x);
        cx.checkFloating(name, "dy", dy);
        sameShape(name, "x", x, "dy", dy);
        sameDType(name, "dy", dy, "x", x.dtype());
        Tensor dx = cx.allocate(x.shape(), x.dtype());
        launch1d(cx.kernel(UNARY_BACKWARD, x.dtype()), x.numel(),
                KernelArgs.create().ptr(ptr(x)).ptr(ptr(dy)).ptr(ptr(dx)).i64(x.numel()).i32(code(op)));
        return dx;
    }

    Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = "binary " + op;
        cx.checkFloating(name, "a", a);
        cx.checkFloating(name, "b", b);
        sameDType(name, "b", b, "a", a.dtype());
        Shape out = CudaContext.broadcast(name, a.shape(), b.shape());
        Tensor y = cx.allocate(out, a.dtype());
        long n = out.numel();
        if (n == 0) {
            return y;
        }
        if (a.shape().equals(out) && b.shape().equals(out)) {
            long[] unit = {1, 1, 1, 1, 1, 1};
            long[] zero = new long[6];
            launch1d(cx.kernel(BINARY, a.dtype()), n, KernelArgs.create().ptr(ptr(a)).ptr(ptr(b)).ptr(ptr(y)).i64(n)
                    .i32(code(op)).i32(1).i64s(unit).i64s(zero).i64s(zero));
            return y;
        }
        int[] dims = out.dims();
        StridedLayout l = StridedLayout.collapse(dims, CudaShapeOps.broadcastStrides(a.shape(), out),
                CudaShapeOps.broadcastStrides(b.shape(), out), StridedLayout.contiguous(dims));
        StridedLayout inner = l.inner();
        StridedLayout outer = l.outer();
        int width = a.dtype().byteSize();
        for (long o = 0; o < outer.count(); o++) {
            long oa = outer.rank() == 0 ? 0 : outer.offset(0, o);
            long ob = outer.rank() == 0 ? 0 : outer.offset(1, o);
            long oy = outer.rank() == 0 ? 0 : outer.offset(2, o);
            launch1d(cx.kernel(BINARY, a.dtype()), inner.count(), KernelArgs.create()
                    .ptr(ptr(a).withByteOffset(oa * width)).ptr(ptr(b).withByteOffset(ob * width))
                    .ptr(ptr(y).withByteOffset(oy * width)).i64(inner.count()).i32(code(op)).i32(0)
                    .i64s(inner.paddedDims()).i64s(inner.paddedStrides(0)).i64s(inner.paddedStrides(1)));
        }
        return y;
    }

    Tensor affine(Tensor x, float scale, float shift) {
        cx.checkFloating("affine", "x", x);
        Tensor y = cx.allocate(x.shape(), x.dtype());
        launch1d(cx.kernel(AFFINE, x.dtype()), x.numel(),
                KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(x.numel()).f32(scale).f32(shift));
        return y;
    }

    Tensor pow(Tensor x, float p) {
        cx.checkFloating("pow", "x", x);
        Tensor y = cx.allocate(x.shape(), x.dtype());
        launch1d(cx.kernel(POW, x.dtype()), x.numel(),
                KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(x.numel()).f32(p));
        return y;
    }

    Tensor geglu(Tensor x) {
        cx.checkFloating("geglu", "x", x);
        int f = half("geglu", x);
        Tensor y = cx.allocate(x.shape().with(-1, f), x.dtype());
        long rows = rows(x);
        launch1d(cx.kernel(GEGLU, x.dtype()), rows * f,
                KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(rows).i64(f));
        return y;
    }

    Tensor gegluBackward(Tensor x, Tensor dy) {
        String op = "gegluBackward";
        cx.checkFloating(op, "x", x);
        cx.checkFloating(op, "dy", dy);
        int f = half(op, x);
        if (!dy.shape().equals(x.shape().with(-1, f))) {
            throw fail(op, "dy " + dy.shape() + " does not match the geglu output " + x.shape().with(-1, f));
        }
        sameDType(op, "dy", dy, "x", x.dtype());
        Tensor dx = cx.allocate(x.shape(), x.dtype());
        long rows = rows(x);
        launch1d(cx.kernel(GEGLU_BACKWARD, x.dtype()), rows * f,
                KernelArgs.create().ptr(ptr(x)).ptr(ptr(dy)).ptr(ptr(dx)).i64(rows).i64(f));
        return dx;
    }

    Tensor upsampleNearest2x(Tensor x) {
        String op = "upsampleNearest2x";
        cx.checkFloating(op, "x", x);
        if (x.rank() != 4) {
            throw fail(op, "x must be [N, C, H, W], got " + x.shape());
        }
        long planes = (long) x.dim(0) * x.dim(1);
        int h = x.dim(2);
        int w = x.dim(3);
        Tensor y = cx.allocate(Shape.of(x.dim(0), x.dim(1), 2 * h, 2 * w), x.dtype());
        launch1d(cx.kernel(UPSAMPLE, x.dtype()), y.numel(),
                KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(planes).i64(h).i64(w));
        return y;
    }

    Tensor upsampleNearest2xBackward(Tensor dy) {
        String op = "upsampleNearest2xBackward";
        cx.checkFloating(op, "dy", dy);
        if (dy.rank() != 4 || dy.dim(2) % 2 != 0 || dy.dim(3) % 2 != 0) {
            throw fail(op, "dy must be [N, C, 2H, 2W] with even spatial sizes, got " + dy.shape());
        }
        long planes = (long) dy.dim(0) * dy.dim(1);
        int h = dy.dim(2) / 2;
        int w = dy.dim(3) / 2;
        Tensor dx = cx.allocate(Shape.of(dy.dim(0), dy.dim(1), h, w), dy.dtype());
        launch1d(cx.kernel(UPSAMPLE_BACKWARD, dy.dtype()), dx.numel(),
                KernelArgs.create().ptr(ptr(dy)).ptr(ptr(dx)).i64(planes).i64(h).i64(w));
        return dx;
    }

    private static int half(String op, Tensor x) {
        if (x.rank() < 1 || x.dim(-1) % 2 != 0) {
            throw fail(op, "x needs an even last axis [..., 2F], got " + x.shape());
        }
        return x.dim(-1) / 2;
    }

    /** The product of all axes but the last. */
    static long rows(Tensor x) {
        long r = 1;
        for (int k = 0; k < x.rank() - 1; k++) {
            r *= x.dim(k);
        }
        return r;
    }
}
