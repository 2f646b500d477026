package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaContext.fail;
import static dev.perfusion.cuda.CudaContext.launchRows;
import static dev.perfusion.cuda.CudaContext.ptr;
import static dev.perfusion.cuda.CudaContext.ptrOrNull;
import static dev.perfusion.cuda.CudaContext.rowThreads;
import static dev.perfusion.cuda.CudaContext.sameDType;
import static dev.perfusion.cuda.CudaContext.sameShape;

import dev.perfusion.cuda.KernelRef.Variants;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.cuda.driver.Dim3;
import dev.perfusion.cuda.driver.KernelArgs;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

/**
 * Group norm, layer norm and softmax with their gradients ({@code norm.cu}, {@code softmax.cu}) for FLOAT32,
 * FLOAT16 and BFLOAT16 storage (γ and β in x's dtype). Statistics and sums in double, deterministic (no atomics):
 * the γ/β gradients are per-chunk partial sums followed by a column sum.
 */
final class CudaNorms {
    static final KernelRef GN_FWD = KernelRef.of("norm", "groupnorm_fwd", Variants.FLOAT_TYPES);
    static final KernelRef GN_BWD_CHANNEL = KernelRef.of("norm", "groupnorm_bwd_channel", Variants.FLOAT_TYPES);
    static final KernelRef GN_BWD_DX = KernelRef.of("norm", "groupnorm_bwd_dx", Variants.FLOAT_TYPES);
    static final KernelRef LN_FWD = KernelRef.of("norm", "layernorm_fwd", Variants.FLOAT_TYPES);
    static final KernelRef LN_BWD_DX = KernelRef.of("norm", "layernorm_bwd_dx", Variants.FLOAT_TYPES);
    static final KernelRef LN_BWD_PARAMS = KernelRef.of("norm", "layernorm_bwd_params", Variants.FLOAT_TYPES);
    static final KernelRef SOFTMAX = KernelRef.of("softmax", "softmax", Variants.FLOAT_TYPES);
    static final KernelRef SOFTMAX_BACKWARD = KernelRef.of("softmax", "softmax_backward", Variants.FLOAT_TYPES);

    /** Rows per partial sum of the layer-norm parameter gradients. */
    private static final long ROWS_PER_CHUNK = 64;

    private final CudaContext cx;
    private final CudaReductions reductions;
    private final CudaMemoryOps memory;
    private final CudaShapeOps shapes;

    CudaNorms(CudaContext cx, CudaReductions reductions, CudaMemoryOps memory, CudaShapeOps shapes) {
        this.cx = cx;
        this.reductions = reductions;
        this.memory = memory;
        this.shapes = shapes;
    }

    /** x [N, C, S…] in groups of C/groups channels. */
    private record GroupLayout(long samples, int channels, int groups, long spatial) {
        static GroupLayout of(String op, Shape x, int groups) {
            if (x.rank() < 2) {
                throw fail(op, "x must be [N, C, *], got " + x);
            }
            int c = x.dim(1);
            if (groups < 1 || c % groups != 0) {
                throw fail(op, c + " channels of x " + x + " do not split into " + groups + " groups");
            }
            long s = 1;
            for (int k = 2; k < x.rank(); k++) {
                s *= x.dim(k);
            }
            return new GroupLayout(x.dim(0), c, groups, s);
        }

        long segments() {
            return samples * groups;
        }

        long segmentSize() {
            return (long) (channels / groups) * spatial;
        }

        long perGroup() {
            return channels / groups;
        }
    }

    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        String op = "groupNorm";
        cx.checkFloating(op, "x", x);
        GroupLayout l = GroupLayout.of(op, x.shape(), groups);
        cx.checkOptional(op, "gamma", gamma, Shape.of(l.channels()), x.dtype());
        cx.checkOptional(op, "beta", beta, Shape.of(l.channels()), x.dtype());
        Tensor y = cx.allocate(x.shape(), x.dtype());
        if (x.numel() == 0) {
            return y;
        }
        launchRows(cx.kernel(GN_FWD, x.dtype()), l.segments(), rowThreads(l.segmentSize(), 1024), KernelArgs.create()
                .ptr(ptr(x)).ptr(ptrOrNull(gamma)).ptr(ptrOrNull(beta)).ptr(ptr(y)).ptr(null).ptr(null)
                .i64(l.segments()).i64(l.segmentSize()).i64(l.spatial()).i64(l.perGroup()).i64(groups).f32(eps));
        return y;
    }

    NormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, float eps, Tensor dy) {
        String op = "groupNormBackward";
        cx.checkFloating(op, "x", x);
        cx.checkFloating(op, "dy", dy);
        sameShape(op, "x", x, "dy", dy);
        sameDType(op, "dy", dy, "x", x.dtype());
        GroupLayout l = GroupLayout.of(op, x.shape(), groups);
        cx.checkOptional(op, "gamma", gamma, Shape.of(l.channels()), x.dtype());
        DType dt = x.dtype();
        Tensor dx = cx.allocate(x.shape(), dt);
        if (x.numel() == 0) {
            return new NormGrads(dx, gamma == null ? null : zeros(l.channels(), dt), zeros(l.channels(), dt));
        }
        long planes = l.samples() * l.channels();
        try (DeviceBuffer mean = cx.scratchFloats(l.segments());
             DeviceBuffer rstd = cx.scratchFloats(l.segments());
             DeviceBuffer sumDy = cx.scratchFloats(planes);
             DeviceBuffer sumDyXhat = cx.scratchFloats(planes)) {
            // statistics only (y = null)
            launchRows(cx.kernel(GN_FWD, dt), l.segments(), rowThreads(l.segmentSize(), 1024), KernelArgs.create()
                    .ptr(ptr(x)).ptr(null).ptr(null).ptr(null).ptr(mean.pointer()).ptr(rstd.pointer())
                    .i64(l.segments()).i64(l.segmentSize()).i64(l.spatial()).i64(l.perGroup()).i64(groups).f32(eps));
            launchRows(cx.kernel(GN_BWD_CHANNEL, dt), planes, rowThreads(l.spatial(), 256), KernelArgs.create()
                    .ptr(ptr(x)).ptr(ptr(dy)).ptr(mean.pointer()).ptr(rstd.pointer())
                    .ptr(sumDy.pointer()).ptr(sumDyXhat.pointer())
                    .i64(planes).i64(l.spatial()).i64(l.perGroup()).i64(groups));
            launchRows(cx.kernel(GN_BWD_DX, dt), l.segments(), rowThreads(l.segmentSize(), 1024), KernelArgs.create()
                    .ptr(ptr(x)).ptr(ptr(dy)).ptr(ptrOrNull(gamma)).ptr(mean.pointer()).ptr(rstd.pointer())
                    .ptr(sumDy.pointer()).ptr(sumDyXhat.pointer()).ptr(ptr(dx))
                    .i64(l.segments()).i64(l.segmentSize()).i64(l.spatial()).i64(l.perGroup()).i64(groups));
            Tensor dGamma = gamma == null ? null
                    : columnSums(sumDyXhat.pointer(), l.samples(), l.channels(), dt);
            Tensor dBeta = columnSums(sumDy.pointer(), l.samples(), l.channels(), dt);
            return new NormGrads(dx, dGamma, dBeta);
        }
    }

    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        String op = "layerNorm";
        cx.checkFloating(op, "x", x);
        int d = lastAxis(op, x);
        cx.checkOptional(op, "gamma", gamma, Shape.of(d), x.dtype());
        cx.checkOptional(op, "beta", beta, Shape.of(d), x.dtype());
        Tensor y = cx.allocate(x.shape(), x.dtype());
        if (x.numel() == 0) {
            return y;
        }
        long rows = CudaElementwise.rows(x);
        launchRows(cx.kernel(LN_FWD, x.dtype()), rows, rowThreads(d, 256), KernelArgs.create()
                .ptr(ptr(x)).ptr(ptrOrNull(gamma)).ptr(ptrOrNull(beta)).ptr(ptr(y)).ptr(null).ptr(null)
                .i64(rows).i64(d).f32(eps));
        return y;
    }

    NormGrads layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dy) {
        String op = "layerNormBackward";
        cx.checkFloating(op, "x", x);
        cx.checkFloating(op, "dy", dy);
        sameShape(op, "x", x, "dy", dy);
        sameDType(op, "dy", dy, "x", x.dtype());
        int d = lastAxis(op, x);
        cx.checkOptional(op, "gamma", gamma, Shape.of(d), x.dtype());
        DType dt = x.dtype();
        Tensor dx = cx.allocate(x.shape(), dt);
        long rows = CudaElementwise.rows(x);
        if (x.numel() == 0) {
            return new NormGrads(dx, gamma == null ? null : zeros(d, dt), zeros(d, dt));
        }
        long perChunk = Math.max(ROWS_PER_CHUNK, (rows + 65534) / 65535); // grid.y ≤ 65535
        long chunks = (rows + perChunk - 1) / perChunk;
        try (DeviceBuffer mean = cx.scratchFloats(rows);
             DeviceBuffer rstd = cx.scratchFloats(rows);
             DeviceBuffer partDGamma = cx.scratchFloats(chunks * d);
             DeviceBuffer partDBeta = cx.scratchFloats(chunks * d)) {
            launchRows(cx.kernel(LN_BWD_DX, dt), rows, rowThreads(d, 256), KernelArgs.create()
                    .ptr(ptr(x)).ptr(ptr(dy)).ptr(ptrOrNull(gamma)).ptr(ptr(dx)).ptr(mean.pointer())
                    .ptr(rstd.pointer()).i64(rows).i64(d).f32(eps));
            cx.kernel(LN_BWD_PARAMS, dt).launch(Dim3.of((d + CudaContext.BLOCK - 1) / CudaContext.BLOCK,
                    (int) chunks), Dim3.of(CudaContext.BLOCK), 0, KernelArgs.create()
                    .ptr(ptr(x)).ptr(ptr(dy)).ptr(mean.pointer()).ptr(rstd.pointer())
                    .ptr(partDGamma.pointer()).ptr(partDBeta.pointer()).i64(rows).i64(d).i64(perChunk));
            Tensor dGamma = gamma == null ? null : columnSums(partDGamma.pointer(), chunks, d, dt);
            Tensor dBeta = columnSums(partDBeta.pointer(), chunks, d, dt);
            return new NormGrads(dx, dGamma, dBeta);
        }
    }

    Tensor softmax(Tensor x) {
        String op = "softmax";
        cx.checkFloating(op, "x", x);
        int d = lastAxis(op, x);
        Tensor y = cx.allocate(x.shape(), x.dtype());
        if (x.numel() == 0) {
            return y;
        }
        long rows = CudaElementwise.rows(x);
        launchRows(cx.kernel(SOFTMAX, x.dtype()), rows, rowThreads(d, 256),
                KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(rows).i64(d));
        return y;
    }

    Tensor softmaxBackward(Tensor y, Tensor dy) {
        String op = "softmaxBackward";
        cx.checkFloating(op, "y", y);
        cx.checkFloating(op, "dy", dy);
        sameShape(op, "y", y, "dy", dy);
        sameDType(op, "dy", dy, "y", y.dtype());
        int d = lastAxis(op, y);
        Tensor dx = cx.allocate(y.shape(), y.dtype());
        if (y.numel() == 0) {
            return dx;
        }
        long rows = CudaElementwise.rows(y);
        launchRows(cx.kernel(SOFTMAX_BACKWARD, y.dtype()), rows, rowThreads(d, 256),
                KernelArgs.create().ptr(ptr(y)).ptr(ptr(dy)).ptr(ptr(dx)).i64(rows).i64(d));
        return dx;
    }

    /** Σ over the rows of a FLOAT32 [rows, cols] scratch block, as a [cols] tensor of {@code dtype}. */
    private Tensor columnSums(CUdeviceptr partials, long rows, int cols, DType dtype) {
        Tensor sums = cx.allocate(Shape.of(cols), DType.FLOAT32);
        reductions.columnSums(partials, ptr(sums), rows, cols);
        if (dtype == DType.FLOAT32) {
            return sums;
        }
        try (sums) {
            return memory.cast(sums, dtype);
        }
    }

    private Tensor zeros(int n, DType dtype) {
        Tensor z = cx.allocate(Shape.of(n), dtype);
        shapes.fill(z, 0);
        return z;
    }

    private static int lastAxis(String op, Tensor x) {
        if (x.rank() < 1) {
            throw fail(op, "x needs at least one axis, got a scalar");
        }
        return x.dim(-1);
    }
}
