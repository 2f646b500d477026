package dev.perfusion.backend.reference;

import static dev.perfusion.backend.reference.ReferenceBackend.fail;
import static dev.perfusion.backend.reference.ReferenceBackend.toFloats;

import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * Reference 2-D convolution (NCHW input, OIHW weight, one group, square stride and symmetric zero padding) with its
 * two gradients, and nearest ×2 upsampling. Each output element is one double sum written straight from the
 * formula in {@link dev.perfusion.tensor.Backend}, rounded to float once.
 *
 * <p>Letters: N batch, C input channels, O output channels, H×W input size, kH×kW kernel, Ho×Wo output size,
 * s stride, pad padding; input row h = i·s + p − pad for output row i and kernel row p.
 */
final class ReferenceConv {
    private final ReferenceBackend backend;

    ReferenceConv(ReferenceBackend backend) {
        this.backend = backend;
    }

    /** y[n,o,i,j] = bias[o] + Σ_{c,p,q} w[o,c,p,q]·x[n,c,i·s+p−pad, j·s+q−pad]. */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        String op = "conv2d";
        float[] xs = backend.floats(op, "x", x);
        float[] ws = backend.floats(op, "w", w);
        Geometry g = Geometry.of(op, x.shape(), w.shape(), stride, padding);
        float[] bs = backend.optionalFloats(op, "bias", bias, Shape.of(g.o));
        float[] ys = new float[g.n * g.o * g.ho * g.wo];
        for (int n = 0; n < g.n; n++) {
            for (int o = 0; o < g.o; o++) {
                for (int i = 0; i < g.ho; i++) {
                    for (int j = 0; j < g.wo; j++) {
                        double acc = bs == null ? 0 : bs[o];
                        for (int c = 0; c < g.c; c++) {
                            for (int p = 0; p < g.kh; p++) {
                                int h = i * stride + p - padding;
                                if (h < 0 || h >= g.h) {
                                    continue; // zero padding
                                }
                                for (int q = 0; q < g.kw; q++) {
                                    int ww = j * stride + q - padding;
                                    if (ww < 0 || ww >= g.w) {
                                        continue;
                                    }
                                    acc += (double) ws[g.wIndex(o, c, p, q)] * xs[g.xIndex(n, c, h, ww)];
                                }
                            }
                        }
                        ys[g.yIndex(n, o, i, j)] = (float) acc;
                    }
                }
            }
        }
        return backend.wrap(ys, g.yShape());
    }

    /**
     * dx[n,c,h,w] = Σ_{o,p,q} dy[n,o,i,j]·w[o,c,p,q] over the (i, j) with i·s+p−pad = h and j·s+q−pad = w:
     * the conv2d formula read backwards, gathered per input element.
     */
    Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, int stride, int padding) {
        String op = "conv2dBackwardInput";
        float[] dys = backend.floats(op, "dy", dy);
        float[] ws = backend.floats(op, "w", w);
        Geometry g = Geometry.of(op, xShape, w.shape(), stride, padding);
        g.checkDy(op, dy);
        float[] dx = new float[g.n * g.c * g.h * g.w];
        for (int n = 0; n < g.n; n++) {
            for (int c = 0; c < g.c; c++) {
                for (int h = 0; h < g.h; h++) {
                    for (int ww = 0; ww < g.w; ww++) {
                        double acc = 0;
                        for (int o = 0; o < g.o; o++) {
                            for (int p = 0; p < g.kh; p++) {
                                // output row i with i·s + p − pad = h, if it is whole and in range
                                int ti = h + padding - p;
                                if (ti < 0 || ti % stride != 0 || ti / stride >= g.ho) {
                                    continue;
                                }
                                int i = ti / stride;
                                for (int q = 0; q < g.kw; q++) {
                                    int tj = ww + padding - q;
                                    if (tj < 0 || tj % stride != 0 || tj / stride >= g.wo) {
                                        continue;
                                    }
                                    int j = tj / stride;
                                    acc += (double) dys[g.yIndex(n, o, i, j)] * ws[g.wIndex(o, c, p, q)];
                                }
                            }
                        }
                        dx[g.xIndex(n, c, h, ww)] = (float) acc;
                    }
                }
            }
        }
        return backend.wrap(dx, xShape);
    }

    /** dw[o,c,p,q] = Σ_{n,i,j} dy[n,o,i,j]·x[n,c,i·s+p−pad, j·s+q−pad]. */
    Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape wShape, int stride, int padding) {
        String op = "conv2dBackwardWeight";
        float[] dys = backend.floats(op, "dy", dy);
        float[] xs = backend.floats(op, "x", x);
        Geometry g = Geometry.of(op, x.shape(), wShape, stride, padding);
        g.checkDy(op, dy);
        double[] dw = new double[g.o * g.c * g.kh * g.kw];
        for (int o = 0; o < g.o; o++) {
            for (int c = 0; c < g.c; c++) {
                for (int p = 0; p < g.kh; p++) {
                    for (int q = 0; q < g.kw; q++) {
                        double acc = 0;
                        for (int n = 0; n < g.n; n++) {
                            for (int i = 0; i < g.ho; i++) {
                                int h = i * stride + p - padding;
                                if (h < 0 || h >= g.h) {
                                    continue;
                                }
                                for (int j = 0; j < g.wo; j++) {
                                    int ww = j * stride + q - padding;
                                    if (ww < 0 || ww >= g.w) {
                                        continue;
                                    }
                                    acc += (double) dys[g.yIndex(n, o, i, j)] * xs[g.xIndex(n, c, h, ww)];
                                }
                            }
                        }
                        dw[g.wIndex(o, c, p, q)] = acc;
                    }
                }
            }
        }
        return backend.wrap(toFloats(dw), wShape);
    }

    /** y[n,c,i,j] = x[n,c,⌊i/2⌋,⌊j/2⌋]: [N,C,H,W] → [N,C,2H,2W]. */
    Tensor upsampleNearest2x(Tensor x) {
        String op = "upsampleNearest2x";
        float[] xs = backend.floats(op, "x", x);
        if (x.rank() != 4) {
            throw fail(op, "x must be [N, C, H, W], got " + x.shape());
        }
        int planes = x.dim(0) * x.dim(1);
        int h = x.dim(2);
        int w = x.dim(3);
        float[] ys = new float[planes * 4 * h * w];
        for (int nc = 0; nc < planes; nc++) {
            for (int i = 0; i < 2 * h; i++) {
                for (int j = 0; j < 2 * w; j++) {
                    ys[(nc * 2 * h + i) * 2 * w + j] = xs[(nc * h + i / 2) * w + j / 2];
                }
            }
        }
        return backend.wrap(ys, Shape.of(x.dim(0), x.dim(1), 2 * h, 2 * w));
    }

    /** dx[n,c,i,j] = Σ of dy over the 2×2 block (2i..2i+1, 2j..2j+1): [N,C,2H,2W] → [N,C,H,W]. */
    Tensor upsampleNearest2xBackward(Tensor dy) {
        String op = "upsampleNearest2xBackward";
        float[] dys = backend.floats(op, "dy", dy);
        if (dy.rank() != 4 || dy.dim(2) % 2 != 0 || dy.dim(3) % 2 != 0) {
            throw fail(op, "dy must be [N, C, 2H, 2W] with even spatial sizes, got " + dy.shape());
        }
        int planes = dy.dim(0) * dy.dim(1);
        int h = dy.dim(2) / 2;
        int w = dy.dim(3) / 2;
        float[] dx = new float[planes * h * w];
        for (int nc = 0; nc < planes; nc++) {
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    double acc = 0;
                    for (int di = 0; di < 2; di++) {
                        for (int dj = 0; dj < 2; dj++) {
                            acc += dys[(nc * 2 * h + 2 * i + di) * 2 * w + 2 * j + dj];
                        }
                    }
                    dx[(nc * h + i) * w + j] = (float) acc;
                }
            }
        }
        return backend.wrap(dx, Shape.of(dy.dim(0), dy.dim(1), h, w));
    }

    /** The sizes of one convolution, checked, with the row-major index of each tensor. */
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

        int xIndex(int in, int ic, int ih, int iw) {
            return ((in * c + ic) * h + ih) * w + iw;
        }

        int wIndex(int io, int ic, int ip, int iq) {
            return ((io * c + ic) * kh + ip) * kw + iq;
        }

        int yIndex(int in, int io, int i, int j) {
            return ((in * o + io) * ho + i) * wo + j;
        }
    }
}
