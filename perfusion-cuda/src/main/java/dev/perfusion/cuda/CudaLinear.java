package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaContext.fail;
import static dev.perfusion.cuda.CudaContext.ptr;
import static dev.perfusion.cuda.CudaContext.sameDType;

import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.cuda.kernels.Convolution;
import dev.perfusion.cuda.kernels.FlashAttention;
import dev.perfusion.cuda.kernels.Gemm;
import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.Arrays;
import jcuda.driver.CUdeviceptr;

/**
 * Matrix products, attention and convolution: this class checks the arguments (with the reference backend's
 * messages), resolves broadcasting, flattens leading axes, materialises what the kernels need contiguous and
 * allocates the outputs; the tensor-core kernels themselves are {@link Gemm}, {@link FlashAttention} and
 * {@link Convolution} (package {@code dev.perfusion.cuda.kernels}). FLOAT32, FLOAT16 and BFLOAT16 storage, all
 * floating operands of one call in the same dtype; an attention mask is always FLOAT32.
 */
final class CudaLinear {
    private final CudaContext cx;
    private final CudaShapeOps shapes;

    CudaLinear(CudaContext cx, CudaShapeOps shapes) {
        this.cx = cx;
        this.shapes = shapes;
    }

    // ------------------------------------------------------------------ matmul

    Tensor matmul(Tensor a, Tensor b, boolean transposeA, boolean transposeB) {
        String op = "matmul";
        cx.checkFloating(op, "a", a);
        cx.checkFloating(op, "b", b);
        sameDType(op, "b", b, "a", a.dtype());
        if (a.rank() < 2 || b.rank() < 2) {
            throw fail(op, "operands need rank >= 2, got a " + a.shape() + " and b " + b.shape());
        }
        int aRows = a.dim(-2);
        int aCols = a.dim(-1);
        int bRows = b.dim(-2);
        int bCols = b.dim(-1);
        int m = transposeA ? aCols : aRows;
        int k = transposeA ? aRows : aCols;
        int kb = transposeB ? bCols : bRows;
        int n = transposeB ? bRows : bCols;
        if (k != kb) {
            throw fail(op, "inner sizes differ: a " + a.shape() + (transposeA ? " transposed" : "") + " and b "
                    + b.shape() + (transposeB ? " transposed" : "") + " give " + k + " vs " + kb);
        }
        Shape aBatch = leading(a.shape(), a.rank() - 2);
        Shape bBatch = leading(b.shape(), b.rank() - 2);
        Shape batch = CudaContext.broadcast(op, aBatch, bBatch);
        Tensor y = cx.allocate(append(batch, m, n), a.dtype());
        long count = batch.numel();
        if (count == 0 || m == 0 || n == 0) {
            return y;
        }
        if (k == 0) {
            shapes.fill(y, 0); // an empty sum
            return y;
        }
        if (count > Integer.MAX_VALUE) {
            y.close();
            throw fail(op, "batch " + batch + " has more than 2^31 matrices");
        }
        Tensor aFull = null;
        Tensor bFull = null;
        try {
            long strideA;
            if (aBatch.equals(batch)) {
                strideA = (long) aRows * aCols;
            } else if (aBatch.numel() == 1) {
                strideA = 0; // one matrix for every batch entry
            } else {
                aFull = shapes.materialise(a, append(batch, aRows, aCols));
                strideA = (long) aRows * aCols;
            }
            long strideB;
            if (bBatch.equals(batch)) {
                strideB = (long) bRows * bCols;
            } else if (bBatch.numel() == 1) {
                strideB = 0;
            } else {
                bFull = shapes.materialise(b, append(batch, bRows, bCols));
                strideB = (long) bRows * bCols;
            }
            Gemm.matmul(cx.device(), a.dtype(), ptr(aFull == null ? a : aFull), ptr(bFull == null ? b : bFull), ptr(y),
                    (int) count, m, n, k, transposeA, transposeB, strideA, strideB, (long) m * n);
        } catch (RuntimeException e) {
            y.close();
            throw e;
        } finally {
            // safe right after enqueueing: the allocator reuses blocks in stream order
            if (aFull != null) {
                aFull.close();
            }
            if (bFull != null) {
                bFull.close();
            }
        }
        return y;
    }

    // ------------------------------------------------------------------ attention

    /** Checked attention sizes; {@code mask} is a contiguous FLOAT32 [bh, lq, lk] (or null) to close when owned. */
    private record Attn(Shape batch, int bh, int lq, int lk, int d, int dv, Tensor mask, boolean ownsMask)
            implements AutoCloseable {
        Shape out() {
            return append(batch, lq, dv);
        }

        CUdeviceptr maskPtr() {
            return mask == null ? null : ptr(mask);
        }

        @Override
        public void close() {
            if (ownsMask) {
                mask.close();
            }
        }
    }

    private Attn attentionInputs(String op, Tensor q, Tensor k, Tensor v, Tensor mask) {
        cx.checkFloating(op, "q", q);
        cx.checkFloating(op, "k", k);
        cx.checkFloating(op, "v", v);
        sameDType(op, "k", k, "q", q.dtype());
        sameDType(op, "v", v, "q", q.dtype());
        int rank = q.rank();
        if (rank < 2 || k.rank() != rank || v.rank() != rank) {
            throw fail(op, "q, k, v must be [..., L, D] of equal rank >= 2, got q " + q.shape() + ", k "
                    + k.shape() + ", v " + v.shape());
        }
        Shape batch = leading(q.shape(), rank - 2);
        if (!leading(k.shape(), rank - 2).equals(batch) || !leading(v.shape(), rank - 2).equals(batch)) {
            throw fail(op, "q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                    + " must share their leading axes");
        }
        if (k.dim(-1) != q.dim(-1) || v.dim(-2) != k.dim(-2)) {
            throw fail(op, "need q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv], got q " + q.shape() + ", k "
                    + k.shape() + ", v " + v.shape());
        }
        long bh = batch.numel();
        if (bh > Integer.MAX_VALUE) {
            throw fail(op, "leading axes " + batch + " hold more than 2^31 heads");
        }
        int lq = q.dim(-2);
        int lk = k.dim(-2);
        Tensor m = null;
        boolean owns = false;
        if (mask != null) {
            cx.checkFloat32(op, "mask", mask);
            Shape scores = append(batch, lq, lk);
            if (!CudaShapeOps.broadcastsTo(mask.shape(), scores)) {
                throw fail(op, "mask " + mask.shape() + " does not broadcast to the scores " + scores);
            }
            if (mask.shape().equals(scores)) {
                m = mask;
            } else {
                m = shapes.materialise(mask, scores); // the kernel reads a contiguous [bh, lq, lk] mask
                owns = true;
            }
        }
        return new Attn(batch, (int) bh, lq, lk, q.dim(-1), v.dim(-1), m, owns);
    }

    Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        try (Attn at = attentionInputs("attention", q, k, v, mask)) {
            Tensor y = cx.allocate(at.out(), q.dtype());
            if (y.numel() == 0) {
                return y;
            }
            if (at.lk() == 0) {
                shapes.fill(y, 0); // no keys: an empty weighted sum
                return y;
            }
            try (DeviceBuffer lse = cx.scratchFloats((long) at.bh() * at.lq())) {
                FlashAttention.forward(cx.device(), q.dtype(), ptr(q), ptr(k), ptr(v), at.maskPtr(), ptr(y),
                        lse.pointer(), at.bh(), at.lq(), at.lk(), at.d(), at.dv(), causal, scale);
            } catch (RuntimeException e) {
                y.close();
                throw e;
            }
            return y;
        }
    }

    AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale,
                                     Tensor dy) {
        String op = "attentionBackward";
        try (Attn at = attentionInputs(op, q, k, v, mask)) {
            cx.checkFloating(op, "dy", dy);
            if (!dy.shape().equals(at.out())) {
                throw fail(op, "dy " + dy.shape() + " does not match the attention output " + at.out());
            }
            sameDType(op, "dy", dy, "q", q.dtype());
            DType dt = q.dtype();
            Tensor dq = cx.allocate(q.shape(), dt);
            Tensor dk = cx.allocate(k.shape(), dt);
            Tensor dv = cx.allocate(v.shape(), dt);
            if (at.bh() == 0 || at.lq() == 0 || at.lk() == 0) {
                shapes.fill(dq, 0);
                shapes.fill(dk, 0);
                shapes.fill(dv, 0);
                return new AttentionGrads(dq, dk, dv);
            }
            // the Backend API does not hand over the forward's output and log-sum-exp: recompute them
            try (Tensor o = cx.allocate(at.out(), dt);
                 DeviceBuffer lse = cx.scratchFloats((long) at.bh() * at.lq())) {
                FlashAttention.forward(cx.device(), dt, ptr(q), ptr(k), ptr(v), at.maskPtr(), ptr(o), lse.pointer(),
                        at.bh(), at.lq(), at.lk(), at.d(), at.dv(), causal, scale);
                FlashAttention.backward(cx.device(), dt, ptr(q), ptr(k), ptr(v), at.maskPtr(), ptr(o), lse.pointer(),
                        ptr(dy), ptr(dq), ptr(dk), ptr(dv), at.bh(), at.lq(), at.lk(), at.d(), at.dv(), causal, scale);
            } catch (RuntimeException e) {
                dq.close();
                dk.close();
                dv.close();
                throw e;
            }
            return new AttentionGrads(dq, dk, dv);
        }
    }

    // ------------------------------------------------------------------ convolution

    /** The sizes of one convolution, checked with the reference's messages. */
    private record Geometry(int n, int c, int h, int w, int o, int kh, int kw, int ho, int wo) {
        static Geometry of(String op, Shape x, Shape wt, int stride, int padding) {
            if (x.rank() != 4 || wt.rank() != 4) {
                throw fail(op, "x must be [N, C, H, W] and w [O, C, kH, kW], got x " + x + " and w " + wt);
            }
            if (x.dim(1) != wt.dim(1)) {
                throw fail(op, "x " + x + " has " + x.dim(1) + " channels, w " + wt + " expects " + wt.dim(1));
            }
            if (stride < 1 || padding < 0) {
                throw fail(op, "stride must be >= 1 and padding >= 0, got stride " + stride + ", padding " + padding);
            }
            int spanH = x.dim(2) + 2 * padding - wt.dim(2);
            int spanW = x.dim(3) + 2 * padding - wt.dim(3);
            if (spanH < 0 || spanW < 0) {
                throw fail(op, "kernel " + wt + " is larger than the padded input " + x + " (padding " + padding + ")");
            }
            return new Geometry(x.dim(0), x.dim(1), x.dim(2), x.dim(3), wt.dim(0), wt.dim(2), wt.dim(3),
                    spanH / stride + 1, spanW / stride + 1);
        }

        Shape yShape() {
            return Shape.of(n, o, ho, wo);
        }

        void checkDy(String op, Tensor dy) {
            if (!dy.shape().equals(yShape())) {
                throw fail(op, "dy " + dy.shape() + " does not match the conv2d output " + yShape());
            }
        }

        boolean empty() {
            return (long) n * c * h * w * o * kh * kw == 0;
        }
    }

    Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        String op = "conv2d";
        cx.checkFloating(op, "x", x);
        cx.checkFloating(op, "w", w);
        sameDType(op, "w", w, "x", x.dtype());
        Geometry g = Geometry.of(op, x.shape(), w.shape(), stride, padding);
        if (bias != null) {
            cx.checkFloating(op, "bias", bias);
            sameDType(op, "bias", bias, "x", x.dtype());
            if (!bias.shape().equals(Shape.of(g.o()))) {
                throw fail(op, "bias must be " + Shape.of(g.o()) + ", got " + bias.shape());
            }
        }
        Tensor y = cx.allocate(g.yShape(), x.dtype());
        if (y.numel() == 0) {
            return y;
        }
        if (g.empty()) {
            // no input channels or an empty kernel: only the bias remains, broadcast over n, i, j
            if (bias == null) {
                shapes.fill(y, 0);
            } else {
                shapes.copy(x.dtype(), ptr(bias), ptr(y), g.yShape().dims(), new long[] {0, 1, 0, 0},
                        g.yShape().strides());
            }
            return y;
        }
        try {
            Convolution.forward(cx.device(), x.dtype(), ptr(x), ptr(w), bias == null ? null : ptr(bias), ptr(y),
                    g.n(), g.c(), g.h(), g.w(), g.o(), g.kh(), g.kw(), stride, padding);
        } catch (RuntimeException e) {
            y.close();
            throw e;
        }
        return y;
    }

    Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, int stride, int padding) {
        String op = "conv2dBackwardInput";
        cx.checkFloating(op, "dy", dy);
        cx.checkFloating(op, "w", w);
        sameDType(op, "w", w, "dy", dy.dtype());
        Geometry g = Geometry.of(op, xShape, w.shape(), stride, padding);
        g.checkDy(op, dy);
        Tensor dx = cx.allocate(xShape, dy.dtype());
        if (dx.numel() == 0) {
            return dx;
        }
        if (g.empty() || dy.numel() == 0) {
            shapes.fill(dx, 0);
            return dx;
        }
        try {
            Convolution.backwardInput(cx.device(), dy.dtype(), ptr(dy), ptr(w), ptr(dx), g.n(), g.c(), g.h(), g.w(),
                    g.o(), g.kh(), g.kw(), stride, padding);
        } catch (RuntimeException e) {
            dx.close();
            throw e;
        }
        return dx;
    }

    Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape wShape, int stride, int padding) {
        String op = "conv2dBackwardWeight";
        cx.checkFloating(op, "dy", dy);
        cx.checkFloating(op, "x", x);
        sameDType(op, "x", x, "dy", dy.dtype());
        Geometry g = Geometry.of(op, x.shape(), wShape, stride, padding);
        g.checkDy(op, dy);
        Tensor dw = cx.allocate(wShape, dy.dtype());
        if (dw.numel() == 0) {
            return dw;
        }
        if (g.empty() || dy.numel() == 0) {
            shapes.fill(dw, 0);
            return dw;
        }
        try {
            Convolution.backwardWeight(cx.device(), dy.dtype(), ptr(dy), ptr(x), ptr(dw), g.n(), g.c(), g.h(), g.w(),
                    g.o(), g.kh(), g.kw(), stride, padding);
        } catch (RuntimeException e) {
            dw.close();
            throw e;
        }
        return dw;
    }

    // ------------------------------------------------------------------ helpers

    /** The first {@code n} axes of {@code shape}. */
    static Shape leading(Shape shape, int n) {
        return Shape.of(Arrays.copyOf(shape.dims(), n));
    }

    /** {@code shape} with {@code extra} axes appended. */
    static Shape append(Shape shape, int... extra) {
        int[] dims = Arrays.copyOf(shape.dims(), shape.rank() + extra.length);
        System.arraycopy(extra, 0, dims, shape.rank(), extra.length);
        return dims.length == 0 ? Shape.of() : Shape.of(dims);
    }
}
