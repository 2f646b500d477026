package dev.perfusion.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Gradients through the frozen text encoder into extra (placeholder) embedding rows, as Perfusion trains its
 * concept embedding: the golden tiny encoder on the reference backend, short sequences, and the loss
 * L = Σ w ⊙ last_hidden_state with fixed random w.
 */
@Tag("unit")
class CLIPTextEmbeddingGradTest {
    private static final int VOCAB = 49408;
    /** Two short prompts using placeholder ids V and V+1; row V+2 of the extra table is never used. */
    private static final long[] IDS = {
        49406, 320, VOCAB, 1125, 49407, 49407,
        49406, VOCAB + 1, 539, VOCAB, 49407, 49407};
    private static final Shape IDS_SHAPE = Shape.of(2, 6);
    private static final int EXTRA = 3;
    private static final int D = 24;

    private static Backend be;
    private static CLIPTextModel model;
    private TensorScope scope;

    @BeforeAll
    static void loadModel() throws Exception {
        be = new ReferenceBackend();
        model = CLIPTextModel.load(CLIPTextGoldens.MODEL_DIR, be);
    }

    @AfterAll
    static void closeModel() {
        model.close();
    }

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    /** Seeded extra rows at the scale of the token embeddings (|W| ≲ 0.1), a leaf requiring grad. */
    private static Tensor extraRows() {
        float[] v = HostRandom.normal(4242, EXTRA * D);
        for (int i = 0; i < v.length; i++) {
            v[i] *= 0.05f;
        }
        return be.fromArray(v, Shape.of(EXTRA, D)).requiresGrad(true);
    }

    private static float[] lossWeights() {
        return HostRandom.normal(99, 2 * 6 * D);
    }

    /** L = Σ w ⊙ last_hidden_state, tracked. */
    private static Tensor loss(Tensor tokens, Tensor ids, float[] w) {
        CLIPTextOutput out = model.forwardEmbeds(tokens, ids);
        Tensor wt = be.fromArray(w, out.lastHiddenState().shape());               // [2, 6, 24]
        Tensor prod = Ops.mul(out.lastHiddenState(), wt);                          // [2, 6, 24]
        return Ops.sum(prod, new int[0], false);                                   // []
    }

    /** L in double from float32 outputs, untracked, with the given extra-row values. */
    private static double lossValue(float[] extra, float[] w) throws Exception {
        try (TensorScope s = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Tensor ids = be.fromArray(IDS, IDS_SHAPE);
            Tensor rows = be.fromArray(extra, Shape.of(EXTRA, D));
            try (CLIPTextOutput out = model.forwardEmbeds(model.embed(ids, rows), ids)) {
                float[] y = out.lastHiddenState().toFloatArray();
                double l = 0;
                for (int i = 0; i < y.length; i++) {
                    l += (double) y[i] * w[i];
                }
                return l;
            }
        }
    }

    @Test
    void gradientReachesTheExtraRowsAndMatchesFiniteDifferences() throws Exception {
        Tensor ids = be.fromArray(IDS, IDS_SHAPE);
        Tensor extra = extraRows();
        float[] w = lossWeights();
        Tensor tokens = model.embed(ids, extra); // [2, 6, 24]
        loss(tokens, ids, w).backward();

        assertFalse(model.tokenEmbedding().weight().requiresGrad(), "the vocabulary table stays frozen");
        assertNull(model.tokenEmbedding().weight().grad(), "no gradient may reach the frozen vocabulary table");
        for (var p : model.namedParameters().entrySet()) {
            assertNull(p.getValue().grad(), p.getKey() + " is frozen but got a gradient");
        }
        Tensor g = extra.grad();
        assertNotNull(g, "the extra rows got no gradient");
        assertEquals(Shape.of(EXTRA, D), g.shape());
        float[] grad = g.toFloatArray();
        for (int j = 0; j < D; j++) {
            assertEquals(0f, grad[2 * D + j], "row V+2 appears in no prompt, so its gradient is zero");
        }

        // Central differences on a few elements of rows 0 and 1. The reference backend accumulates in double but
        // stores float32, so L carries ~1e-6 of rounding noise, ~1e-3 in the quotient with h = 1e-3; the O(h²)
        // truncation error is smaller. Hence atol 2e-3 and rtol 2e-3 (observed: at most 1.3e-3 on gradients of
        // 1 to 35); a wrong gradient (a missed row, a dropped mask) is off by far more.
        float[] base = extra.toFloatArray();
        double h = 1e-3;
        int checked = 0;
        for (int e : new int[] {0, 5, 13, 23, D, D + 7, D + 16, D + 23}) {
            float[] plus = base.clone();
            float[] minus = base.clone();
            plus[e] += (float) h;
            minus[e] -= (float) h;
            double hp = plus[e] - base[e];   // the steps actually taken after float32 rounding
            double hm = base[e] - minus[e];
            double numeric = (lossValue(plus, w) - lossValue(minus, w)) / (hp + hm);
            double analytic = grad[e];
            System.out.printf("extra row %d, element %2d: analytic %.6g, numeric %.6g%n", e / D, e % D, analytic,
                    numeric);
            if (!(Math.abs(analytic - numeric) <= 2e-3 + 2e-3 * Math.abs(numeric))) {
                throw new AssertionError(String.format("dL/dE[%d, %d]: analytic %.6g, numeric %.6g", e / D, e % D,
                        analytic, numeric));
            }
            checked++;
        }
        assertEquals(8, checked);
    }

    @Test
    void equalsAnEmbeddingLookupInTheConcatenatedTable() {
        Tensor ids = be.fromArray(IDS, IDS_SHAPE);
        float[] w = lossWeights();

        Tensor extraA = extraRows();
        Tensor tokensA = model.embed(ids, extraA); // [2, 6, 24]
        Tensor extraB = extraRows();
        Tensor table = Ops.concat(List.of(model.tokenEmbedding().weight().value(), extraB), 0); // [V+3, 24]
        Tensor tokensB = Ops.embedding(table, ids);                                            // [2, 6, 24]
        Tolerance.EXACT.assertClose("embed(ids, extra) vs embedding(concat(W, E), ids)", tokensB, tokensA);

        loss(tokensA, ids, w).backward();
        loss(tokensB, ids, w).backward();
        Tolerance.EXACT.assertClose("dL/dE, masked gathers vs concatenated table", extraB.grad(), extraA.grad());
    }

    @Test
    void withoutExtraRowsTheVocabularyLookupIsUsed() {
        long[] ids = {49406, 320, 1125, 49407};
        Tensor t = be.fromArray(ids, Shape.of(1, 4));
        Tensor plain = model.embed(t);                                          // [1, 4, 24]
        Tensor withExtra = model.embed(t, extraRows());                         // [1, 4, 24]
        Tensor direct = Ops.embedding(model.tokenEmbedding().weight().value(), t); // [1, 4, 24]
        Tolerance.EXACT.assertClose("embed(ids)", direct, plain);
        Tolerance.EXACT.assertClose("embed(ids, unused extra rows)", direct, withExtra);
    }
}
