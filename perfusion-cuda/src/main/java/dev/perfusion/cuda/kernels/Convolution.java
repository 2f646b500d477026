package dev.perfusion.cuda.kernels;

import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.cuda.driver.Dim3;
import dev.perfusion.tensor.DType;
import jcuda.driver.CUdeviceptr;

/**
 * 2-D convolution (NCHW input, OIHW weights, square stride and zero padding) on the GPU as im2col + {@link Gemm}
 * ({@code conv.cu} moves the data, the products run on the GEMM kernels, fp32 accumulation).
 *
 * <p>{@code y[n,o,i,j] = bias[o] + Σ_{c,p,q} w[o,c,p,q]·x[n,c,i·s+p−pad, j·s+q−pad]}, oh = (h + 2pad − kh)/s + 1.
 * With R = c·kh·kw and P = oh·ow: forward is {@code y[n] = W[o,R]·col[n][R,P]}; the input gradient is
 * {@code dcol[n] = Wᵀ·dy[n]} scattered back by a gathering col2im (each dx element sums its own terms: no atomics);
 * the weight gradient is {@code dW = dy'[o, N·P]·col'[R, N·P]ᵀ} over the whole batch in one product (dy' and col'
 * hold the images side by side). All three are deterministic. 1×1 stride-1 unpadded convolutions skip im2col.
 *
 * <p>Column buffers are scratch from the device's allocator, at most {@link #COLUMN_BUDGET_BYTES} at a time (the
 * batch is processed in chunks of images; the weight gradient then sums the chunks' partial products in a fixed
 * order).
 */
public final class Convolution {
    static final String MODULE = "conv";
    /** Scratch budget for one chunk's column matrix (plus, for the weight gradient, the permuted dy). */
    static final long COLUMN_BUDGET_BYTES = 256L << 20;
    /** The budget in use: {@link #COLUMN_BUDGET_BYTES}; tests lower it to exercise the chunked paths. */
    static volatile long columnBudgetBytes = COLUMN_BUDGET_BYTES;

    private Convolution() {
    }

    /** The sizes of one convolution, checked. */
    record Geometry(int n, int c, int h, int w, int o, int kh, int kw, int stride, int pad) {
        int oh() {
            return (h + 2 * pad - kh) / stride + 1;
        }

        int ow() {
            return (w + 2 * pad - kw) / stride + 1;
        }

        /** Rows of the column matrix: c·kh·kw. */
        long rows() {
            return (long) c * kh * kw;
        }

        /** Output pixels per image: oh·ow. */
        long pixels() {
            return (long) oh() * ow();
        }

        /** A 1×1, stride-1, unpadded convolution is a plain product: no column matrix needed. */
        boolean pointwise() {
            return kh == 1 && kw == 1 && stride == 1 && pad == 0;
        }

        static Geometry of(String op, int n, int c, int h, int w, int o, int kh, int kw, int stride, int pad) {
            KernelSupport.atLeast(op, "n", n, 0);
            KernelSupport.atLeast(op, "c", c, 1);
            KernelSupport.atLeast(op, "h", h, 1);
            KernelSupport.atLeast(op, "w", w, 1);
            KernelSupport.atLeast(op, "o", o, 1);
            KernelSupport.atLeast(op, "kh", kh, 1);
            KernelSupport.atLeast(op, "kw", kw, 1);
            KernelSupport.atLeast(op, "stride", stride, 1);
            KernelSupport.atLeast(op, "pad", pad, 0);
            if (h + 2 * pad < kh || w + 2 * pad < kw) {
                throw new IllegalArgumentException(op + ": kernel " + kh + "×" + kw + " is larger than the padded input "
                        + (h + 2 * pad) + "×" + (w + 2 * pad));
            }
            Geometry g = new Geometry(n, c, h, w, o, kh, kw, stride, pad);
            if (g.rows() > Integer.MAX_VALUE || g.pixels() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(op + ": sizes too large (c·kh·kw = " + g.rows() + ", oh·ow = "
                        + g.pixels() + ")");
            }
            return g;
        }
    }

    /**
     * Images per chunk so that a chunk's scratch ({@code perImageBytes} each) fits {@code budget}; at least 1, at
     * most n.
     */
    static int imagesPerChunk(int n, long perImageBytes, long budget) {
        if (n <= 1 || perImageBytes <= 0) {
            return Math.max(1, n);
        }
        return (int) Math.max(1, Math.min(n, budget / perImageBytes));
    }

    /**
     * Forward: x [n, c, h, wIn], w [o, c, kh, kw], bias [o] or null → y [n, o, oh, ow], all dtype.
     *
     * @throws IllegalArgumentException naming the bad value
     */
    public static void forward(CudaDevice dev, DType dtype, CUdeviceptr x, CUdeviceptr w, CUdeviceptr bias,
                               CUdeviceptr y, int n, int c, int h, int wIn, int o, int kh, int kw, int stride,
                               int pad) {
        String op = "Convolution.forward";
        KernelSupport.notNull(op, "device", dev);
        String dt = KernelSupport.suffix(op, dtype);
        Geometry g = Geometry.of(op, n, c, h, wIn, o, kh, kw, stride, pad);
        if (n == 0) {
            return;
        }
        KernelSupport.notNull(op, "x", x);
        KernelSupport.notNull(op, "w", w);
        KernelSupport.notNull(op, "y", y);
        int es = dtype.byteSize();
        long rows = g.rows();
        long pix = g.pixels();
        if (g.pointwise()) {
            Gemm.matmul(dev, dtype, w, x, y, n, o, (int) pix, c, false, false, 0, (long) c * pix, (long) o * pix);
        } else {
            int chunk = imagesPerChunk(n, rows * pix * es, columnBudgetBytes);
            try (DeviceBuffer col = dev.allocate((long) chunk * rows * pix * es)) {
                for (int n0 = 0; n0 < n; n0 += chunk) {
                    int nb = Math.min(chunk, n - n0);
                    im2col(dev, dt, x.withByteOffset((long) n0 * c * h * wIn * es), col.pointer(), nb, g,
                            rows * pix, pix);
                    Gemm.matmul(dev, dtype, w, col.pointer(), y.withByteOffset((long) n0 * o * pix * es), nb, o,
                            (int) pix, (int) rows, false, false, 0, rows * pix, (long) o * pix);
                }
            }
        }
        if (bias != null) {
            long total = (long) n * o * pix;
            dev.kernel(MODULE, "conv_bias_add_" + dt).launch(Dim3.of(KernelSupport.elementwiseBlocks(total)),
                    Dim3.of(KernelSupport.ELEMENTWISE_THREADS), 0,
                    biasArgs(y, bias, total, o, (int) pix).kernelArgs());
        }
    }

    /**
     * Input gradient: dy [n, o, oh, ow], w [o, c, kh, kw] → dx [n, c, h, wIn] (every element written).
     *
     * @throws IllegalArgumentException naming the bad value
     */
    public static void backwardInput(CudaDevice dev, DType dtype, CUdeviceptr dy, CUdeviceptr w, CUdeviceptr dx,
                                     int n, int c, int h, int wIn, int o, int kh, int kw, int stride, int pad) {
        String op = "Convolution.backwardInput";
        KernelSupport.notNull(op, "device", dev);
        String dt = KernelSupport.suffix(op, dtype);
        Geometry g = Geometry.of(op, n, c, h, wIn, o, kh, kw, stride, pad);
        if (n == 0) {
            return;
        }
        KernelSupport.notNull(op, "dy", dy);
        KernelSupport.notNull(op, "w", w);
        KernelSupport.notNull(op, "dx", dx);
        int es = dtype.byteSize();
        long rows = g.rows();
        long pix = g.pixels();
        if (g.pointwise()) {
            // dx[n] = Wᵀ[c, o]·dy[n][o, P]
            Gemm.matmul(dev, dtype, w, dy, dx, n, c, (int) pix, o, true, false, 0, (long) o * pix, (long) c * pix);
            return;
        }
        int chunk = imagesPerChunk(n, rows * pix * es, columnBudgetBytes);
        try (DeviceBuffer dcol = dev.allocate((long) chunk * rows * pix * es)) {
            for (int n0 = 0; n0 < n; n0 += chunk) {
                int nb = Math.min(chunk, n - n0);
                // dcol[n] = Wᵀ[R, o]·dy[n][o, P]
                Gemm.matmul(dev, dtype, w, dy.withByteOffset((long) n0 * o * pix * es), dcol.pointer(), nb,
                        (int) rows, (int) pix, o, true, false, 0, (long) o * pix, rows * pix);
                long total = (long) nb * c * h * wIn;
                dev.kernel(MODULE, "conv_col2im_" + dt).launch(Dim3.of(KernelSupport.elementwiseBlocks(total)),
                        Dim3.of(KernelSupport.ELEMENTWISE_THREADS), 0, columnArgs(dcol.pointer(),
                                dx.withByteOffset((long) n0 * c * h * wIn * es), nb, g, rows * pix, pix)
                                .kernelArgs());
            }
        }
    }

    /**
     * Weight gradient: dy [n, o, oh, ow], x [n, c, h, wIn] → dw [o, c, kh, kw] = Σ over the batch (every element
     * written; n = 0 gives zeros).
     *
     * @throws IllegalArgumentException naming the bad value
     */
    public static void backwardWeight(CudaDevice dev, DType dtype, CUdeviceptr dy, CUdeviceptr x, CUdeviceptr dw,
                                      int n, int c, int h, int wIn, int o, int kh, int kw, int stride, int pad) {
        String op = "Convolution.backwardWeight";
        KernelSupport.notNull(op, "device", dev);
        String dt = KernelSupport.suffix(op, dtype);
        Geometry g = Geometry.of(op, n, c, h, wIn, o, kh, kw, stride, pad);
        KernelSupport.notNull(op, "dw", dw);
        int es = dtype.byteSize();
        long rows = g.rows();
        long pix = g.pixels();
        long wCount = (long) o * rows;
        if (n == 0) {
            dev.memsetZero(dw, wCount * es);
            return;
        }
        KernelSupport.notNull(op, "dy", dy);
        KernelSupport.notNull(op, "x", x);
        // per image: its columns of col' [R, nb·P] and of dy' [o, nb·P]
        int chunk = imagesPerChunk(n, (rows + o) * pix * es, columnBudgetBytes);
        int chunks = (int) KernelSupport.ceilDiv(n, chunk);
        try (DeviceBuffer col = dev.allocate((long) chunk * rows * pix * es);
             DeviceBuffer dyp = dev.allocate(chunk > 1 ? (long) chunk * o * pix * es : 1);
             DeviceBuffer partial = dev.allocate(chunks > 1 ? chunks * wCount * es : 1)) {
            for (int ci = 0; ci < chunks; ci++) {
                int n0 = ci * chunk;
                int nb = Math.min(chunk, n - n0);
                long width = (long) nb * pix; // K of this chunk's product
                im2col(dev, dt, x.withByteOffset((long) n0 * c * h * wIn * es), col.pointer(), nb, g, pix, width);
                CUdeviceptr dyChunk = dy.withByteOffset((long) n0 * o * pix * es);
                CUdeviceptr a = dyChunk;
                if (nb > 1) {
                    long total = (long) nb * o * pix;
                    dev.kernel(MODULE, "conv_to_cn_" + dt).launch(Dim3.of(KernelSupport.elementwiseBlocks(total)),
                            Dim3.of(KernelSupport.ELEMENTWISE_THREADS), 0,
                            toCnArgs(dyChunk, dyp.pointer(), nb, o, (int) pix).kernelArgs());
                    a = dyp.pointer();
                }
                if (width > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException(op + ": a chunk of " + nb + " images has " + width
                            + " output pixels, more than 2^31 − 1");
                }
                CUdeviceptr target = chunks == 1 ? dw : partial.pointer((long) ci * wCount * es);
                // dW[o, R] = dy'[o, nb·P] · col'[R, nb·P]ᵀ
                Gemm.matmul(dev, dtype, a, col.pointer(), target, 1, o, (int) rows, (int) width, false, true, 0, 0, 0);
            }
            if (chunks > 1) {
                dev.kernel(MODULE, "conv_sum_chunks_" + dt).launch(Dim3.of(KernelSupport.elementwiseBlocks(wCount)),
                        Dim3.of(KernelSupport.ELEMENTWISE_THREADS), 0,
                        sumArgs(partial.pointer(), dw, chunks, wCount).kernelArgs());
            }
        }
    }

    /** im2col of nb images starting at x into col (layout: see conv.cu), strides in elements. */
    private static void im2col(CudaDevice dev, String dt, CUdeviceptr x, CUdeviceptr col, int nb, Geometry g,
                               long colStrideN, long colLdRow) {
        long total = (long) nb * g.rows() * g.pixels();
        dev.kernel(MODULE, "conv_im2col_" + dt).launch(Dim3.of(KernelSupport.elementwiseBlocks(total)),
                Dim3.of(KernelSupport.ELEMENTWISE_THREADS), 0,
                columnArgs(x, col, nb, g, colStrideN, colLdRow).kernelArgs());
    }

    /** Parameters of conv_im2col_* (src = x, dst = col) and conv_col2im_* (src = col, dst = dx). */
    static Args columnArgs(CUdeviceptr src, CUdeviceptr dst, int nb, Geometry g, long colStrideN, long colLdRow) {
        return new Args().p(src).p(dst).i(nb).i(g.c()).i(g.h()).i(g.w()).i(g.kh()).i(g.kw()).i(g.stride())
                .i(g.pad()).i(g.oh()).i(g.ow()).l(colStrideN).l(colLdRow);
    }

    /** Parameters of conv_bias_add_*. */
    static Args biasArgs(CUdeviceptr y, CUdeviceptr bias, long total, int o, int hw) {
        return new Args().p(y).p(bias).l(total).i(o).i(hw);
    }

    /** Parameters of conv_to_cn_*. */
    static Args toCnArgs(CUdeviceptr src, CUdeviceptr dst, int nb, int o, int hw) {
        return new Args().p(src).p(dst).i(nb).i(o).i(hw);
    }

    /** Parameters of conv_sum_chunks_*. */
    static Args sumArgs(CUdeviceptr partial, CUdeviceptr out, int chunks, long count) {
        return new Args().p(partial).p(out).i(chunks).l(count);
    }
}
