package dev.perfusion.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.io.ComponentFiles;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad folders, bad checkpoints and bad inputs give clear errors; the pooling rule follows {@code eos_token_id}.
 */
@Tag("unit")
class CLIPTextModelInputTest {
    private static Backend be;
    private static CLIPTextModel model;
    private TensorScope scope;

    @TempDir
    Path tmp;

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

    private static String fails(Executable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should mention '" + f + "': " + e.getMessage());
        }
        return e.getMessage();
    }

    /** Copies the golden weights to {@code dir/model.safetensors} with keys renamed and extra tensors added. */
    private static void writeWeights(Path dir, UnaryOperator<String> rename, Map<String, Tensor> extra)
            throws Exception {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(CLIPTextGoldens.MODEL_DIR.resolve("model.safetensors"))) {
            for (String name : st.names()) {
                out.put(rename.apply(name), st.tensor(name, be));
            }
        }
        out.putAll(extra);
        SafeTensors.write(dir.resolve("model.safetensors"), out, Map.of("format", "pt"));
    }

    private static void copyConfig(Path dir) throws Exception {
        Files.copy(CLIPTextGoldens.MODEL_DIR.resolve("config.json"), dir.resolve("config.json"));
    }

    // ------------------------------------------------------------------ folders and checkpoints

    @Test
    void missingFolderConfigOrWeightsAreNamed() throws Exception {
        fails(() -> CLIPTextModel.load(tmp.resolve("nope"), be), "nope");
        Path noConfig = Files.createDirectory(tmp.resolve("no-config"));
        writeWeights(noConfig, n -> n, Map.of());
        fails(() -> CLIPTextModel.load(noConfig, be), "missing config file", noConfig.resolve("config.json").toString());

        Path noWeights = Files.createDirectory(tmp.resolve("no-weights"));
        copyConfig(noWeights);
        fails(() -> CLIPTextModel.load(noWeights, be), "no weights in", noWeights.toString(), "model.safetensors");

        Path pickle = Files.createDirectory(tmp.resolve("pickle"));
        copyConfig(pickle);
        Files.write(pickle.resolve("pytorch_model.bin"), new byte[] {1, 2, 3});
        fails(() -> CLIPTextModel.load(pickle, be), "pytorch_model.bin", "pickle");
    }

    @Test
    void aRenamedKeyIsListedAsMissingAndUnexpected() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("renamed"));
        copyConfig(dir);
        String key = "text_model.encoder.layers.2.mlp.fc1.weight";
        String renamed = "text_model.encoder.layers.2.mlp.fc_1.weight";
        writeWeights(dir, n -> n.equals(key) ? renamed : n, Map.of());
        String msg = fails(() -> CLIPTextModel.load(dir, be), "missing keys", key, "unexpected keys", renamed,
                dir.resolve("model.safetensors").toString());
        System.out.println(msg);
    }

    @Test
    void aWrongShapeIsReported() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("shape"));
        Files.writeString(dir.resolve("config.json"), Files.readString(CLIPTextGoldens.MODEL_DIR.resolve("config.json"))
                .replace("\"intermediate_size\": 96", "\"intermediate_size\": 48"));
        writeWeights(dir, n -> n, Map.of());
        fails(() -> CLIPTextModel.load(dir, be), "shape mismatches", "text_model.encoder.layers.0.mlp.fc1.weight",
                "[96, 24]", "[48, 24]");
    }

    @Test
    void thePositionIdsBufferIsIgnored() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("with-position-ids"));
        copyConfig(dir);
        long[] pos = new long[77];
        for (int i = 0; i < pos.length; i++) {
            pos[i] = i;
        }
        writeWeights(dir, n -> n, Map.of(CLIPTextModel.IGNORED_KEYS.get(0), be.fromArray(pos, Shape.of(1, 77))));
        try (CLIPTextModel m = CLIPTextModel.load(dir, be)) {
            assertEquals(model.parameterCount(), m.parameterCount());
            Tolerance.EXACT.assertClose("final_layer_norm.weight",
                    model.textModel().finalLayerNorm().weight().value(), m.textModel().finalLayerNorm().weight().value());
        }
        assertEquals(List.of("model.safetensors"), List.of(ComponentFiles.weightsFile(dir).getFileName().toString()));
    }

    // ------------------------------------------------------------------ inputs

    @Test
    void badIdsAreRejectedWithTheIdAndPosition() {
        long[] ok = {49406, 320, 49407};
        fails(() -> model.forward(be.fromArray(ok, Shape.of(3))), "[B, L]", "[3]");
        fails(() -> model.forward(be.fromArray(new float[] {1, 2, 3}, Shape.of(1, 3))), "INT64", "FLOAT32");
        fails(() -> model.forward(be.fromArray(new long[78], Shape.of(1, 78))), "78", "max_position_embeddings");
        long[] tooBig = {49406, 320, 49407, 49406, 320, 49407, 49406, 320, 49408, 49407, 1, 2};
        fails(() -> model.forward(be.fromArray(tooBig, Shape.of(2, 6))), "49408", "[1, 2]", "position 2",
                "vocab_size 49408");
        long[] negative = {49406, -1, 49407};
        fails(() -> model.forward(be.fromArray(negative, Shape.of(1, 3))), "-1", "[0, 1]");
        fails(() -> model.embed(be.fromArray(tooBig, Shape.of(2, 6))), "49408", "[1, 2]");
        fails(() -> model.forward(new ReferenceBackend().fromArray(ok, Shape.of(1, 3))), "backend");
    }

    @Test
    void extraRowsAndEmbedsAreChecked() {
        long[] ids = {49406, 49409, 49407};
        Tensor t = be.fromArray(ids, Shape.of(1, 3));
        Tensor one = be.full(Shape.of(1, 24), 0.1f);
        fails(() -> model.embed(t, one), "49409", "[0, 1]", "[0, 49409)", "1 extra rows");
        fails(() -> model.embed(t, be.full(Shape.of(2, 23), 0f)), "[K, 24]", "[2, 23]");
        Tensor embeds = model.embed(t, be.full(Shape.of(2, 24), 0f)); // [1, 3, 24]
        fails(() -> model.forwardEmbeds(embeds, be.fromArray(new long[] {1, 2}, Shape.of(1, 2))), "[1, 2, 24]",
                "[1, 3, 24]");
        fails(() -> model.forwardEmbeds(be.full(Shape.of(1, 3, 20), 0f), t), "[1, 3, 24]", "[1, 3, 20]");
        try (AutoCloseable ng = Autograd.noGrad(); CLIPTextOutput out = model.forwardEmbeds(embeds, t)) {
            assertEquals(Shape.of(1, 3, 24), out.lastHiddenState().shape()); // ids ≥ V are fine for pooling
            assertEquals(Shape.of(1, 24), out.pooledOutput().shape());
            assertThrows(IllegalStateException.class, () -> out.hiddenState(0));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void shorterSequencesWork() throws Exception {
        // transformers slices position_ids to L; the causal mask makes a prefix's encoding independent of what follows
        long[] full = {49406, 320, 1125, 539, 320, 2368, 49407, 49407};
        long[] prefix = {49406, 320, 1125, 539, 320};
        try (AutoCloseable ng = Autograd.noGrad();
             CLIPTextOutput a = model.forward(be.fromArray(full, Shape.of(1, 8)));
             CLIPTextOutput b = model.forward(be.fromArray(prefix, Shape.of(1, 5)))) {
            Tensor head = Ops.slice(a.lastHiddenState(), 1, 0, 5); // [1, 5, 24]
            Tolerance.EXACT.assertClose("prefix of a longer sequence", head, b.lastHiddenState());
        }
    }

    // ------------------------------------------------------------------ pooling

    @Test
    void poolingFollowsEosTokenId() throws Exception {
        CLIPTextConfig g = model.config();
        CLIPTextConfig firstEos = new CLIPTextConfig(g.vocabSize(), g.hiddenSize(), g.intermediateSize(),
                g.numHiddenLayers(), g.numAttentionHeads(), g.maxPositionEmbeddings(), g.hiddenAct(), g.layerNormEps(),
                320);
        long[] ids = {
            49406, 1125, 320, 539, 320, 49407,   // legacy: argmax → 5; eos 320: first 320 → 2
            49406, 1125, 539, 49407, 49407, 49407}; // legacy: first of equal maxima → 3; no 320 → 0
        try (CLIPTextModel m = new CLIPTextModel(be, firstEos); AutoCloseable ng = Autograd.noGrad()) {
            ComponentFiles.loadStrict(m, CLIPTextGoldens.MODEL_DIR.resolve("model.safetensors"), be,
                    CLIPTextModel.IGNORED_KEYS);
            Tensor t = be.fromArray(ids, Shape.of(2, 6));
            try (CLIPTextOutput legacy = model.forward(t); CLIPTextOutput eos = m.forward(t)) {
                Tolerance.EXACT.assertClose("same encoder", legacy.lastHiddenState(), eos.lastHiddenState());
                float[] last = legacy.lastHiddenState().toFloatArray();
                assertPooled("legacy argmax", last, legacy.pooledOutput().toFloatArray(), new int[] {5, 3});
                assertPooled("first eos", last, eos.pooledOutput().toFloatArray(), new int[] {2, 0});
            }
        }
    }

    private static void assertPooled(String what, float[] last, float[] pooled, int[] positions) {
        int d = 24;
        int len = 6;
        for (int b = 0; b < positions.length; b++) {
            for (int j = 0; j < d; j++) {
                assertEquals(last[(b * len + positions[b]) * d + j], pooled[b * d + j],
                        what + ": row " + b + " pooled at position " + positions[b]);
            }
        }
    }
}
