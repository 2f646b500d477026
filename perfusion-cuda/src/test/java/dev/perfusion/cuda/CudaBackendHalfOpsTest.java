package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaTestSupport.REF;
import static dev.perfusion.cuda.CudaTestSupport.check;
import static dev.perfusion.cuda.CudaTestSupport.cuda;
import static dev.perfusion.cuda.CudaTestSupport.randn;
import static dev.perfusion.cuda.CudaTestSupport.randnPair;
import static dev.perfusion.cuda.CudaTestSupport.sumTolerance;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perfusion.cuda.CudaTestSupport.Pair;
import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.tensor.UnaryOp;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * FLOAT16 and BFLOAT16 storage with float32 arithmetic: each op on half inputs against the reference run in
 * float32 on the same (already rounded) values, with the dtype's tolerance ({@link Tolerance#forDType}; sums
 * scaled by √K). The result keeps the input's dtype. Tier {@code cuda}: skipped with the probe's reason without
 * a GPU.
 */
@Tag("cuda")
class CudaBackendHalfOpsTest {
    private TensorScope scope;

    @BeforeEach
    void open() {
        CudaTestSupport.needsAGpu();
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        if (scope != null) {
            scope.close();
        }
    }

    private static Tolerance tol(DType dt) {
        return Tolerance.forDType(dt);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT16", "BFLOAT16"})
    void elementwise(DType dt) {
        Shape s = Shape.of(7, 129);
        Pair x = randnPair(1, s, dt);
        Pair dy = randnPair(2, s, dt);
        for (UnaryOp op : UnaryOp.values()) {
            Pair in = switch (op) {
                case LOG, SQRT, RSQRT -> CudaTestSupport.pair(CudaTestSupport.uniform(3, s.numelInt(), 0.1f, 10f), s, dt);
                case SIN, COS -> CudaTestSupport.pair(CudaTestSupport.uniform(4, s.numelInt(), -6f, 6f), s, dt);
                default -> x;
            };
            check("unary " + op + " " + dt, REF.unary(op, in.ref()), cuda().unary(op, in.gpu()), dt, tol(dt));
            check("unaryBackward " + op + " " + dt, REF.unaryBackward(op, in.ref(), dy.ref()),
                    cuda().unaryBackward(op, in.gpu(), dy.gpu()), dt, tol(dt));
        }
        Pair b = randnPair(5, Shape.of(129), dt);
        for (BinaryOp op : new BinaryOp[] {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.MAXIMUM, BinaryOp.MINIMUM}) {
            check("binary " + op + " " + dt, REF.binary(op, x.ref(), b.ref()), cuda().binary(op, x.gpu(), b.gpu()), dt,
                    tol(dt));
        }
        Pair pos = CudaTestSupport.pair(CudaTestSupport.uniform(6, 129, 0.5f, 2f), Shape.of(129), dt);
        check("binary DIV " + dt, REF.binary(BinaryOp.DIV, x.ref(), pos.ref()),
                cuda().binary(BinaryOp.DIV, x.gpu(), pos.gpu()), dt, tol(dt));
        check("affine " + dt, REF.affine(x.ref(), 0.5f, 1f), cuda().affine(x.gpu(), 0.5f, 1f), dt, tol(dt));
        check("pow " + dt, REF.pow(pos.ref(), 1.5f), cuda().pow(pos.gpu(), 1.5f), dt, tol(dt));
        Pair g = randnPair(7, Shape.of(3, 7, 66), dt);
        Pair gdy = randnPair(8, Shape.of(3, 7, 33), dt);
        check("geglu " + dt, REF.geglu(g.ref()), cuda().geglu(g.gpu()), dt, tol(dt));
        check("gegluBackward " + dt, REF.gegluBackward(g.ref(), gdy.ref()), cuda().gegluBackward(g.gpu(), gdy.gpu()),
                dt, tol(dt));
        Pair u = randnPair(9, Shape.of(2, 3, 7, 5), dt);
        Pair udy = randnPair(10, Shape.of(2, 3, 14, 10), dt);
        check("upsample " + dt, REF.upsampleNearest2x(u.ref()), cuda().upsampleNearest2x(u.gpu()), dt, tol(dt));
        check("upsampleBackward " + dt, REF.upsampleNearest2xBackward(udy.ref()),
                cuda().upsampleNearest2xBackward(udy.gpu()), dt, tol(dt));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT16", "BFLOAT16"})
    void normsAndSoftmax(DType dt) {
        Shape s = Shape.of(2, 320, 16, 16);
        Pair x = randnPair(20, s, dt);
        Pair gamma = CudaTestSupport.pair(CudaTestSupport.uniform(21, 320, 0.5f, 1.5f), Shape.of(320), dt);
        Pair beta = randnPair(22, Shape.of(320), dt);
        Pair dy = randnPair(23, s, dt);
        check("groupNorm " + dt, REF.groupNorm(x.ref(), 32, gamma.ref(), beta.ref(), 1e-5f),
                cuda().groupNorm(x.gpu(), 32, gamma.gpu(), beta.gpu(), 1e-5f), dt, tol(dt));
        NormGrads r = REF.groupNormBackward(x.ref(), 32, gamma.ref(), 1e-5f, dy.ref());
        NormGrads g = cuda().groupNormBackward(x.gpu(), 32, gamma.gpu(), 1e-5f, dy.gpu());
        check("groupNorm dx " + dt, r.dx(), g.dx(), dt, tol(dt));
        check("groupNorm dgamma " + dt, r.dGamma(), g.dGamma(), dt, sumTolerance(dt, 512));
        check("groupNorm dbeta " + dt, r.dBeta(), g.dBeta(), dt, sumTolerance(dt, 512));

        Shape t = Shape.of(2, 77, 768);
        Pair lx = randnPair(24, t, dt);
        Pair lg = CudaTestSupport.pair(CudaTestSupport.uniform(25, 768, 0.5f, 1.5f), Shape.of(768), dt);
        Pair lb = randnPair(26, Shape.of(768), dt);
        Pair ldy = randnPair(27, t, dt);
        check("layerNorm " + dt, REF.layerNorm(lx.ref(), lg.ref(), lb.ref(), 1e-5f),
                cuda().layerNorm(lx.gpu(), lg.gpu(), lb.gpu(), 1e-5f), dt, tol(dt));
        NormGrads lr = REF.layerNormBackward(lx.ref(), lg.ref(), 1e-5f, ldy.ref());
        NormGrads lgpu = cuda().layerNormBackward(lx.gpu(), lg.gpu(), 1e-5f, ldy.gpu());
        check("layerNorm dx " + dt, lr.dx(), lgpu.dx(), dt, tol(dt));
        check("layerNorm dgamma " + dt, lr.dGamma(), lgpu.dGamma(), dt, sumTolerance(dt, 154));
        check("layerNorm dbeta " + dt, lr.dBeta(), lgpu.dBeta(), dt, sumTolerance(dt, 154));

        Shape sm = Shape.of(2, 8, 77, 129);
        Pair sx = CudaTestSupport.pair(randn(28, sm.numelInt(), 3f), sm, dt);
        Pair sdy = randnPair(29, sm, dt);
        Tensor yr = REF.softmax(sx.ref());
        check("softmax " + dt, yr, cuda().softmax(sx.gpu()), dt, tol(dt));
        Pair y = CudaTestSupport.pair(yr.toFloatArray(), sm, dt);
        check("softmaxBackward " + dt, REF.softmaxBackward(y.ref(), sdy.ref()), cuda().softmaxBackward(y.gpu(),
                sdy.gpu()), dt, tol(dt));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT16", "BFLOAT16"})
    void productsAttentionAndConvolution(DType dt) {
        Pair a = randnPair(40, Shape.of(2, 77, 768), dt);
        Pair w = randnPair(41, Shape.of(320, 768), dt);
        check("matmul " + dt, REF.matmul(a.ref(), w.ref(), false, true), cuda().matmul(a.gpu(), w.gpu(), false, true),
                dt, sumTolerance(dt, 768));
        Pair m = randnPair(42, Shape.of(3, 33, 7), dt);
        Pair n = randnPair(43, Shape.of(3, 33, 129), dt);
        check("matmul odd " + dt, REF.matmul(m.ref(), n.ref(), true, false), cuda().matmul(m.gpu(), n.gpu(), true, false),
                dt, sumTolerance(dt, 33));

        for (int d : new int[] {40, 80, 160, 64}) {
            Pair q = randnPair(50 + d, Shape.of(2, 4, 129, d), dt);
            Pair k = randnPair(51 + d, Shape.of(2, 4, 77, d), dt);
            Pair v = randnPair(52 + d, Shape.of(2, 4, 77, d), dt);
            Pair dy = randnPair(53 + d, Shape.of(2, 4, 129, d), dt);
            float scale = (float) (1 / Math.sqrt(d));
            check("attention d=" + d + " " + dt, REF.attention(q.ref(), k.ref(), v.ref(), null, false, scale),
                    cuda().attention(q.gpu(), k.gpu(), v.gpu(), null, false, scale), dt, sumTolerance(dt, 77));
            AttentionGrads r = REF.attentionBackward(q.ref(), k.ref(), v.ref(), null, false, scale, dy.ref());
            AttentionGrads g = cuda().attentionBackward(q.gpu(), k.gpu(), v.gpu(), null, false, scale, dy.gpu());
            check("attention dq d=" + d + " " + dt, r.dq(), g.dq(), dt, sumTolerance(dt, 129));
            check("attention dk d=" + d + " " + dt, r.dk(), g.dk(), dt, sumTolerance(dt, 129));
            check("attention dv d=" + d + " " + dt, r.dv(), g.dv(), dt, sumTolerance(dt, 129));
        }

        Shape xs = Shape.of(2, 64, 9, 9);
        Shape ws = Shape.of(96, 64, 3, 3);
        Pair x = randnPair(60, xs, dt);
        Pair cw = CudaTestSupport.pair(randn(61, ws.numelInt(), 0.1f), ws, dt);
        Pair cb = randnPair(62, Shape.of(96), dt);
        Tensor yr = REF.conv2d(x.ref(), cw.ref(), cb.ref(), 1, 1);
        check("conv2d " + dt, yr, cuda().conv2d(x.gpu(), cw.gpu(), cb.gpu(), 1, 1), dt, sumTolerance(dt, 576));
        Pair cdy = randnPair(63, yr.shape(), dt);
        check("conv2d dx " + dt, REF.conv2dBackwardInput(cdy.ref(), cw.ref(), xs, 1, 1),
                cuda().conv2dBackwardInput(cdy.gpu(), cw.gpu(), xs, 1, 1), dt, sumTolerance(dt, 864));
        check("conv2d dw " + dt, REF.conv2dBackwardWeight(cdy.ref(), x.ref(), ws, 1, 1),
                cuda().conv2dBackwardWeight(cdy.gpu(), x.gpu(), ws, 1, 1), dt, sumTolerance(dt, 162));
    }

    @Test
    void opsWithoutHalfKernelsSayso() {
        Tensor h = cuda().cast(cuda().full(Shape.of(2, 3), 1), DType.FLOAT16);
        assertThrows(IllegalArgumentException.class, () -> cuda().sum(h, new int[0], false));
        assertThrows(IllegalArgumentException.class, () -> cuda().max(h, 0, false));
        assertThrows(IllegalArgumentException.class, () -> cuda().embedding(h, cuda().fromArray(new long[] {0},
                Shape.of(1))));
        Tensor b = cuda().cast(cuda().full(Shape.of(3), 1), DType.BFLOAT16);
        assertThrows(IllegalArgumentException.class, () -> cuda().binary(BinaryOp.ADD, h, b));
        assertEquals(DType.FLOAT16, cuda().unary(UnaryOp.SILU, h).dtype());
    }
}
