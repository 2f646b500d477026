package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.Perfusion;
import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.nn.Attention;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.unet.CrossAttentionLayer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ablation modes ({@link TrainMode}) in concept files and at sampling: each mode round-trips, old files read as
 * PERFUSION, NO_KEY_LOCKING's K edit uses the learned key targets, EMBEDDING_ONLY installs nothing (sampling is the
 * base model with the extra embedding row) and prompts mixing modes edit with the editing concepts only.
 */
@Tag("unit")
class TrainModeConceptTest {
    @TempDir
    Path dir;

    private static final List<ConceptLayer> LAYERS = List.of(new ConceptLayer("a.attn2", 4), new ConceptLayer("b.attn2", 2));

    private static Concept noKeyLocking(Concept c, long seed) {
        float[] learned = c.keys().clone();
        float[] noise = HostRandom.normal(seed, learned.length);
        for (int i = 0; i < learned.length; i++) {
            learned[i] += 0.5f * noise[i];
        }
        return new Concept(c.placeholder(), c.superclass(), c.embedding(), c.iStar(), c.keys(), c.values(), c.beta(),
                c.tau(), c.layers(), c.baseModel(), c.covariance(), c.training(), TrainMode.NO_KEY_LOCKING, learned);
    }

    private static Concept small(String placeholder) {
        return new Concept(placeholder, "cat", HostRandom.normal(1, 3), HostRandom.normal(2, 3), HostRandom.normal(3, 6),
                HostRandom.normal(4, 6), 0.7f, 0.15f, LAYERS, "sha256:aa", "sha256:bb", "{\"mode\":\"x\"}");
    }

    @Test
    void everyModeRoundTripsThroughItsFile() throws Exception {
        Concept perfusion = small("<p>");
        Concept nkl = noKeyLocking(small("<n>"), 9);
        Concept ti = Concept.embeddingOnly("<t>", "cat", HostRandom.normal(5, 3), HostRandom.normal(6, 3), "sha256:aa",
                "sha256:bb", "{}");
        Map<Concept, List<String>> tensors = new LinkedHashMap<>();
        tensors.put(perfusion, List.of("embedding", "i_star", "keys", "values"));
        tensors.put(nkl, List.of("embedding", "i_star", "keys", "learned_keys", "values"));
        tensors.put(ti, List.of("embedding", "i_star"));
        for (Map.Entry<Concept, List<String>> e : tensors.entrySet()) {
            Concept c = e.getKey();
            Path f = dir.resolve(c.mode() + ".perfusion");
            ConceptFile.write(f, c);
            try (SafeTensors st = SafeTensors.open(f)) {
                assertEquals(e.getValue(), st.names().stream().sorted().toList(), c.mode().name());
                assertEquals(c.mode().name(), st.metadata().get("mode"));
                assertEquals("1", st.metadata().get("format_version"));
            }
            Concept r = ConceptFile.read(f);
            assertEquals(c.mode(), r.mode());
            assertEquals(c.placeholder(), r.placeholder());
            assertArrayEquals(c.embedding(), r.embedding());
            assertArrayEquals(c.iStar(), r.iStar());
            assertArrayEquals(c.keys(), r.keys());
            assertArrayEquals(c.values(), r.values());
            assertArrayEquals(c.learnedKeys(), r.learnedKeys());
            assertArrayEquals(c.keyTargets(), r.keyTargets());
            assertEquals(c.layers(), r.layers());
            assertEquals(c.training(), r.training());
        }
        assertArrayEquals(nkl.learnedKeys(), nkl.keyTargets(), "without key-locking the edit uses the learned keys");
        assertArrayEquals(perfusion.keys(), perfusion.keyTargets());
        assertNull(perfusion.learnedKeys());
        assertEquals(List.of(), ti.layers());
        // an embedding-only concept fits any UNet: it edits none of its layers
        ConceptFile.check(ti, new ConceptFile.Requirements(LAYERS, 3, "sha256:aa", "sha256:bb", null, false));
    }

    @Test
    void filesWithoutAModeArePerfusionAndBadModesAreRefused() throws Exception {
        Backend be = new ReferenceBackend();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "perfusion-concept");
        meta.put("format_version", "1");
        meta.put("placeholder", "<x>");
        meta.put("superclass", "cat");
        meta.put("beta", "0.7");
        meta.put("tau", "0.15");
        meta.put("layers", "[{\"path\":\"a.attn2\",\"width\":4},{\"path\":\"b.attn2\",\"width\":2}]");
        Path old = write(be, "old", meta, false);
        Concept c = ConceptFile.read(old);
        assertEquals(TrainMode.PERFUSION, c.mode(), "a file from before modes is a Perfusion concept");
        assertNull(c.learnedKeys());

        Map<String, String> bad = new LinkedHashMap<>(meta);
        bad.put("mode", "DREAMBOOTH");
        assertMessage("unknown Perfusion training mode 'DREAMBOOTH'", () -> ConceptFile.read(write(be, "bad", bad, false)));
        Map<String, String> nkl = new LinkedHashMap<>(meta);
        nkl.put("mode", "NO_KEY_LOCKING");
        assertMessage("no tensor 'learned_keys'", () -> ConceptFile.read(write(be, "nkl", nkl, false)));
        assertEquals(TrainMode.NO_KEY_LOCKING, ConceptFile.read(write(be, "nkl2", nkl, true)).mode());
        Map<String, String> ti = new LinkedHashMap<>(meta);
        ti.put("mode", "EMBEDDING_ONLY");
        assertMessage("EMBEDDING_ONLY concept edits no layers", () -> ConceptFile.read(write(be, "ti", ti, false)));

        // in memory: learned keys belong to NO_KEY_LOCKING only and must have Σd floats
        Concept p = small("<p>");
        assertMessage("needs learned key targets", () -> new Concept("<p>", "cat", p.embedding(), p.iStar(), p.keys(),
                p.values(), 0.7f, 0.15f, LAYERS, "", "", "{}", TrainMode.NO_KEY_LOCKING, new float[5]));
        assertMessage("NO_KEY_LOCKING concepts only", () -> new Concept("<p>", "cat", p.embedding(), p.iStar(),
                p.keys(), p.values(), 0.7f, 0.15f, LAYERS, "", "", "{}", TrainMode.PERFUSION, new float[6]));
        assertEquals(TrainMode.NO_KEY_LOCKING, TrainMode.parse("no_key_locking"));
    }

    private Path write(Backend be, String name, Map<String, String> meta, boolean learned) throws Exception {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("embedding", be.fromArray(new float[3], Shape.of(3)));
        t.put("i_star", be.fromArray(new float[] {1, 0, 0}, Shape.of(3)));
        t.put("keys", be.fromArray(new float[6], Shape.of(6)));
        t.put("values", be.fromArray(new float[6], Shape.of(6)));
        if (learned) {
            t.put("learned_keys", be.fromArray(new float[6], Shape.of(6)));
        }
        Path f = dir.resolve(name + ".perfusion");
        SafeTensors.write(f, t, meta);
        return f;
    }

    /**
     * NO_KEY_LOCKING: the installed processors' key targets are exactly the learned ones, and K − W·e is
     * g·o*_K(learned) − s·W·i* (to float rounding, relative to max |W·e|, as the value check of
     * {@link ConceptPromptsTest}); the attention output equals that of a PERFUSION concept whose locked keys are
     * those learned keys (bit-identical), and differs from the concept with the super-class keys.
     */
    @Test
    void withoutKeyLockingTheKeysMoveByTheGatedLearnedTarget() throws Exception {
        SampleFixture fx = SampleFixture.get();
        Concept locked = fx.concept("<teddy>", "teddy", 11, 0.5f);
        Concept nkl = noKeyLocking(locked, 77);
        Concept twin = new Concept(locked.placeholder(), locked.superclass(), locked.embedding(), locked.iStar(),
                nkl.learnedKeys(), locked.values(), locked.beta(), locked.tau(), locked.layers(), locked.baseModel(),
                locked.covariance(), locked.training());
        Backend be = fx.pipeline.backend();
        List<String> batch = List.of("", "a photo of a <teddy>");
        List<CrossAttentionLayer> layers = fx.pipeline.unet().crossAttentionLayers();
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             ConceptPrompts cp = ConceptPrompts.register(fx.pipeline, List.of(nkl));
             KeyLockedEdit edit = KeyLockedEdit.forConcepts(be, fx.cInv.cInv(), List.of(nkl), null, null)) {
            Tensor text = cp.encode(batch);                                                   // [2, 77, D]
            Attention attn = layers.get(0).attention();
            int c = attn.toQ().weight().value().dim(1);
            Tensor hidden = be.fromArray(HostRandom.normal(5, 2 * 16 * c), Shape.of(2, 16, c)); // [2, 16, C]
            float[][] outs = new float[3][];
            int k = 0;
            for (Concept concept : List.of(nkl, twin, locked)) {
                try (EditContext ctx = cp.context(edit, batch, text, KeyLocking.LOCAL);
                     PerfusionInstallation inst = PerfusionInstallation.install(fx.pipeline.unet(), List.of(concept), ctx)) {
                    assertTrue(inst.installed());
                    if (concept == nkl) {
                        float[] g = ctx.keys().gates().toFloatArray();
                        float[] s = ctx.keys().scores().toFloatArray();
                        assertTrue(g[77 + 5] > 0.5, "the gate opens at the placeholder: " + g[77 + 5]);
                        for (int l = 0; l < layers.size(); l++) {
                            PerfusionAttnProcessor p = (PerfusionAttnProcessor) layers.get(l).attention().processor();
                            assertArrayEquals(nkl.keyTargets(l), p.keyTargets().toFloatArray(), "key targets " + l);
                            assertArrayEquals(nkl.values(l), p.valueTargets().toFloatArray(), "value targets " + l);
                            checkKeys(layers.get(l).attention().toK().weight().value(), p.keyTargets(), nkl.iStar(), ctx,
                                    text, g, s);
                        }
                    }
                    outs[k++] = attn.forward(hidden, text, null).toFloatArray();
                }
            }
            assertArrayEquals(outs[1], outs[0], "NO_KEY_LOCKING = the edit with the learned keys as o*_K");
            assertFalse(java.util.Arrays.equals(outs[2], outs[0]), "the learned keys change the attention");
        }
    }

    /** max |(K − W·e) − (g·o*_K − s·W·i*)| ≤ 1e-4 · max |W·e| over the batch. */
    private static void checkKeys(Tensor w, Tensor targets, float[] iStar, EditContext ctx, Tensor text, float[] g,
                                  float[] s) {
        int d = w.dim(0);
        int dimD = w.dim(1);
        float[] target = targets.toFloatArray();
        float[] h = KeyLockedEdit.project(ctx.keys().orthogonal(), w, null, ctx.keys().gates(), targets).toFloatArray();
        float[] p = Ops.linear(text, w, null).toFloatArray();
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
                worst = Math.max(worst, Math.abs((double) h[t * d + r] - p[t * d + r] - expected));
            }
        }
        assertTrue(worst <= 1e-4 * scale, "K − W·e vs g·o*_K − s·W·i*: " + worst + " (scale " + scale + ")");
    }

    /**
     * EMBEDDING_ONLY sampling is the base model with the concept's embedding row: bit-identical to the pipeline run
     * with the same prompt encoder and no hook, and no attention processor changes during it.
     */
    @Test
    void anEmbeddingOnlyConceptSamplesAsTheBaseModelWithItsEmbeddingRow() throws Exception {
        SampleFixture fx = SampleFixture.get();
        Concept base = fx.concept("<ti-teddy>", "teddy", 13, 0.5f);
        Concept ti = Concept.embeddingOnly(base.placeholder(), base.superclass(), base.embedding(), base.iStar(),
                base.baseModel(), base.covariance(), "{}");
        List<CrossAttentionLayer> layers = fx.pipeline.unet().crossAttentionLayers();
        List<Object> before = layers.stream().map(l -> (Object) l.attention().processor()).toList();
        SampleFixture.Run plain;
        try (ConceptPrompts cp = ConceptPrompts.register(fx.pipeline, List.of(ti))) {
            SampleFixture.Capture cap = new SampleFixture.Capture();
            fx.pipeline.generate(SampleFixture.request("a photo of a <ti-teddy>").listener(cap).build()
                    .withConditioning(cp, null));
            plain = new SampleFixture.Run(cap.first, cap.last, null);
        }
        boolean[] changed = {false};
        for (KeyLocking locking : KeyLocking.values()) {
            SampleFixture.Capture watch = new SampleFixture.Capture() {
                @Override
                public void onStep(StepEvent e) {
                    super.onStep(e);
                    for (int i = 0; i < layers.size(); i++) {
                        changed[0] |= layers.get(i).attention().processor() != before.get(i);
                    }
                }
            };
            Perfusion.sample(fx.pipeline, fx.sampleRequest(SampleFixture.request("a photo of a <ti-teddy>")
                    .listener(watch), ti).locking(locking).build());
            assertFalse(changed[0], "EMBEDDING_ONLY installs no processor (" + locking + ")");
            assertArrayEquals(plain.firstUnetOutput(), watch.first, "ε with the embedding row only (" + locking + ")");
            assertArrayEquals(plain.finalLatents(), watch.last, "latents with the embedding row only (" + locking + ")");
        }
    }

    /**
     * A prompt mixing PERFUSION, NO_KEY_LOCKING and EMBEDDING_ONLY concepts: {@link Perfusion#sample} equals the
     * pipeline run with all three embedding rows and the edit of the two editing concepts alone (their i* only in
     * the projector, their own key targets), bit for bit; under global locking only the editing concepts'
     * placeholders are replaced by super-class words.
     */
    @Test
    void mixedModesEditWithTheEditingConceptsOnly() throws Exception {
        SampleFixture fx = SampleFixture.get();
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        Concept kitty = noKeyLocking(fx.concept("<kitty>", "cat", 21, 0.5f), 5);
        Concept dogBase = fx.concept("<doggo>", "dog", 31, 0.5f);
        Concept doggo = Concept.embeddingOnly(dogBase.placeholder(), "dog", dogBase.embedding(), dogBase.iStar(),
                dogBase.baseModel(), dogBase.covariance(), "{}");
        String prompt = "a <teddy> and a <kitty> with a <doggo>";
        List<Concept> all = List.of(teddy, doggo, kitty);
        SampleFixture.Run mixed = fx.sample(fx.sampleRequest(SampleFixture.request(prompt), teddy, doggo, kitty));

        SampleFixture.Capture cap = new SampleFixture.Capture();
        try (ConceptPrompts cp = ConceptPrompts.register(fx.pipeline, all);
             KeyLockedEdit edit = KeyLockedEdit.forConcepts(fx.pipeline.backend(), fx.cInv.cInv(),
                     List.of(teddy, kitty), null, null)) {
            assertEquals("a teddy and a cat with a <doggo>", cp.superPrompt(prompt));
            GenerationRequest req = SampleFixture.request(prompt).listener(cap).build().withConditioning(cp,
                    (batchPrompts, context) -> {
                        EditContext ctx = EditContext.local(edit, context);
                        PerfusionInstallation inst = PerfusionInstallation.install(fx.pipeline.unet(),
                                List.of(teddy, kitty), ctx);
                        return () -> {
                            inst.close();
                            ctx.close();
                        };
                    });
            fx.pipeline.generate(req);
        }
        assertArrayEquals(cap.first, mixed.firstUnetOutput(), "ε of the mixed prompt");
        assertArrayEquals(cap.last, mixed.finalLatents(), "latents of the mixed prompt");

        // an edit context that gates the embedding-only concept too is refused by the installation
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             KeyLockedEdit wrong = KeyLockedEdit.forConcepts(fx.pipeline.backend(), fx.cInv.cInv(), all, null, null);
             EditContext ctx = EditContext.local(wrong, fx.pipeline.encodePrompts(List.of("a photo")))) {
            assertMessage("leaving out EMBEDDING_ONLY", () -> PerfusionInstallation.install(fx.pipeline.unet(), all, ctx));
        }
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable run) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, run);
        assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
    }
}
