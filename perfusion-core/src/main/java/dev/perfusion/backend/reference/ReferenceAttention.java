package dev.perfusion.backend.reference;

import static dev.perfusion.backend.reference.ReferenceBackend.fail;
import static dev.perfusion.backend.reference.ReferenceBackend.toFloats;

import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;

/**
 * Reference scaled dot-product attention and GEGLU (the two transformer-block ops) with their gradients.
 *
 * <p>Attention letters: B the product of the leading (batch, head) axes, Lq queries, Lk keys, D the q/k width,
 * Dv the v width. For one batch entry S = scale·q·kᵀ + mask [Lq, Lk] (−∞ where causal masks key j &gt; query i),
 * P = softmax(S) by rows, y = P·v. P is recomputed in double by the backward rather than stored.
 */
final class ReferenceAttention {
    private final ReferenceBackend backend;

    ReferenceAttention(ReferenceBackend backend) {
        this.backend = backend;
    }

    Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        Inputs in = Inputs.of(backend, "attention", q, k, v, mask);
        Layout l = in.layout;
        float[] ys = new float[l.b * l.lq * l.dv];
        for (int b = 0; b < l.b; b++) {
            double[][] p = probabilities(in, b, causal, scale); // [Lq, Lk]
            for (int i = 0; i < l.lq; i++) {
                for (int e = 0; e < l.dv; e++) {
                    double acc = 0;
                    for (int j = 0; j < l.lk; j++) {
                        acc += p[i][j] * in.v[(b * l.lk + j) * l.dv + e];
                    }
                    ys[(b * l.lq + i) * l.dv + e] = (float) acc;
                }
            }
        }
        return backend.wrap(ys, l.out());
    }

    /**
     * With P = softmax(S) and dP = dy·vᵀ: dv = Pᵀ·dy; dS = P ⊙ (dP − rowsum(dP ⊙ P)) (the softmax backward);
     * dq = scale·dS·k; dk = scale·dSᵀ·q. The mask is a constant and gets no gradient.
     */
    AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale,
                                     Tensor dy) {
        String op = "attentionBackward";
        Inputs in = Inputs.of(backend, op, q, k, v, mask);
        Layout l = in.layout;
        float[] dys = backend.floats(op, "dy", dy);
        if (!dy.shape().equals(l.out())) {
            throw fail(op, "dy " + dy.shape() + " does not match the attention output " + l.out());
        }
        double[] dq = new double[l.b * l.lq * l.d];
        double[] dk = new double[l.b * l.lk * l.d];
        double[] dv = new double[l.b * l.lk * l.dv];
        for (int b = 0; b < l.b; b++) {
            double[][] p = probabilities(in, b, causal, scale);
            int qBase = b * l.lq * l.d;
            int kBase = b * l.lk * l.d;
            int vBase = b * l.lk * l.dv;
            int yBase = b * l.lq * l.dv;
            for (int i = 0; i < l.lq; i++) {
                double[] dp = new double[l.lk]; // dP[i, j] = Σ_e dy[i, e]·v[j, e]
                double rowDot = 0;              // Σ_j dP[i, j]·P[i, j]
                for (int j = 0; j < l.lk; j++) {
                    for (int e = 0; e < l.dv; e++) {
                        double dyv = dys[yBase + i * l.dv + e];
                        dp[j] += dyv * in.v[vBase + j * l.dv + e];
                        dv[vBase + j * l.dv + e] += p[i][j] * dyv;
                    }
                    rowDot += dp[j] * p[i][j];
                }
                for (int j = 0; j < l.lk; j++) {
                    double ds = p[i][j] * (dp[j] - rowDot);
                    for (int c = 0; c < l.d; c++) {
                        dq[qBase + i * l.d + c] += scale * ds * in.k[kBase + j * l.d + c];
                        dk[kBase + j * l.d + c] += scale * ds * in.q[qBase + i * l.d + c];
                    }
                }
            }
        }
        return new AttentionGrads(backend.wrap(toFloats(dq), q.shape()), backend.wrap(toFloats(dk), k.shape()),
                backend.wrap(toFloats(dv), v.shape()));
    }

    /** P = softmax(scale·q·kᵀ + mask) for batch entry {@code b}, rows over keys, in double. */
    private static double[][] probabilities(Inputs in, int b, boolean causal, float scale) {
        Layout l = in.layout;
        double[][] p = new double[l.lq][l.lk];
        for (int i = 0; i < l.lq; i++) {
            for (int j = 0; j < l.lk; j++) {
                if (causal && j > i) {
                    p[i][j] = Double.NEGATIVE_INFINITY;
                    continue;
                }
                double dot = 0;
                for (int c = 0; c < l.d; c++) {
                    dot += (double) in.q[(b * l.lq + i) * l.d + c] * in.k[(b * l.lk + j) * l.d + c];
                }
                double s = scale * dot;
                if (in.mask != null) {
                    s += in.mask[in.maskIndex[(b * l.lq + i) * l.lk + j]];
                }
                p[i][j] = s;
            }
            ReferenceNorms.softmaxInPlace(p[i]);
        }
        return p;
    }

    /** The sizes of one attention call. */
    private record Layout(Shape batch, int b, int lq, int lk, int d, int dv) {
        Shape out() {
            return RowMajor.append(batch, lq, dv);
        }

        Shape scores() {
            return RowMajor.append(batch, lq, lk);
        }
    }

    /** Checked attention inputs; {@code maskIndex} maps each score element [B, Lq, Lk] to its mask element. */
    private record Inputs(Layout layout, float[] q, float[] k, float[] v, float[] mask, int[] maskIndex) {

        static Inputs of(ReferenceBackend backend, String op, Tensor q, Tensor k, Tensor v, Tensor mask) {
            float[] qs = backend.floats(op, "q", q);
            float[] ks = backend.floats(op, "k", k);
            float[] vs = backend.floats(op, "v", v);
            int rank = q.rank();
            if (rank < 2 || k.rank() != rank || v.rank() != rank) {
                throw fail(op, "q, k, v must be [..., L, D] of equal rank >= 2, got q " + q.shape() + ", k "
                        + k.shape() + ", v " + v.shape());
            }
            Shape batch = RowMajor.leading(q.shape(), rank - 2);
            if (!RowMajor.leading(k.shape(), rank - 2).equals(batch)
                    || !RowMajor.leading(v.shape(), rank - 2).equals(batch)) {
                throw fail(op, "q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                        + " must share their leading axes");
            }
            if (k.dim(-1) != q.dim(-1) || v.dim(-2) != k.dim(-2)) {
                throw fail(op, "need q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv], got q " + q.shape() + ", k "
                        + k.shape() + ", v " + v.shape());
            }
            Layout l = new Layout(batch, RowMajor.product(batch.dims(), 0, batch.rank()), q.dim(-2), k.dim(-2),
                    q.dim(-1), v.dim(-1));
            float[] ms = null;
            int[] maskIndex = null;
            if (mask != null) {
                ms = backend.floats(op, "mask", mask);
                if (!RowMajor.broadcastsTo(mask.shape(), l.scores())) {
                    throw fail(op, "mask " + mask.shape() + " does not broadcast to the scores " + l.scores());
                }
                maskIndex = RowMajor.offsets(l.scores().dims(), RowMajor.broadcastStrides(mask.shape(), l.scores()));
            }
            return new Inputs(l, qs, ks, vs, ms, maskIndex);
        }
    }

    // ------------------------------------------------------------------ GEGLU

    /** x [..., 2F] = (h, g) along the last axis; y = h·GELU(g) [..., F] (erf GELU, diffusers' GEGLU). */
    Tensor geglu(Tensor x) {
        String op = "geglu";
        float[] xs = backend.floats(op, "x", x);
        int f = half(op, x);
        int rows = RowMajor.product(x.shape().dims(), 0, x.rank() - 1);
        float[] ys = new float[rows * f];
        for (int r = 0; r < rows; r++) {
            for (int e = 0; e < f; e++) {
                double h = xs[r * 2 * f + e];
                double g = xs[r * 2 * f + f + e];
                ys[r * f + e] = (float) (h * UnaryOp.GELU.apply(g));
            }
        }
        return backend.wrap(ys, x.shape().with(-1, f));
    }

    /** dh = dy·GELU(g), dg = dy·h·GELU′(g), joined as [..., 2F]. */
    Tensor gegluBackward(Tensor x, Tensor dy) {
        String op = "gegluBackward";
        float[] xs = backend.floats(op, "x", x);
        float[] dys = backend.floats(op, "dy", dy);
        int f = half(op, x);
        if (!dy.shape().equals(x.shape().with(-1, f))) {
            throw fail(op, "dy " + dy.shape() + " does not match the geglu output " + x.shape().with(-1, f));
        }
        int rows = RowMajor.product(x.shape().dims(), 0, x.rank() - 1);
        float[] dx = new float[xs.length];
        for (int r = 0; r < rows; r++) {
            for (int e = 0; e < f; e++) {
                double h = xs[r * 2 * f + e];
                double g = xs[r * 2 * f + f + e];
                double d = dys[r * f + e];
                dx[r * 2 * f + e] = (float) (d * UnaryOp.GELU.apply(g));
                dx[r * 2 * f + f + e] = (float) (d * h * UnaryOp.GELU.derivative(g));
            }
        }
        return backend.wrap(dx, x.shape());
    }

    private static int half(String op, Tensor x) {
        if (x.rank() < 1 || x.dim(-1) % 2 != 0) {
            throw fail(op, "x needs an even last axis [..., 2F], got " + x.shape());
        }
        return x.dim(-1) / 2;
    }
}
