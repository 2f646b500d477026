package dev.perfusion.bench;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The baseline the ND4J backend has to beat: straightforward float loops on Java arrays, parallel over
 * independent blocks of the output with parallel streams, written the way a careful Java programmer would
 * without intrinsics or the Vector API. All arrays are row-major; every method returns a new array, as the
 * backends' ops return new tensors, so that the comparison includes the same output allocation.
 *
 * <p>The loops are ordered so that the innermost one runs over contiguous memory with no dependency between
 * iterations, which C2 auto-vectorises (AVX2: 8 floats per instruction). Accumulation is in float, like the
 * ND4J backend; the agreement with the double-accumulating reference is checked by {@code PlainJavaTest}.
 */
public final class PlainJava {
    private PlainJava() {
    }

    /** Rows of C per parallel task: 4096 rows give 128 tasks, plenty to balance 2–64 cores. */
    static final int ROW_BLOCK = 32;
    /** Depth of one k-block: with {@link #COL_BLOCK} a 128×512 float tile of B (256 KiB) stays in L2. */
    static final int K_BLOCK = 128;
    /** Width of one column block of B and C: a 512-float C row segment (2 KiB) stays in L1. */
    static final int COL_BLOCK = 512;

    /**
     * C = A·B: a [m,k], b [k,n] → [m,n]. i-k-j order (the inner loop is an axpy of a row of B into a row of C),
     * blocked over k and n for cache reuse, parallel over blocks of {@link #ROW_BLOCK} rows.
     */
    public static float[] matmul(float[] a, float[] b, int m, int k, int n) {
        checkLength("a", a, (long) m * k);
        checkLength("b", b, (long) k * n);
        float[] c = new float[Math.toIntExact((long) m * n)];
        matmulInto(a, b, c, m, k, n);
        return c;
    }

    /** c += a·b on preallocated arrays (c is usually zero); the kernel of {@link #matmul}. */
    static void matmulInto(float[] a, float[] b, float[] c, int m, int k, int n) {
        int tasks = (m + ROW_BLOCK - 1) / ROW_BLOCK;
        IntStream.range(0, tasks).parallel().forEach(t -> {
            int i0 = t * ROW_BLOCK;
            int i1 = Math.min(m, i0 + ROW_BLOCK);
            for (int k0 = 0; k0 < k; k0 += K_BLOCK) {
                int k1 = Math.min(k, k0 + K_BLOCK);
                for (int j0 = 0; j0 < n; j0 += COL_BLOCK) {
                    int j1 = Math.min(n, j0 + COL_BLOCK);
                    for (int i = i0; i < i1; i++) {
                        int cRow = i * n;
                        int aRow = i * k;
                        for (int p = k0; p < k1; p++) {
                            float aip = a[aRow + p];
                            int bRow = p * n;
                            for (int j = j0; j < j1; j++) {
                                c[cRow + j] += aip * b[bRow + j];
                            }
                        }
                    }
                }
            }
        });
    }

    /** y = xᵀ for x [rows, cols] → [cols, rows]. */
    public static float[] transpose(float[] x, int rows, int cols) {
        checkLength("x", x, (long) rows * cols);
        float[] y = new float[x.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                y[j * rows + i] = x[i * cols + j];
            }
        }
        return y;
    }

    /**
     * Direct convolution y[b,o,i,j] = bias[o] + Σ_{c,p,q} w[o,c,p,q]·x[b,c,i·s+p−pad, j·s+q−pad] (zero padding):
     * x [n,c,h,w], w [o,c,kh,kw], bias [o] or null → [n,o,oh,ow]. Parallel over (sample, output channel); for
     * each weight the whole output plane gets a shifted input plane added (an axpy per row over the valid
     * columns), so no im2col buffer is needed and both planes stay in cache at SD sizes (64×64 floats = 16 KiB).
     */
    public static float[] conv2d(float[] x, float[] w, float[] bias, int n, int c, int h, int wd, int o, int kh, int kw,
                                 int stride, int pad) {
        if (stride < 1 || pad < 0) {
            throw new IllegalArgumentException("conv2d: stride " + stride + " and padding " + pad);
        }
        checkLength("x", x, (long) n * c * h * wd);
        checkLength("w", w, (long) o * c * kh * kw);
        if (bias != null) {
            checkLength("bias", bias, o);
        }
        int oh = (h + 2 * pad - kh) / stride + 1;
        int ow = (wd + 2 * pad - kw) / stride + 1;
        if (oh <= 0 || ow <= 0) {
            throw new IllegalArgumentException("conv2d: empty output " + oh + "×" + ow);
        }
        int plane = oh * ow;
        float[] y = new float[Math.toIntExact((long) n * o * plane)];
        IntStream.range(0, n * o).parallel().forEach(task -> {
            int b = task / o;
            int oc = task % o;
            int yOff = task * plane;
            if (bias != null) {
                Arrays.fill(y, yOff, yOff + plane, bias[oc]);
            }
            for (int ci = 0; ci < c; ci++) {
                int xOff = (b * c + ci) * h * wd;
                for (int p = 0; p < kh; p++) {
                    // output rows i whose input row i·s+p−pad lies inside the image
                    int iLo = Math.max(0, ceilDiv(pad - p, stride));
                    int iHi = Math.min(oh, Math.floorDiv(h - 1 + pad - p, stride) + 1);
                    for (int q = 0; q < kw; q++) {
                        float wv = w[((oc * c + ci) * kh + p) * kw + q];
                        int jLo = Math.max(0, ceilDiv(pad - q, stride));
                        int jHi = Math.min(ow, Math.floorDiv(wd - 1 + pad - q, stride) + 1);
                        for (int i = iLo; i < iHi; i++) {
                            int yRow = yOff + i * ow;
                            int xRow = xOff + (i * stride + p - pad) * wd + q - pad;
                            if (stride == 1) {
                                for (int j = jLo; j < jHi; j++) {
                                    y[yRow + j] += wv * x[xRow + j];
                                }
                            } else {
                                for (int j = jLo; j < jHi; j++) {
                                    y[yRow + j] += wv * x[xRow + j * stride];
                                }
                            }
                        }
                    }
                }
            }
        });
        return y;
    }

    /** y = e^(x − max x) / Σ e^(x − max x) over each row of x [rows, cols], in place, rows in parallel. */
    static void softmaxRowsInPlace(float[] x, int rows, int cols) {
        IntStream.range(0, rows).parallel().forEach(r -> {
            int off = r * cols;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                max = Math.max(max, x[off + j]);
            }
            float sum = 0;
            for (int j = 0; j < cols; j++) {
                float e = (float) Math.exp(x[off + j] - max);
                x[off + j] = e;
                sum += e;
            }
            float inv = 1f / sum;
            for (int j = 0; j < cols; j++) {
                x[off + j] *= inv;
            }
        });
    }

    /**
     * Self-attention y = softmax(scale·q·kᵀ)·v per (batch, head), composed from {@link #matmul}'s kernel and a row
     * softmax: q [bh, lq, d], k and v [bh, lk, d] → [bh, lq, d]. Heads run one after another, each parallel
     * inside, so only one lq×lk score matrix (64 MiB at 4096 tokens) is alive at a time.
     */
    public static float[] attention(float[] q, float[] k, float[] v, int bh, int lq, int lk, int d, float scale) {
        checkLength("q", q, (long) bh * lq * d);
        checkLength("k", k, (long) bh * lk * d);
        checkLength("v", v, (long) bh * lk * d);
        float[] y = new float[q.length];
        float[] qh = new float[lq * d];
        float[] kh = new float[lk * d];
        float[] vh = new float[lk * d];
        float[] s = new float[Math.toIntExact((long) lq * lk)];
        float[] yh = new float[lq * d];
        for (int h = 0; h < bh; h++) {
            // the scale goes on q (lq·d multiplies) rather than on the scores (lq·lk)
            for (int i = 0; i < lq * d; i++) {
                qh[i] = q[h * lq * d + i] * scale;
            }
            System.arraycopy(k, h * lk * d, kh, 0, lk * d);
            System.arraycopy(v, h * lk * d, vh, 0, lk * d);
            float[] khT = transpose(kh, lk, d);
            Arrays.fill(s, 0f);
            matmulInto(qh, khT, s, lq, d, lk);
            softmaxRowsInPlace(s, lq, lk);
            Arrays.fill(yh, 0f);
            matmulInto(s, vh, yh, lq, lk, d);
            System.arraycopy(yh, 0, y, h * lq * d, lq * d);
        }
        return y;
    }

    private static int ceilDiv(int a, int b) {
        return -Math.floorDiv(-a, b);
    }

    private static void checkLength(String what, float[] x, long expected) {
        if (x.length != expected) {
            throw new IllegalArgumentException(what + " has " + x.length + " elements, expected " + expected);
        }
    }
}
