package dev.perfusion.backend.reference;

import static dev.perfusion.backend.reference.TestData.dot;

import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.tensor.UnaryOp;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every backward op of the reference backend against central finite differences of its forward.
 *
 * <p>Method: a scalar loss L(x) = Σ w·f(x) with fixed random weights w, so dL/dy = w and the analytic gradient is
 * the backward op applied to dy = w. The numeric gradient is (L(x + h) − L(x − h)) / 2h per input element, with L
 * summed in double from the float outputs of the forward.
 *
 * <p>Tolerance: the forward values are float32 (relative rounding ~6e-8), so L carries an error of ~1e-7 for these
 * sizes, which the division by 2h = 0.02 turns into ~1e-5; the O(h²) truncation error of central differences is
 * ~1e-4 for the smooth ops here. Hence atol 1e-3, rtol 1e-2: loose enough for that noise, tight enough that a wrong
 * term (a missing mean, a transposed index, a wrong factor) fails by orders of magnitude.
 */
@Tag("unit")
class ReferenceGradientTest {
    private static final double H = 1e-2;
    private static final Tolerance GRAD = new Tolerance(1e-3, 1e-2);

    private final ReferenceBackend be = new ReferenceBackend();

    // ------------------------------------------------------------------ conv2d

    @ParameterizedTest(name = "x [{0},{1},{2},{3}] w [{4},{1},{5},{6}] stride {7} padding {8}")
    @CsvSource({
        "1, 2, 5, 5, 3, 3, 3, 1, 0",
        "1, 2, 5, 5, 3, 3, 3, 1, 1",
        "2, 3, 5, 7, 2, 3, 3, 2, 1",
        "1, 2, 7, 6, 3, 2, 3, 2, 0",
        "1, 1, 6, 5, 2, 3, 1, 3, 1",
    })
    void conv2d(int n, int c, int h, int w, int o, int kh, int kw, int stride, int pad) {
        Shape xs = Shape.of(n, c, h, w);
        Shape ws = Shape.of(o, c, kh, kw);
        float[] x = TestData.normal(1, xs);
        float[] wt = TestData.normal(2, ws);
        Tensor xT = be.fromArray(x, xs);
        Tensor wT = be.fromArray(wt, ws);
        Shape ys = be.conv2d(xT, wT, null, stride, pad).shape();
        float[] lossWeights = TestData.normal(3, ys);
        Tensor dy = be.fromArray(lossWeights, ys);

        float[] dx = be.conv2dBackwardInput(dy, wT, xs, stride, pad).toFloatArray();
        float[] dxNum = numeric(x, v -> dot(lossWeights, be.conv2d(be.fromArray(v, xs), wT, null, stride, pad)
                .toFloatArray()));
        GRAD.assertClose("conv2d dx", xs, dxNum, dx);

        float[] dw = be.conv2dBackwardWeight(dy, xT, ws, stride, pad).toFloatArray();
        float[] dwNum = numeric(wt, v -> dot(lossWeights, be.conv2d(xT, be.fromArray(v, ws), null, stride, pad)
                .toFloatArray()));
        GRAD.assertClose("conv2d dw", ws, dwNum, dw);
    }

    // ------------------------------------------------------------------ normalisations

    @ParameterizedTest(name = "x {0} in {1} groups")
    @CsvSource({"'2,4,3', 2", "'1,4,2,3', 4", "'3,6', 3", "'2,2,5', 1"})
    void groupNorm(String dims, int groups) {
        Shape xs = shape(dims);
        int c = xs.dim(1);
        float[] x = TestData.normal(4, xs);
        float[] gamma = TestData.uniform(5, Shape.of(c), 0.5f, 1.5f);
        float[] beta = TestData.normal(6, Shape.of(c));
        float eps = 1e-5f;
        float[] lossWeights = TestData.normal(7, xs);
        Tensor xT = be.fromArray(x, xs);
        Tensor gT = be.fromArray(gamma, Shape.of(c));
        Tensor bT = be.fromArray(beta, Shape.of(c));
        NormGrads g = be.groupNormBackward(xT, groups, gT, eps, be.fromArray(lossWeights, xs));

        Function<Tensor[], float[]> f = in -> be.groupNorm(in[0], groups, in[1], in[2], eps).toFloatArray();
        checkInputs("groupNorm", f, lossWeights, new Tensor[] {xT, gT, bT},
                new Tensor[] {g.dx(), g.dGamma(), g.dBeta()});

        NormGrads plain = be.groupNormBackward(xT, groups, null, eps, be.fromArray(lossWeights, xs));
        checkInputs("groupNorm without affine", in -> be.groupNorm(in[0], groups, null, null, eps).toFloatArray(),
                lossWeights, new Tensor[] {xT}, new Tensor[] {plain.dx()});
    }

    @Test
    void layerNorm() {
        Shape xs = Shape.of(2, 3, 5);
        float[] x = TestData.normal(8, xs);
        Tensor xT = be.fromArray(x, xs);
        Tensor gT = be.fromArray(TestData.uniform(9, Shape.of(5), 0.5f, 1.5f), Shape.of(5));
        Tensor bT = be.fromArray(TestData.normal(10, Shape.of(5)), Shape.of(5));
        float eps = 1e-5f;
        float[] lossWeights = TestData.normal(11, xs);
        NormGrads g = be.layerNormBackward(xT, gT, eps, be.fromArray(lossWeights, xs));
        checkInputs("layerNorm", in -> be.layerNorm(in[0], in[1], in[2], eps).toFloatArray(), lossWeights,
                new Tensor[] {xT, gT, bT}, new Tensor[] {g.dx(), g.dGamma(), g.dBeta()});

        NormGrads plain = be.layerNormBackward(xT, null, eps, be.fromArray(lossWeights, xs));
        checkInputs("layerNorm without affine", in -> be.layerNorm(in[0], null, null, eps).toFloatArray(),
                lossWeights, new Tensor[] {xT}, new Tensor[] {plain.dx()});
    }

    @Test
    void softmax() {
        Shape xs = Shape.of(3, 5);
        Tensor xT = be.fromArray(TestData.normal(12, xs), xs);
        float[] lossWeights = TestData.normal(13, xs);
        Tensor dx = be.softmaxBackward(be.softmax(xT), be.fromArray(lossWeights, xs));
        checkInputs("softmax", in -> be.softmax(in[0]).toFloatArray(), lossWeights, new Tensor[] {xT},
                new Tensor[] {dx});
    }

    // ------------------------------------------------------------------ attention and GEGLU

    @Test
    void attention() {
        attentionCase("attention", Shape.of(2, 3, 4), Shape.of(2, 5, 4), 6, null, false);
    }

    @Test
    void causalAttention() {
        attentionCase("causal attention", Shape.of(2, 4, 3), Shape.of(2, 4, 3), 2, null, true);
        attentionCase("causal attention Lq < Lk", Shape.of(1, 2, 3, 2), Shape.of(1, 2, 5, 2), 3, null, true);
    }

    @Test
    void maskedAttention() {
        float[] m = TestData.normal(14, Shape.of(3, 5));
        m[4] = Float.NEGATIVE_INFINITY; // query 0 ignores key 4: no gradient may flow through it
        Tensor mask = be.fromArray(m, Shape.of(3, 5));
        attentionCase("masked attention", Shape.of(2, 3, 4), Shape.of(2, 5, 4), 3, mask, false);
        attentionCase("masked causal attention", Shape.of(2, 3, 4), Shape.of(2, 5, 4), 3, mask, true);
    }

    private void attentionCase(String what, Shape qs, Shape ks, int dv, Tensor mask, boolean causal) {
        float scale = (float) (1 / Math.sqrt(qs.dim(-1)));
        Tensor q = be.fromArray(TestData.normal(15, qs), qs);
        Tensor k = be.fromArray(TestData.normal(16, ks), ks);
        Shape vs = ks.with(-1, dv);
        Tensor v = be.fromArray(TestData.normal(17, vs), vs);
        Shape ys = qs.with(-1, dv);
        float[] lossWeights = TestData.normal(18, ys);
        AttentionGrads g = be.attentionBackward(q, k, v, mask, causal, scale, be.fromArray(lossWeights, ys));
        checkInputs(what, in -> be.attention(in[0], in[1], in[2], mask, causal, scale).toFloatArray(), lossWeights,
                new Tensor[] {q, k, v}, new Tensor[] {g.dq(), g.dk(), g.dv()});
    }

    @Test
    void geglu() {
        Shape xs = Shape.of(2, 3, 6);
        Tensor x = be.fromArray(TestData.normal(19, xs), xs);
        float[] lossWeights = TestData.normal(20, Shape.of(2, 3, 3));
        Tensor dx = be.gegluBackward(x, be.fromArray(lossWeights, Shape.of(2, 3, 3)));
        checkInputs("geglu", in -> be.geglu(in[0]).toFloatArray(), lossWeights, new Tensor[] {x}, new Tensor[] {dx});
    }

    // ------------------------------------------------------------------ upsampling, embedding, elementwise

    @Test
    void upsampleNearest2x() {
        Shape xs = Shape.of(1, 2, 3, 2);
        Tensor x = be.fromArray(TestData.normal(21, xs), xs);
        Shape ys = Shape.of(1, 2, 6, 4);
        float[] lossWeights = TestData.normal(22, ys);
        Tensor dx = be.upsampleNearest2xBackward(be.fromArray(lossWeights, ys));
        checkInputs("upsample", in -> be.upsampleNearest2x(in[0]).toFloatArray(), lossWeights, new Tensor[] {x},
                new Tensor[] {dx});
    }

    @Test
    void embedding() {
        Shape ws = Shape.of(5, 3);
        Tensor w = be.fromArray(TestData.normal(23, ws), ws);
        Tensor ids = be.fromArray(new long[] {4, 1, 4, 0, 1, 4}, Shape.of(2, 3)); // repeats accumulate; row 2 unused
        float[] lossWeights = TestData.normal(24, Shape.of(2, 3, 3));
        Tensor dw = be.embeddingBackward(be.fromArray(lossWeights, Shape.of(2, 3, 3)), ids, 5);
        checkInputs("embedding", in -> be.embedding(in[0], ids).toFloatArray(), lossWeights, new Tensor[] {w},
                new Tensor[] {dw});
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unary(UnaryOp op) {
        // log, √ and 1/√ need x > 0; the rest are checked across zero
        boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT;
        Shape xs = Shape.of(2, 5);
        Tensor x = be.fromArray(TestData.uniform(25, xs, positive ? 0.5f : -2f, 2f), xs);
        float[] lossWeights = TestData.normal(26, xs);
        Tensor dx = be.unaryBackward(op, x, be.fromArray(lossWeights, xs));
        checkInputs("unary " + op, in -> be.unary(op, in[0]).toFloatArray(), lossWeights, new Tensor[] {x},
                new Tensor[] {dx});
    }

    // ------------------------------------------------------------------ helpers

    /**
     * For each input i, compares {@code analytic[i]} with the numeric gradient of L = Σ w·f(inputs) with respect to
     * that input, the others held fixed.
     */
    private void checkInputs(String what, Function<Tensor[], float[]> f, float[] lossWeights, Tensor[] inputs,
                             Tensor[] analytic) {
        for (int i = 0; i < inputs.length; i++) {
            int which = i;
            Shape s = inputs[i].shape();
            float[] num = numeric(inputs[i].toFloatArray(), v -> {
                Tensor[] in = inputs.clone();
                in[which] = be.fromArray(v, s);
                return dot(lossWeights, f.apply(in));
            });
            GRAD.assertClose(what + " d(input " + i + ")", s, num, analytic[i].toFloatArray());
        }
    }

    /** Central differences of {@code loss} at {@code x}, one element at a time. */
    private static float[] numeric(float[] x, ToDoubleFunction<float[]> loss) {
        float[] grad = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            float[] plus = x.clone();
            float[] minus = x.clone();
            plus[i] = (float) (x[i] + H);
            minus[i] = (float) (x[i] - H);
            // divide by the step actually taken: x ± h was rounded to float
            grad[i] = (float) ((loss.applyAsDouble(plus) - loss.applyAsDouble(minus)) / ((double) plus[i] - minus[i]));
        }
        return grad;
    }

    private static Shape shape(String csv) {
        String[] parts = csv.split(",");
        int[] dims = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            dims[i] = Integer.parseInt(parts[i].trim());
        }
        return Shape.of(dims);
    }
}
