package dev.perfusion.backend.reference;

import static dev.perfusion.backend.reference.ReferenceBackend.fail;
import static dev.perfusion.backend.reference.ReferenceBackend.sameShape;
import static dev.perfusion.backend.reference.ReferenceBackend.toFloats;

import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * Reference group norm, layer norm and softmax with their gradients. Statistics are two-pass in double
 * (mean first, then the biased variance Σ(x − μ)²/M), so they are as exact as the float inputs allow.
 *
 * <p>Both norms normalise contiguous <em>segments</em> of M elements: for group norm of x [N, C, S…] a segment is
 * one sample's C/groups channels (M = C/groups · S), for layer norm one row of the last axis (M = D). They differ
 * only in which γ/β entry scales an element, so one forward and one backward serve both.
 */
final class ReferenceNorms {
    private final ReferenceBackend backend;

    ReferenceNorms(ReferenceBackend backend) {
        this.backend = backend;
    }

    /** Which γ/β entry scales element {@code element} (0..M−1) of segment {@code segment}. */
    private interface ParamIndex {
        int of(int segment, int element);
    }

    // ------------------------------------------------------------------ group norm

    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        String op = "groupNorm";
        float[] xs = backend.floats(op, "x", x);
        GroupLayout l = GroupLayout.of(op, x.shape(), groups);
        float[] gs = backend.optionalFloats(op, "gamma", gamma, Shape.of(l.channels));
        float[] bs = backend.optionalFloats(op, "beta", beta, Shape.of(l.channels));
        float[] ys = normalise(xs, l.segments(), l.segmentSize(), gs, bs, l.param(), eps);
        return backend.wrap(ys, x.shape());
    }

    NormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, float eps, Tensor dy) {
        String op = "groupNormBackward";
        float[] xs = backend.floats(op, "x", x);
        float[] dys = backend.floats(op, "dy", dy);
        sameShape(op, "x", x, "dy", dy);
        GroupLayout l = GroupLayout.of(op, x.shape(), groups);
        float[] gs = backend.optionalFloats(op, "gamma", gamma, Shape.of(l.channels));
        return backward(xs, dys, l.segments(), l.segmentSize(), gs, l.channels, l.param(), eps, x.shape());
    }

    /** x [N, C, S…] split into groups of C/groups channels; S is the product of the spatial axes (1 when none). */
    private record GroupLayout(int samples, int channels, int groups, int spatial) {

        static GroupLayout of(String op, Shape x, int groups) {
            if (x.rank() < 2) {
                throw fail(op, "x must be [N, C, *], got " + x);
            }
            int c = x.dim(1);
            if (groups < 1 || c % groups != 0) {
                throw fail(op, c + " channels of x " + x + " do not split into " + groups + " groups");
            }
            return new GroupLayout(x.dim(0), c, groups, RowMajor.product(x.dims(), 2, x.rank()));
        }

        int segments() {
            return samples * groups;
        }

        int segmentSize() {
            return channels / groups * spatial;
        }

        ParamIndex param() {
            int perGroup = channels / groups;
            return (segment, element) -> (segment % groups) * perGroup + element / spatial;
        }
    }

    // ------------------------------------------------------------------ layer norm

    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        String op = "layerNorm";
        float[] xs = backend.floats(op, "x", x);
        int d = lastAxis(op, x);
        float[] gs = backend.optionalFloats(op, "gamma", gamma, Shape.of(d));
        float[] bs = backend.optionalFloats(op, "beta", beta, Shape.of(d));
        float[] ys = normalise(xs, rows(x), d, gs, bs, (segment, element) -> element, eps);
        return backend.wrap(ys, x.shape());
    }

    NormGrads layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dy) {
        String op = "layerNormBackward";
        float[] xs = backend.floats(op, "x", x);
        float[] dys = backend.floats(op, "dy", dy);
        sameShape(op, "x", x, "dy", dy);
        int d = lastAxis(op, x);
        float[] gs = backend.optionalFloats(op, "gamma", gamma, Shape.of(d));
        return backward(xs, dys, rows(x), d, gs, d, (segment, element) -> element, eps, x.shape());
    }

    // ------------------------------------------------------------------ shared normalisation

    /** y = (x − μ)·rstd·γ + β per segment, rstd = 1/√(σ² + eps); γ, β null mean 1, 0. */
    private static float[] normalise(float[] xs, int segments, int size, float[] gamma, float[] beta,
                                     ParamIndex param, float eps) {
        float[] ys = new float[xs.length];
        for (int s = 0; s < segments; s++) {
            int base = s * size;
            double mean = mean(xs, base, size);
            double rstd = 1 / Math.sqrt(variance(xs, base, size, mean) + eps);
            for (int e = 0; e < size; e++) {
                int p = param.of(s, e);
                double xhat = (xs[base + e] - mean) * rstd;
                double y = xhat * (gamma == null ? 1 : gamma[p]) + (beta == null ? 0 : beta[p]);
                ys[base + e] = (float) y;
            }
        }
        return ys;
    }

    /**
     * With x̂ = (x − μ)·rstd and g = dy·γ: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) per segment (μ and σ² depend on
     * every x of the segment, hence the two mean terms); dγ[p] = Σ dy·x̂ and dβ[p] = Σ dy over the elements p scales.
     */
    private NormGrads backward(float[] xs, float[] dys, int segments, int size, float[] gamma, int params,
                               ParamIndex param, float eps, Shape shape) {
        float[] dx = new float[xs.length];
        double[] dGamma = new double[params];
        double[] dBeta = new double[params];
        double[] xhat = new double[size];
        double[] g = new double[size];
        for (int s = 0; s < segments; s++) {
            int base = s * size;
            double mean = mean(xs, base, size);
            double rstd = 1 / Math.sqrt(variance(xs, base, size, mean) + eps);
            double sumG = 0;
            double sumGXhat = 0;
            for (int e = 0; e < size; e++) {
                int p = param.of(s, e);
                double dy = dys[base + e];
                xhat[e] = (xs[base + e] - mean) * rstd;
                g[e] = dy * (gamma == null ? 1 : gamma[p]);
                sumG += g[e];
                sumGXhat += g[e] * xhat[e];
                dGamma[p] += dy * xhat[e];
                dBeta[p] += dy;
            }
            for (int e = 0; e < size; e++) {
                dx[base + e] = (float) (rstd * (g[e] - sumG / size - xhat[e] * sumGXhat / size));
            }
        }
        Tensor dGammaT = gamma == null ? null : backend.wrap(toFloats(dGamma), Shape.of(params));
        return new NormGrads(backend.wrap(dx, shape), dGammaT, backend.wrap(toFloats(dBeta), Shape.of(params)));
    }

    private static double mean(float[] xs, int base, int size) {
        double sum = 0;
        for (int e = 0; e < size; e++) {
            sum += xs[base + e];
        }
        return sum / size;
    }

    private static double variance(float[] xs, int base, int size, double mean) {
        double sum = 0;
        for (int e = 0; e < size; e++) {
            double d = xs[base + e] - mean;
            sum += d * d;
        }
        return sum / size;
    }

    // ------------------------------------------------------------------ softmax

    /** y = e^(x − max x) / Σ e^(x − max x) along the last axis (subtracting the max keeps e^… ≤ 1). */
    Tensor softmax(Tensor x) {
        String op = "softmax";
        float[] xs = backend.floats(op, "x", x);
        int d = lastAxis(op, x);
        float[] ys = new float[xs.length];
        double[] row = new double[d];
        for (int r = 0; r < rows(x); r++) {
            for (int e = 0; e < d; e++) {
                row[e] = xs[r * d + e];
            }
            softmaxInPlace(row);
            for (int e = 0; e < d; e++) {
                ys[r * d + e] = (float) row[e];
            }
        }
        return backend.wrap(ys, x.shape());
    }

    /** dx = y ⊙ (dy − Σ dy ⊙ y) along the last axis. */
    Tensor softmaxBackward(Tensor y, Tensor dy) {
        String op = "softmaxBackward";
        float[] ys = backend.floats(op, "y", y);
        float[] dys = backend.floats(op, "dy", dy);
        sameShape(op, "y", y, "dy", dy);
        int d = lastAxis(op, y);
        float[] dx = new float[ys.length];
        for (int r = 0; r < rows(y); r++) {
            int base = r * d;
            double dot = 0;
            for (int e = 0; e < d; e++) {
                dot += (double) dys[base + e] * ys[base + e];
            }
            for (int e = 0; e < d; e++) {
                dx[base + e] = (float) (ys[base + e] * (dys[base + e] - dot));
            }
        }
        return backend.wrap(dx, y.shape());
    }

    /**
     * Replaces v by its softmax, in double. A row that is entirely −∞ (every key masked) becomes NaN, as in
     * PyTorch's softmax.
     */
    static void softmaxInPlace(double[] v) {
        double max = Double.NEGATIVE_INFINITY;
        for (double e : v) {
            max = Math.max(max, e);
        }
        double sum = 0;
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.exp(v[i] - max);
            sum += v[i];
        }
        for (int i = 0; i < v.length; i++) {
            v[i] /= sum;
        }
    }

    private static int lastAxis(String op, Tensor x) {
        if (x.rank() < 1) {
            throw fail(op, "x needs at least one axis, got a scalar");
        }
        return x.dim(-1);
    }

    /** Number of rows of the last axis: the product of the other axes. */
    private static int rows(Tensor x) {
        return RowMajor.product(x.shape().dims(), 0, x.rank() - 1);
    }
}
