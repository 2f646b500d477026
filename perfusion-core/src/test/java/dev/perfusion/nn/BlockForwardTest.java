package dev.perfusion.nn;

import static dev.perfusion.nn.NnTesting.doubles;
import static dev.perfusion.nn.NnTesting.floats;
import static dev.perfusion.nn.NnTesting.linear;
import static dev.perfusion.nn.NnTesting.normal;
import static dev.perfusion.nn.NnTesting.randomized;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.tensor.UnaryOp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Each block's forward on the reference backend against the same maths written out with plain loops in double.
 * The block stores float32 intermediates (q, k, v, …), hence float32's tolerance rather than exact agreement.
 */
@Tag("unit")
class BlockForwardTest {
    private final Backend be = new ReferenceBackend();
    private final Tolerance tol = Tolerance.FLOAT32;
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static float[] v(Parameter p) {
        return p.value().toFloatArray();
    }

    @Test
    void linearIsXTimesWTransposedPlusB() {
        try (Linear l = new Linear(be, 5, 4, true); Linear n = new Linear(be, 5, 4, false)) {
            l.initialize(1);
            n.initialize(2);
            Tensor x = normal(be, 3, 1f, 2, 3, 5); // [2, 3, 5]: two leading axes
            double[] xd = doubles(x.toFloatArray());
            tol.assertClose("linear", Shape.of(2, 3, 4), floats(linear(xd, 6, 5, v(l.weight()), v(l.bias()), 4)),
                    l.forward(x).toFloatArray());
            tol.assertClose("linear no bias", Shape.of(2, 3, 4), floats(linear(xd, 6, 5, v(n.weight()), null, 4)),
                    n.forward(x).toFloatArray());
        }
    }

    @Test
    void conv2dIsTheCrossCorrelationOfTorch() {
        int n = 2;
        int ci = 2;
        int co = 3;
        int k = 3;
        int h = 5;
        int w = 4;
        for (int[] sp : new int[][] {{1, 1}, {2, 1}, {1, 0}}) {
            int s = sp[0];
            int pad = sp[1];
            try (Conv2d c = new Conv2d(be, ci, co, k, s, pad, true)) {
                c.initialize(4);
                Tensor x = normal(be, 5, 1f, n, ci, h, w);
                float[] xs = x.toFloatArray();
                float[] ws = v(c.weight());
                float[] bs = v(c.bias());
                int ho = (h + 2 * pad - k) / s + 1;
                int wo = (w + 2 * pad - k) / s + 1;
                double[] y = new double[n * co * ho * wo];
                for (int b = 0; b < n; b++) {
                    for (int o = 0; o < co; o++) {
                        for (int i = 0; i < ho; i++) {
                            for (int j = 0; j < wo; j++) {
                                double acc = bs[o];
                                for (int ch = 0; ch < ci; ch++) {
                                    for (int p = 0; p < k; p++) {
                                        for (int q = 0; q < k; q++) {
                                            int yi = i * s + p - pad;
                                            int xj = j * s + q - pad;
                                            if (yi >= 0 && yi < h && xj >= 0 && xj < w) {
                                                acc += ws[((o * ci + ch) * k + p) * k + q] * xs[((b * ci + ch) * h + yi) * w + xj];
                                            }
                                        }
                                    }
                                }
                                y[((b * co + o) * ho + i) * wo + j] = acc;
                            }
                        }
                    }
                }
                tol.assertClose("conv stride " + s + " pad " + pad, Shape.of(n, co, ho, wo), floats(y),
                        c.forward(x).toFloatArray());
            }
        }
    }

    @Test
    void groupNormNormalisesEachGroupOverChannelsAndSpace() {
        int n = 2;
        int c = 6;
        int groups = 3;
        int hw = 4;
        float eps = 1e-5f;
        try (GroupNorm g = randomized(new GroupNorm(be, groups, c, eps, true), 6)) {
            Tensor x = normal(be, 7, 2f, n, c, 2, 2);
            float[] xs = x.toFloatArray();
            float[] gamma = v(g.weight());
            float[] beta = v(g.bias());
            double[] y = new double[xs.length];
            int per = c / groups;
            for (int b = 0; b < n; b++) {
                for (int gr = 0; gr < groups; gr++) {
                    int from = (b * c + gr * per) * hw;
                    int count = per * hw;
                    double mean = 0;
                    for (int i = 0; i < count; i++) {
                        mean += xs[from + i];
                    }
                    mean /= count;
                    double var = 0;
                    for (int i = 0; i < count; i++) {
                        var += (xs[from + i] - mean) * (xs[from + i] - mean);
                    }
                    var /= count; // biased, as torch
                    for (int i = 0; i < count; i++) {
                        int ch = gr * per + i / hw;
                        y[from + i] = (xs[from + i] - mean) / Math.sqrt(var + eps) * gamma[ch] + beta[ch];
                    }
                }
            }
            tol.assertClose("group norm", x.shape(), floats(y), g.forward(x).toFloatArray());
        }
    }

    @Test
    void layerNormNormalisesTheLastAxis() {
        int d = 6;
        float eps = 1e-5f;
        try (LayerNorm l = randomized(new LayerNorm(be, d, eps, true), 8); LayerNorm plain = new LayerNorm(be, d, eps, false)) {
            Tensor x = normal(be, 9, 3f, 2, 3, d);
            float[] xs = x.toFloatArray();
            float[] gamma = v(l.weight());
            float[] beta = v(l.bias());
            double[] y = new double[xs.length];
            double[] yPlain = new double[xs.length];
            for (int r = 0; r < xs.length / d; r++) {
                double mean = 0;
                for (int i = 0; i < d; i++) {
                    mean += xs[r * d + i];
                }
                mean /= d;
                double var = 0;
                for (int i = 0; i < d; i++) {
                    var += (xs[r * d + i] - mean) * (xs[r * d + i] - mean);
                }
                var /= d;
                for (int i = 0; i < d; i++) {
                    yPlain[r * d + i] = (xs[r * d + i] - mean) / Math.sqrt(var + eps);
                    y[r * d + i] = yPlain[r * d + i] * gamma[i] + beta[i];
                }
            }
            tol.assertClose("layer norm", x.shape(), floats(y), l.forward(x).toFloatArray());
            tol.assertClose("layer norm without affine", x.shape(), floats(yPlain), plain.forward(x).toFloatArray());
        }
    }

    @Test
    void embeddingGathersRows() {
        try (Embedding e = new Embedding(be, 5, 3)) {
            e.initialize(10);
            float[] w = v(e.weight());
            long[] ids = {4, 0, 2, 2};
            float[] expected = new float[ids.length * 3];
            for (int i = 0; i < ids.length; i++) {
                System.arraycopy(w, (int) ids[i] * 3, expected, i * 3, 3);
            }
            Tolerance.EXACT.assertClose("embedding", Shape.of(2, 2, 3), expected,
                    e.forward(be.fromArray(ids, Shape.of(2, 2))).toFloatArray());
            Tolerance.EXACT.assertClose("embedding int32 ids", Shape.of(4, 3), expected,
                    e.forward(be.fromArray(new int[] {4, 0, 2, 2}, Shape.of(4))).toFloatArray());
        }
    }

    /** a ⊙ GELU(g) for the two halves of each row of {@code h} [rows, 2f]. */
    private static double[] geglu(double[] h, int rows, int f) {
        double[] y = new double[rows * f];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < f; i++) {
                double a = h[r * 2 * f + i];
                double g = h[r * 2 * f + f + i];
                y[r * f + i] = a * UnaryOp.GELU.apply(g);
            }
        }
        return y;
    }

    @Test
    void gegluGatesTheFirstHalfWithGeluOfTheSecond() {
        try (GEGLU g = new GEGLU(be, 5, 3)) {
            g.initialize(11);
            Tensor x = normal(be, 12, 1f, 2, 2, 5);
            double[] h = linear(doubles(x.toFloatArray()), 4, 5, v(g.proj().weight()), v(g.proj().bias()), 6);
            tol.assertClose("geglu", Shape.of(2, 2, 3), floats(geglu(h, 4, 3)), g.forward(x).toFloatArray());
        }
    }

    @Test
    void feedForwardIsGegluThenLinear() {
        try (FeedForward ff = new FeedForward(be, 4, 2, 3)) {
            ff.initialize(13);
            Tensor x = normal(be, 14, 1f, 2, 3, 4);
            Linear proj = ff.geglu().proj();
            double[] h = linear(doubles(x.toFloatArray()), 6, 4, v(proj.weight()), v(proj.bias()), 16);
            double[] y = linear(geglu(h, 6, 8), 6, 8, v(ff.out().weight()), v(ff.out().bias()), 3);
            tol.assertClose("feed forward", Shape.of(2, 3, 3), floats(y), ff.forward(x).toFloatArray());
        }
    }

    /**
     * Multi-head attention written per head: scores_ij = scale·q_i·k_j + mask_j, p = softmax_j, o_i = Σ_j p_ij v_j,
     * heads concatenated, then to_out.0. {@code mask} is [B, M] or null.
     */
    private static double[] attention(Attention a, float[] hidden, float[] context, float[] mask, int b, int n, int m) {
        int c = a.queryDim();
        int cc = a.crossAttentionDim();
        int heads = a.heads();
        int d = a.dimHead();
        int inner = heads * d;
        Linear tq = a.toQ();
        Linear tk = a.toK();
        Linear tv = a.toV();
        Linear to = a.toOut();
        double[] q = linear(doubles(hidden), b * n, c, v(tq.weight()), tq.bias() == null ? null : v(tq.bias()), inner);
        double[] k = linear(doubles(context), b * m, cc, v(tk.weight()), tk.bias() == null ? null : v(tk.bias()), inner);
        double[] vv = linear(doubles(context), b * m, cc, v(tv.weight()), tv.bias() == null ? null : v(tv.bias()), inner);
        double scale = 1 / Math.sqrt(d);
        double[] o = new double[b * n * inner];
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < n; i++) {
                    double[] s = new double[m];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < m; j++) {
                        double dot = 0;
                        for (int t = 0; t < d; t++) {
                            dot += q[(bi * n + i) * inner + h * d + t] * k[(bi * m + j) * inner + h * d + t];
                        }
                        s[j] = scale * dot + (mask == null ? 0 : mask[bi * m + j]);
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j < m; j++) {
                        s[j] = Math.exp(s[j] - max);
                        z += s[j];
                    }
                    for (int t = 0; t < d; t++) {
                        double acc = 0;
                        for (int j = 0; j < m; j++) {
                            acc += s[j] / z * vv[(bi * m + j) * inner + h * d + t];
                        }
                        o[(bi * n + i) * inner + h * d + t] = acc;
                    }
                }
            }
        }
        return linear(o, b * n, inner, v(to.weight()), to.bias() == null ? null : v(to.bias()), c);
    }

    @Test
    void crossAttentionMatchesPerHeadLoops() {
        try (Attention a = new Attention(be, 8, 6, 2, 3)) {
            a.initialize(15);
            Tensor h = normal(be, 16, 1f, 2, 3, 8);
            Tensor ctx = normal(be, 17, 1f, 2, 4, 6);
            double[] expected = attention(a, h.toFloatArray(), ctx.toFloatArray(), null, 2, 3, 4);
            tol.assertClose("cross attention", Shape.of(2, 3, 8), floats(expected), a.forward(h, ctx, null).toFloatArray());
        }
    }

    @Test
    void maskedCrossAttentionWithBiasesMatchesPerHeadLoops() {
        try (Attention a = new Attention(be, 8, 6, 2, 3, true, true)) {
            a.initialize(18);
            Tensor h = normal(be, 19, 1f, 2, 3, 8);
            Tensor ctx = normal(be, 20, 1f, 2, 4, 6);
            Tensor mask = NnTesting.crossMask(be); // [2, 1, 1, 4]
            double[] expected = attention(a, h.toFloatArray(), ctx.toFloatArray(), mask.toFloatArray(), 2, 3, 4);
            tol.assertClose("masked cross attention", Shape.of(2, 3, 8), floats(expected),
                    a.forward(h, ctx, mask).toFloatArray());
        }
    }

    @Test
    void selfAttentionMatchesPerHeadLoops() {
        try (Attention a = new Attention(be, 6, null, 3, 2)) {
            a.initialize(21);
            Tensor h = normal(be, 22, 1f, 2, 5, 6);
            double[] expected = attention(a, h.toFloatArray(), h.toFloatArray(), null, 2, 5, 5);
            tol.assertClose("self attention", Shape.of(2, 5, 6), floats(expected), a.forward(h).toFloatArray());
        }
    }
}
