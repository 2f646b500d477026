package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.unet.CrossAttentionLayer;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * {@link ConceptPrompts} on the tiny model, at the attention level. The exact property of the edit (method §1.6,
 * KeyLockedEdit (4)) for one concept, per token e of every prompt and every edited projection W with target o*:
 * <pre>
 *   h(e) − W e = g(e)·o* − s(e)·W i*        (Pe = s(e)·i* for n = 1)
 * </pre>
 * so the edited K/V rows differ from the unedited projection by the released target only where the gate opens,
 * and by the projection term −s(e)·W i* wherever s ≠ 0 (almost every token: the edit is not the identity even on
 * tokens unrelated to the concept). With a closed gate (g = 0 exactly in float32) only the projection term is left.
 */
@Tag("unit")
class ConceptPromptsTest {
    private final SampleFixture fx = SampleFixture.get();

    @Test
    void placeholdersGetIdsAfterTheVocabularyInOrder() {
        CLIPTokenizer fresh = CLIPTokenizer.fromFolder(SampleFixture.MODEL.resolve("tokenizer"));
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        Concept kitty = fx.concept("<kitty>", "cat", 21, 0.5f);
        try (ConceptPrompts cp = ConceptPrompts.register(fresh, fx.pipeline.textEncoder(), fx.pipeline.backend(),
                List.of(teddy, kitty))) {
            assertEquals(fresh.vocabSize(), cp.tokenId(0));
            assertEquals(fresh.vocabSize() + 1, cp.tokenId(1));
            assertEquals(Shape.of(2, fx.dim), cp.extraRows().shape());
            int[] ids = fresh.encode("a <kitty> and a <teddy>");
            assertEquals(cp.tokenId(1), ids[2]);
            assertEquals(cp.tokenId(0), ids[5]);
            assertEquals("a teddy and a cat", cp.superPrompt("a teddy and a cat"));
            assertEquals("a cat and a teddy", cp.superPrompt("a <kitty> and a <teddy>"));
        }
    }

    @Test
    void promptsWithoutPlaceholdersEncodeAsThePipelineDoes() {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        try (TensorScope s = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             ConceptPrompts cp = ConceptPrompts.register(fx.pipeline, List.of(teddy))) {
            List<String> prompts = List.of("", "a photo of a dog");
            Tensor mine = cp.encode(prompts);                       // [2, 77, D]
            Tensor plain = fx.pipeline.encodePrompts(prompts);      // [2, 77, D]
            Tolerance.FLOAT32.assertClose("placeholder-free prompt encoding", plain, mine);
            // the placeholder is embedded with v*: its encoding differs from the super-class word's
            Tensor with = cp.encode(List.of("a photo of a <teddy>"));
            Tensor word = fx.pipeline.encodePrompts(List.of("a photo of a teddy"));
            assertTrue(maxAbsDiff(with.toFloatArray(), word.toFloatArray()) > 1e-4);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void editedKeysAndValuesDifferByTheGatedTargetAndTheProjectionTerm() throws Exception {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        check(teddy, null, 0.5);   // default β 0.7, τ 0.15: the gate opens at the placeholder
        check(teddy, 1e4f, 0.0);   // β = 10⁴: g = σ(−6.7·10⁴) = 0 exactly everywhere
    }

    private void check(Concept teddy, Float beta, double minOpenGate) throws Exception {
        Backend be = fx.pipeline.backend();
        List<String> batch = List.of("", "a photo of a <teddy>"); // the CFG batch [uncond, text]
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             ConceptPrompts cp = ConceptPrompts.register(fx.pipeline, List.of(teddy));
             KeyLockedEdit edit = KeyLockedEdit.forConcepts(be, fx.cInv.cInv(), List.of(teddy), beta, null)) {
            Tensor text = cp.encode(batch);                                                   // [2, 77, D]
            try (EditContext ctx = cp.context(edit, batch, text, KeyLocking.LOCAL)) {
                float[] g = ctx.values().gates().toFloatArray();                              // [2·77]
                float[] s = ctx.values().scores().toFloatArray();                             // [2·77]
                assertTrue(g[77 + 5] >= minOpenGate, "gate at the placeholder " + g[77 + 5]);
                if (beta != null) {
                    for (float v : g) {
                        assertEquals(0f, v, "a closed gate is exactly 0");
                    }
                }
                double worst = 0;
                List<CrossAttentionLayer> layers = fx.pipeline.unet().crossAttentionLayers();
                for (int l = 0; l < layers.size(); l++) {
                    CrossAttentionLayer layer = layers.get(l);
                    worst = Math.max(worst, checkProjection(layer.attention().toK().weight().value(), teddy.keys(l),
                            teddy.iStar(), ctx, text, g, s, be));
                    worst = Math.max(worst, checkProjection(layer.attention().toV().weight().value(), teddy.values(l),
                            teddy.iStar(), ctx, text, g, s, be));
                }
                System.out.printf("K/V − W·e vs g·o* − s·W·i* (β %s): max error relative to max |W·e| %.3g%n",
                        beta, worst);
            }
        }
    }

    /** Returns max |(h − We) − (g·o* − s·W i*)| / max |We| over the batch. */
    private double checkProjection(Tensor w, float[] target, float[] iStar, EditContext ctx, Tensor text, float[] g,
                                   float[] s, Backend be) {
        int d = w.dim(0);
        int dimD = w.dim(1);
        Tensor targets = be.fromArray(target, Shape.of(1, d));                                 // [1, d]
        Tensor edited = KeyLockedEdit.project(ctx.keys().orthogonal(), w, null, ctx.keys().gates(), targets); // [2, 77, d]
        Tensor plain = Ops.linear(text, w, null);                                              // [2, 77, d]
        float[] h = edited.toFloatArray();
        float[] p = plain.toFloatArray();
        float[] wf = w.toFloatArray();
        double[] wi = new double[d];
        for (int r = 0; r < d; r++) {
            for (int c = 0; c < dimD; c++) {
                wi[r] += (double) wf[r * dimD + c] * iStar[c];
            }
        }
        double scale = 0;
        for (float v : p) {
            scale = Math.max(scale, Math.abs(v));
        }
        double worst = 0;
        for (int t = 0; t < 2 * 77; t++) {
            for (int r = 0; r < d; r++) {
                double expected = g[t] * (double) target[r] - s[t] * wi[r];
                double got = (double) h[t * d + r] - p[t * d + r];
                worst = Math.max(worst, Math.abs(got - expected));
            }
        }
        assertTrue(worst <= 1e-4 * scale, "edit − plain vs g·o* − s·W i*: " + worst + " (scale " + scale + ")");
        return worst / scale;
    }

    @Test
    void globalLockingTakesKeysFromTheSuperClassPrompt() throws Exception {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        Backend be = fx.pipeline.backend();
        List<String> batch = List.of("", "a photo of a <teddy>");
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             ConceptPrompts cp = ConceptPrompts.register(fx.pipeline, List.of(teddy));
             KeyLockedEdit edit = KeyLockedEdit.forConcepts(be, fx.cInv.cInv(), List.of(teddy), null, null)) {
            Tensor text = cp.encode(batch);
            Tensor superText = fx.pipeline.encodePrompts(List.of("", "a photo of a teddy"));
            try (EditContext global = cp.context(edit, batch, text, KeyLocking.GLOBAL);
                 PerfusionEncoding keys = edit.encode(superText);
                 PerfusionEncoding values = edit.encode(text)) {
                assertEquals(KeyLocking.GLOBAL, global.locking());
                Tolerance.FLOAT32.assertClose("global keys' e − Pe", keys.orthogonal(), global.keys().orthogonal());
                Tolerance.FLOAT32.assertClose("global keys' gates", keys.gates(), global.keys().gates());
                Tolerance.FLOAT32.assertClose("values' e − Pe", values.orthogonal(), global.values().orthogonal());
            }
        }
    }

    @Test
    void twoConceptsGetOneGateColumnEach() throws Exception {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        Concept kitty = fx.concept("<kitty>", "cat", 21, 0.5f);
        List<String> batch = List.of("", "a <teddy> next to a <kitty>");
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             ConceptPrompts cp = ConceptPrompts.register(fx.pipeline, List.of(teddy, kitty));
             KeyLockedEdit edit = KeyLockedEdit.forConcepts(fx.pipeline.backend(), fx.cInv.cInv(),
                     List.of(teddy, kitty), null, null)) {
            Tensor text = cp.encode(batch);
            try (EditContext ctx = cp.context(edit, batch, text, KeyLocking.LOCAL)) {
                assertEquals(Shape.of(2, 77, 2), ctx.values().gates().shape());
            }
        }
    }

    @Test
    void badConceptsAndPromptsAreRejected() {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        Concept teddy2 = fx.concept("<teddy>", "teddy", 12, 0.5f);
        IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
                () -> ConceptPrompts.register(fx.pipeline, List.of(teddy, teddy2)));
        assertTrue(dup.getMessage().contains("two concepts use the placeholder <teddy>"), dup.getMessage());

        Concept word = fx.concept("teddy", "teddy", 13, 0.5f);
        IllegalArgumentException vocab = assertThrows(IllegalArgumentException.class,
                () -> ConceptPrompts.register(fx.pipeline, List.of(word)));
        assertTrue(vocab.getMessage().contains("already a CLIP vocabulary word"), vocab.getMessage());

        try (ConceptPrompts cp = ConceptPrompts.register(fx.pipeline, List.of(teddy))) {
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                    () -> cp.checkPrompt("a <teddy> and a <dog2>"));
            assertTrue(unknown.getMessage().contains("<dog2>"), unknown.getMessage());
            cp.checkPrompt("a <teddy> at 3 < 4 > 2 <|endoftext|>"); // not placeholders
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
