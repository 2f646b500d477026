package dev.perfusion.backend.nd4j;

import static dev.perfusion.backend.nd4j.Nd4jArrays.allocFloat;
import static dev.perfusion.backend.nd4j.Nd4jArrays.broadcastOp;
import static dev.perfusion.backend.nd4j.Nd4jArrays.exec;
import static dev.perfusion.backend.nd4j.Nd4jArrays.free;
import static dev.perfusion.backend.nd4j.Nd4jArrays.matrix;
import static dev.perfusion.backend.nd4j.Nd4jArrays.view;
import static dev.perfusion.backend.nd4j.Nd4jBackend.fail;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.floating.RSqrt;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The neural-network ops of {@link Nd4jBackend}: convolutions, normalisations, softmax, GEGLU, upsampling and
 * embeddings (attention is in {@link Nd4jAttention}), composed from libnd4j ops that measured fast on these machines (engine-notes §2).
 */
final class Nd4jNn {
    private final Nd4jBackend b;
    private final long convBlockElements;

    Nd4jNn(Nd4jBackend backend) {
        this(backend, CONV_BLOCK_ELEMENTS);
    }

    /** With a chosen conv2dBackwardWeight block size in elements (tests use small ones to exercise each path). */
    Nd4jNn(Nd4jBackend backend, long convBlockElements) {
        this.b = backend;
        this.convBlockElements = convBlockElements;
    }

    // ------------------------------------------------------------------ convolution

    /** The sizes of one convolution, checked. */
    private record Geometry(int n, int c, int h, int w, int o, int kh, int kw, int ho, int wo) {

        static Geometry of(String op, Shape x, Shape wt, int stride, int padding) {
            if (x == null || wt == null || x.rank() != 4 || wt.rank() != 4) {
                throw fail(op, "x must be [N, C, H, W] and w [O, C, kH, kW], got x " + x + " and w " + wt);
            }
            if (x.dim(1) != wt.dim(1)) {
                throw fail(op, "x " + x + " has " + x.dim(1) + " channels, w " + wt + " expects " + wt.dim(1));
            }
            if (stride < 1 || padding < 0) {
                throw fail(op, "stride must be >= 1 and padding >= 0, got stride " + stride + ", padding " + padding);
            }
            if (wt.dim(2) < 1 || wt.dim(3) < 1) {
                throw fail(op, "empty kernel " + wt);
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
            return (long) n * c * h * w == 0 || o == 0;
        }
    }

    Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        String op = "conv2d";
        INDArray xa = b.f32(op, "x", x);
        INDArray wa = b.f32(op, "w", w);
        Geometry g = Geometry.of(op, x.shape(), w.shape(), stride, padding);
        INDArray ba = b.optionalF32(op, "bias", bias, Shape.of(g.o));
        INDArray y = allocFloat(g.n, g.o, g.ho, g.wo);
        try {
            if (y.length() > 0) {
                if (g.empty()) {
                    y.assign(0);
                    if (ba != null) {
                        broadcastOp("add", y, ba.reshape('c', new long[] {1, g.o, 1, 1}), y);
                    }
                } else {
                    INDArray[] ins = ba == null ? new INDArray[] {xa, wa} : new INDArray[] {xa, wa, ba};
                    // iArgs: kH kW sH sW pH pW dH dW paddingMode(0 = explicit) dataFormat(0 = NCHW) wFormat(1 = OIHW)
                    exec("conv2d", ins, new INDArray[] {y}, g.kh, g.kw, stride, stride, padding, padding, 1, 1, 0, 0, 1);
                }
            }
        } catch (RuntimeException e) {
            free(y);
            throw e;
        }
        return b.owned(y, DType.FLOAT32, g.yShape());
    }

    /**
     * The unpadded transposed convolution of dy by w ({@code deconv2d}, [N, C, (Ho−1)s+kH, (Wo−1)s+kW]) holds the
     * gradient of the padded input; x's gradient is its window [pad, pad+H) × [pad, pad+W), zero where the window
     * runs past it (rows the forward's floor division never read).
     */
    Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, int stride, int padding) {
        String op = "conv2dBackwardInput";
        INDArray dya = b.f32(op, "dy", dy);
        INDArray wa = b.f32(op, "w", w);
        Geometry g = Geometry.of(op, xShape, w.shape(), stride, padding);
        g.checkDy(op, dy);
        int fh = (g.ho - 1) * stride + g.kh;
        int fw = (g.wo - 1) * stride + g.kw;
        if (g.empty() || dy.numel() == 0) {
            return b.owned(Nd4jArrays.zerosFloat(g.n, g.c, g.h, g.w), DType.FLOAT32, xShape);
        }
        INDArray full = allocFloat(g.n, g.c, fh, fw);
        try {
            // iArgs: kH kW sH sW pH pW dH dW sameMode(0) dataFormat(0 = NCHW) wFormat(1 = [iC=O, oC=C, kH, kW])
            exec("deconv2d", new INDArray[] {dya, wa}, new INDArray[] {full}, g.kh, g.kw, stride, stride, 0, 0, 1, 1,
                    0, 0, 1);
            if (padding == 0 && fh == g.h && fw == g.w) {
                INDArray r = full;
                full = null;
                return b.owned(r, DType.FLOAT32, xShape);
            }
            int rows = Math.max(0, Math.min(g.h, fh - padding));
            int cols = Math.max(0, Math.min(g.w, fw - padding));
            INDArray dx = rows < g.h || cols < g.w ? Nd4jArrays.zerosFloat(g.n, g.c, g.h, g.w)
                    : allocFloat(g.n, g.c, g.h, g.w);
            if (rows > 0 && cols > 0) {
                dx.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, rows),
                        NDArrayIndex.interval(0, cols)).assign(full.get(NDArrayIndex.all(), NDArrayIndex.all(),
                        NDArrayIndex.interval(padding, padding + rows), NDArrayIndex.interval(padding, padding + cols)));
            }
            return b.owned(dx, DType.FLOAT32, xShape);
        } finally {
            free(full);
        }
    }

    /**
     * dw [O, C·kH·kW] = Σₙ dyₙ [O, Ho·Wo] · im2col(xₙ)ᵀ [Ho·Wo, C·kH·kW], accumulated by one OpenBLAS GEMM per
     * sample. The columns are made for a block of samples per im2col call (at most {@link #CONV_BLOCK_ELEMENTS}
     * elements, at least one sample): on an 8×8 map a per-sample im2col costs more in JNI than its arithmetic.
     */
    Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape wShape, int stride, int padding) {
        String op = "conv2dBackwardWeight";
        INDArray dya = b.f32(op, "dy", dy);
        INDArray xa = b.f32(op, "x", x);
        Geometry g = Geometry.of(op, x.shape(), wShape, stride, padding);
        g.checkDy(op, dy);
        long ckk = (long) g.c * g.kh * g.kw;
        long hw = (long) g.ho * g.wo;
        INDArray dw = Nd4jArrays.zerosFloat(g.o, ckk);
        if (dw.length() == 0 || g.n == 0 || hw == 0 || g.h * g.w == 0) {
            return b.owned(dw, DType.FLOAT32, wShape);
        }
        int block = (int) Math.max(1, Math.min(g.n, convBlockElements / (ckk * hw)));
        INDArray cols = allocFloat(block, g.c, g.kh, g.kw, g.ho, g.wo);
        try {
            long xSize = (long) g.c * g.h * g.w;
            long ySize = g.o * hw;
            for (int n0 = 0; n0 < g.n; n0 += block) {
                int nb = Math.min(block, g.n - n0);
                INDArray xb = view(xa, n0 * xSize, nb, g.c, g.h, g.w);                  // [nb, C, H, W]
                INDArray cb = nb == block ? cols : view(cols, 0, nb, g.c, g.kh, g.kw, g.ho, g.wo);
                // iArgs: kH kW sH sW pH pW dH dW sameMode(0)
                exec("im2col", new INDArray[] {xb}, new INDArray[] {cb}, g.kh, g.kw, stride, stride, padding,
                        padding, 1, 1, 0);                                             // [nb, C, kH, kW, Ho, Wo]
                for (int i = 0; i < nb; i++) {
                    Nd4j.gemm(matrix(dya, (n0 + i) * ySize, g.o, hw), matrix(cols, i * ckk * hw, ckk, hw), dw,
                            false, true, 1.0, 1.0);
                }
            }
        } catch (RuntimeException e) {
            free(dw);
            throw e;
        } finally {
            free(cols);
        }
        return b.owned(dw, DType.FLOAT32, wShape);
    }

    /** Elements of im2col columns one block of conv2dBackwardWeight holds (64 MB). */
    static final long CONV_BLOCK_ELEMENTS = 16L << 20;

    // ------------------------------------------------------------------ normalisation

    /** x viewed as [segments, size] with per-parameter broadcast shape for γ/β applied to y viewed as {@code yView}. */
    private record NormLayout(long segments, long size, long[] yView, long[] paramView, int[] paramAxes, Shape param) {
    }

    private NormLayout groupLayout(String op, Tensor x, int groups) {
        if (x.rank() < 2) {
            throw fail(op, "x must be [N, C, *], got " + x.shape());
        }
        int c = x.dim(1);
        if (groups < 1 || c % groups != 0) {
            throw fail(op, c + " channels of x " + x.shape() + " do not split into " + groups + " groups");
        }
        int n = x.dim(0);
        long spatial = x.numel() / Math.max(1, (long) n * c);
        if ((long) n * c == 0) {
            spatial = 0;
        }
        return new NormLayout((long) n * groups, (long) (c / groups) * spatial, new long[] {n, c, spatial},
                new long[] {1, c, 1}, new int[] {0, 2}, Shape.of(c));
    }

    private NormLayout layerLayout(String op, Tensor x) {
        if (x.rank() < 1) {
            throw fail(op, "x needs at least one axis, got a scalar");
        }
        int d = x.dim(-1);
        long rows = d == 0 ? 0 : x.numel() / d;
        return new NormLayout(rows, d, new long[] {rows, d}, new long[] {1, d}, new int[] {0}, Shape.of(d));
    }

    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        String op = "groupNorm";
        INDArray xa = b.f32(op, "x", x);
        NormLayout l = groupLayout(op, x, groups);
        return normalise(op, x, xa, l, gamma, beta, eps);
    }

    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        String op = "layerNorm";
        INDArray xa = b.f32(op, "x", x);
        NormLayout l = layerLayout(op, x);
        return normalise(op, x, xa, l, gamma, beta, eps);
    }

    NormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, float eps, Tensor dy) {
        String op = "groupNormBackward";
        INDArray xa = b.f32(op, "x", x);
        INDArray dya = b.f32(op, "dy", dy);
        Nd4jBackend.sameShape(op, "x", x, "dy", dy);
        return normaliseBackward(op, x, xa, dya, groupLayout(op, x, groups), gamma, eps);
    }

    NormGrads layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dy) {
        String op = "layerNormBackward";
        INDArray xa = b.f32(op, "x", x);
        INDArray dya = b.f32(op, "dy", dy);
        Nd4jBackend.sameShape(op, "x", x, "dy", dy);
        return normaliseBackward(op, x, xa, dya, layerLayout(op, x), gamma, eps);
    }

    /**
     * x̂ = (x − μ)·rstd per segment into a fresh [segments, size] array, rstd = 1/√(σ² + eps) with the biased
     * variance; {@code rstdOut[0]} receives rstd as a fresh [segments, 1] array. Composed from mean, variance and
     * broadcast ops rather than libnd4j's {@code standardize}, which ignores eps.
     */
    private static INDArray standardise(INDArray xv, float eps, INDArray[] rstdOut) {
        long segments = xv.size(0);
        INDArray mean = xv.mean(1);
        INDArray var = null;
        INDArray xhat = allocFloat(xv.shape());
        try {
            var = xv.var(false, 1);
            broadcastOp("subtract", xv, mean.reshape('c', new long[] {segments, 1}), xhat);
            var.addi(eps);
            Nd4j.exec(new RSqrt(var, var));
            INDArray rstd = var.reshape('c', new long[] {segments, 1});
            broadcastOp("multiply", xhat, rstd, xhat);
            rstdOut[0] = var;
            var = null;
            return xhat;
        } catch (RuntimeException e) {
            free(xhat);
            throw e;
        } finally {
            free(mean, var);
        }
    }

    private Tensor normalise(String op, Tensor x, INDArray xa, NormLayout l, Tensor gamma, Tensor beta, float eps) {
        INDArray ga = b.optionalF32(op, "gamma", gamma, l.param());
        INDArray ba = b.optionalF32(op, "beta", beta, l.param());
        if (l.segments() == 0 || l.size() == 0) {
            return b.owned(allocFloat(Nd4jArrays.dims(x.shape())), DType.FLOAT32, x.shape());
        }
        INDArray[] rstd = new INDArray[1];
        INDArray y = standardise(xa.reshape('c', new long[] {l.segments(), l.size()}), eps, rstd);
        try {
            free(rstd[0]);
            if (ga != null || ba != null) {
                INDArray yv = y.reshape('c', l.yView());
                if (ga != null) {
                    broadcastOp("multiply", yv, ga.reshape('c', l.paramView()), yv);
                }
                if (ba != null) {
                    broadcastOp("add", yv, ba.reshape('c', l.paramView()), yv);
                }
            }
        } catch (RuntimeException e) {
            free(y);
            throw e;
        }
        return b.owned(y, DType.FLOAT32, x.shape());
    }

    /**
     * With g = dy·γ: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) per segment; dγ = Σ dy·x̂ and dβ = Σ dy over every
     * axis but the parameter's.
     */
    private NormGrads normaliseBackward(String op, Tensor x, INDArray xa, INDArray dya, NormLayout l, Tensor gamma,
                                        float eps) {
        INDArray ga = b.optionalF32(op, "gamma", gamma, l.param());
        if (l.segments() == 0 || l.size() == 0) {
            Tensor dx = b.owned(allocFloat(Nd4jArrays.dims(x.shape())), DType.FLOAT32, x.shape());
            Tensor dg = ga == null ? null : b.owned(Nd4jArrays.zerosFloat(l.param().dim(0)), DType.FLOAT32, l.param());
            Tensor db = b.owned(Nd4jArrays.zerosFloat(l.param().dim(0)), DType.FLOAT32, l.param());
            return new NormGrads(dx, dg, db);
        }
        long[] seg = {l.segments(), l.size()};
        long[] col = {l.segments(), 1};
        INDArray[] rstd = new INDArray[1];
        INDArray xhat = standardise(xa.reshape('c', seg), eps, rstd);
        INDArray g = null;
        INDArray t = null;
        INDArray mg = null;
        INDArray mgx = null;
        INDArray dx = null;
        INDArray dGamma = null;
        INDArray dBeta = null;
        try {
            INDArray dyv = dya.reshape('c', l.yView());
            INDArray g2;
            if (ga != null) {
                g = allocFloat(l.yView());
                broadcastOp("multiply", dyv, ga.reshape('c', l.paramView()), g);
                g2 = g.reshape('c', seg);
            } else {
                g2 = dya.reshape('c', seg);
            }
            t = allocFloat(seg);
            broadcastOp("multiply", g2, xhat, t);
            mg = g2.mean(1);
            mgx = t.mean(1);
            dx = allocFloat(seg);
            broadcastOp("subtract", g2, mg.reshape('c', col), dx);
            broadcastOp("multiply", xhat, mgx.reshape('c', col), t);
            dx.subi(t);
            broadcastOp("multiply", dx, rstd[0].reshape('c', col), dx);
            if (ga != null) {
                INDArray tv = t.reshape('c', l.yView());
                broadcastOp("multiply", dyv, xhat.reshape('c', l.yView()), tv);
                dGamma = tv.sum(false, l.paramAxes());
            }
            dBeta = dyv.sum(false, l.paramAxes());
            NormGrads grads = new NormGrads(b.owned(dx, DType.FLOAT32, x.shape()),
                    dGamma == null ? null : b.owned(dGamma, DType.FLOAT32, l.param()),
                    b.owned(dBeta, DType.FLOAT32, l.param()));
            dx = null;
            dGamma = null;
            dBeta = null;
            return grads;
        } finally {
            free(xhat, rstd[0], g, t, mg, mgx, dx, dGamma, dBeta);
        }
    }

    // ------------------------------------------------------------------ softmax

    /**
     * Softmax over the last axis. The array is presented to libnd4j as [1, rows, D]: rank-3 softmax runs on oneDNN,
     * about 5× faster than the rank-2 path (37 vs 7 ms for 4096×4096).
     */
    Tensor softmax(Tensor x) {
        String op = "softmax";
        INDArray xa = b.f32(op, "x", x);
        if (x.rank() < 1) {
            throw fail(op, "x needs at least one axis, got a scalar");
        }
        int d = x.dim(-1);
        long rows = d == 0 ? 0 : x.numel() / d;
        INDArray y = allocFloat(1, rows, d);
        try {
            if (y.length() > 0) {
                Nd4j.exec(new SoftMax(xa.reshape('c', new long[] {1, rows, d}), y, -1));
            }
        } catch (RuntimeException e) {
            free(y);
            throw e;
        }
        return b.owned(y, DType.FLOAT32, x.shape());
    }

    Tensor softmaxBackward(Tensor y, Tensor dy) {
        String op = "softmaxBackward";
        INDArray ya = b.f32(op, "y", y);
        INDArray dya = b.f32(op, "dy", dy);
        Nd4jBackend.sameShape(op, "y", y, "dy", dy);
        if (y.rank() < 1) {
            throw fail(op, "y needs at least one axis, got a scalar");
        }
        int d = y.dim(-1);
        long rows = d == 0 ? 0 : y.numel() / d;
        INDArray dx = allocFloat(rows, d);
        if (dx.length() == 0) {
            return b.owned(dx, DType.FLOAT32, y.shape());
        }
        INDArray s = null;
        try {
            long[] shape = {rows, d};
            INDArray y2 = ya.reshape('c', shape);
            INDArray g2 = dya.reshape('c', shape);
            broadcastOp("multiply", g2, y2, dx);
            s = dx.sum(true, 1);
            broadcastOp("subtract", g2, s, dx);
            dx.muli(y2);
        } catch (RuntimeException e) {
            free(dx);
            throw e;
        } finally {
            free(s);
        }
        return b.owned(dx, DType.FLOAT32, y.shape());
    }

    // ------------------------------------------------------------------ GEGLU

    private static int half(String op, Tensor x) {
        if (x.rank() < 1 || x.dim(-1) % 2 != 0) {
            throw fail(op, "x needs an even last axis [..., 2F], got " + x.shape());
        }
        return x.dim(-1) / 2;
    }

    /** y = h·GELU(g) with x = (h, g) along the last axis (exact erf GELU). */
    Tensor geglu(Tensor x) {
        String op = "geglu";
        INDArray xa = b.f32(op, "x", x);
        int f = half(op, x);
        Shape out = x.shape().with(-1, f);
        long rows = f == 0 ? 0 : x.numel() / (2L * f);
        INDArray y = allocFloat(rows, f);
        if (y.length() == 0) {
            return b.owned(y, DType.FLOAT32, out);
        }
        try {
            INDArray x2 = xa.reshape('c', new long[] {rows, 2L * f});
            INDArray h = x2.get(NDArrayIndex.all(), NDArrayIndex.interval(0, f));
            INDArray g = x2.get(NDArrayIndex.all(), NDArrayIndex.interval(f, 2 * f));
            Nd4jMath.gelu(g, y);
            y.muli(h);
        } catch (RuntimeException e) {
            free(y);
            throw e;
        }
        return b.owned(y, DType.FLOAT32, out);
    }

    /** dh = dy·GELU(g), dg = dy·h·GELU′(g), joined as [..., 2F]. */
    Tensor gegluBackward(Tensor x, Tensor dy) {
        String op = "gegluBackward";
        INDArray xa = b.f32(op, "x", x);
        INDArray dya = b.f32(op, "dy", dy);
        int f = half(op, x);
        if (!dy.shape().equals(x.shape().with(-1, f))) {
            throw fail(op, "dy " + dy.shape() + " does not match the geglu output " + x.shape().with(-1, f));
        }
        long rows = f == 0 ? 0 : x.numel() / (2L * f);
        INDArray dx = allocFloat(rows, 2L * f);
        if (dx.length() == 0) {
            return b.owned(dx, DType.FLOAT32, x.shape());
        }
        INDArray t = allocFloat(rows, f);
        try {
            INDArray x2 = xa.reshape('c', new long[] {rows, 2L * f});
            INDArray h = x2.get(NDArrayIndex.all(), NDArrayIndex.interval(0, f));
            INDArray g = x2.get(NDArrayIndex.all(), NDArrayIndex.interval(f, 2 * f));
            INDArray d2 = dya.reshape('c', new long[] {rows, f});
            Nd4jMath.gelu(g, t);
            t.muli(d2);
            dx.get(NDArrayIndex.all(), NDArrayIndex.interval(0, f)).assign(t);
            Nd4jMath.geluDerivative(g, t);
            t.muli(d2).muli(h);
            dx.get(NDArrayIndex.all(), NDArrayIndex.interval(f, 2 * f)).assign(t);
        } catch (RuntimeException e) {
            free(dx);
            throw e;
        } finally {
            free(t);
        }
        return b.owned(dx, DType.FLOAT32, x.shape());
    }

    // ------------------------------------------------------------------ upsampling

    Tensor upsampleNearest2x(Tensor x) {
        String op = "upsampleNearest2x";
        INDArray xa = b.f32(op, "x", x);
        if (x.rank() != 4) {
            throw fail(op, "x must be [N, C, H, W], got " + x.shape());
        }
        Shape out = Shape.of(x.dim(0), x.dim(1), 2 * x.dim(2), 2 * x.dim(3));
        INDArray y = allocFloat(Nd4jArrays.dims(out));
        try {
            if (y.length() > 0) {
                // iArgs: factorH factorW isNCHW(1)
                exec("upsampling2d", new INDArray[] {xa}, new INDArray[] {y}, 2, 2, 1);
            }
        } catch (RuntimeException e) {
            free(y);
            throw e;
        }
        return b.owned(y, DType.FLOAT32, out);
    }

    /** Sums each 2×2 block: dy viewed as [N, C, H, 2, W, 2], reduced over the two axes of size 2. */
    Tensor upsampleNearest2xBackward(Tensor dy) {
        String op = "upsampleNearest2xBackward";
        INDArray dya = b.f32(op, "dy", dy);
        if (dy.rank() != 4 || dy.dim(2) % 2 != 0 || dy.dim(3) % 2 != 0) {
            throw fail(op, "dy must be [N, C, 2H, 2W] with even spatial sizes, got " + dy.shape());
        }
        int h = dy.dim(2) / 2;
        int w = dy.dim(3) / 2;
        Shape out = Shape.of(dy.dim(0), dy.dim(1), h, w);
        if (out.numel() == 0) {
            return b.owned(allocFloat(Nd4jArrays.dims(out)), DType.FLOAT32, out);
        }
        INDArray v = dya.reshape('c', new long[] {dy.dim(0), dy.dim(1), h, 2, w, 2});
        return b.owned(v.sum(false, 3, 5), DType.FLOAT32, out);
    }

    // ------------------------------------------------------------------ embedding

    /** The ids of an INT32 or INT64 tensor, each checked to lie in [0, vocab). */
    private long[] ids(String op, Tensor ids, int vocab) {
        b.in(op, "ids", ids);
        if (ids.dtype() != DType.INT32 && ids.dtype() != DType.INT64) {
            throw fail(op, "ids must be INT32 or INT64, got " + ids.dtype());
        }
        long[] v = b.toLongArray(ids);
        for (int t = 0; t < v.length; t++) {
            if (v[t] < 0 || v[t] >= vocab) {
                throw fail(op, "id " + v[t] + " at position " + Arrays.toString(
                        dev.perfusion.tensor.Tolerance.coordinates(ids.shape(), t))
                        + " is out of range for a vocabulary of " + vocab);
            }
        }
        return v;
    }

    private static Shape append(Shape s, int last) {
        int[] d = Arrays.copyOf(s.dims(), s.rank() + 1);
        d[s.rank()] = last;
        return Shape.of(d);
    }

    Tensor embedding(Tensor weight, Tensor ids) {
        String op = "embedding";
        INDArray wa = b.f32(op, "weight", weight);
        if (weight.rank() != 2) {
            throw fail(op, "weight must be [V, D], got " + weight.shape());
        }
        long[] idv = ids(op, ids, weight.dim(0));
        int d = weight.dim(1);
        Shape out = append(ids.shape(), d);
        if (idv.length == 0 || d == 0) {
            return b.owned(allocFloat(Nd4jArrays.dims(out)), DType.FLOAT32, out);
        }
        int[] rows = new int[idv.length];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (int) idv[i];
        }
        return b.owned(Nd4j.pullRows(wa, 1, rows), DType.FLOAT32, out);
    }

    /** Rows with the same id are summed (pulled together, reduced) before landing in dW, so no write races. */
    Tensor embeddingBackward(Tensor dy, Tensor ids, int vocab) {
        String op = "embeddingBackward";
        INDArray dya = b.f32(op, "dy", dy);
        if (vocab < 0) {
            throw fail(op, "negative vocabulary size " + vocab);
        }
        long[] idv = ids(op, ids, vocab);
        if (dy.rank() != ids.rank() + 1 || !Shape.of(Arrays.copyOf(dy.shape().dims(), ids.rank())).equals(ids.shape())) {
            throw fail(op, "dy " + dy.shape() + " must be ids " + ids.shape() + " + [D]");
        }
        int d = dy.dim(-1);
        INDArray dw = Nd4jArrays.zerosFloat(vocab, d);
        if (idv.length == 0 || d == 0) {
            return b.owned(dw, DType.FLOAT32, Shape.of(vocab, d));
        }
        try {
            Map<Integer, List<Integer>> byId = new LinkedHashMap<>();
            for (int t = 0; t < idv.length; t++) {
                byId.computeIfAbsent((int) idv[t], key -> new ArrayList<>()).add(t);
            }
            for (Map.Entry<Integer, List<Integer>> e : byId.entrySet()) {
                INDArray target = matrix(dw, (long) e.getKey() * d, 1, d);
                List<Integer> rows = e.getValue();
                if (rows.size() == 1) {
                    target.assign(matrix(dya, (long) rows.get(0) * d, 1, d));
                } else {
                    INDArray sum = allocFloat(1, d);
                    try {
                        sum.assign(0);
                        for (int r : rows) {
                            sum.addi(matrix(dya, (long) r * d, 1, d));
                        }
                        target.assign(sum);
                    } finally {
                        free(sum);
                    }
                }
            }
        } catch (RuntimeException e) {
            free(dw);
            throw e;
        }
        return b.owned(dw, DType.FLOAT32, Shape.of(vocab, d));
    }
}
