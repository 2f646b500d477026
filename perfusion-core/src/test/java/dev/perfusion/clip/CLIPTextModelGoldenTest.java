package dev.perfusion.clip;

import static dev.perfusion.clip.CLIPTextGoldens.LAYERS;
import static dev.perfusion.clip.CLIPTextGoldens.MODEL;
import static dev.perfusion.clip.CLIPTextGoldens.check;
import static dev.perfusion.clip.CLIPTextGoldens.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The tiny SD v1.5 text encoder on the ND4J backend against transformers' outputs (golden/README.md §4): the last
 * hidden state, the pooled output, every hidden state, and for the {@code prompts} case the sub-layers of
 * encoder layer 0. Tolerance 1e-4 + 1e-4·|ref|, the project's bound for model outputs; transformers' own float32
 * vs float64 difference on these tensors is at most 1.3e-6 (the cases file's {@code f32_vs_f64}).
 */
@Tag("unit")
class CLIPTextModelGoldenTest {
    private static Backend be;
    private static CLIPTextModel model;
    private TensorScope scope;
    private AutoCloseable noGrad;

    @BeforeAll
    static void loadModel() throws Exception {
        be = new Nd4jBackend();
        model = CLIPTextModel.load(CLIPTextGoldens.MODEL_DIR, be);
    }

    @AfterAll
    static void closeModel() {
        model.close();
    }

    @BeforeEach
    void open() {
        scope = TensorScope.open();
        noGrad = Autograd.noGrad();
    }

    @AfterEach
    void close() throws Exception {
        noGrad.close();
        scope.close();
    }

    @Test
    void configIsReadFromTheFolder() {
        CLIPTextConfig c = model.config();
        assertEquals(new CLIPTextConfig(49408, 24, 96, 4, 3, 77, "quick_gelu", 1e-5f, 2), c);
        assertTrue(c.legacyPooling());
        assertEquals(1_216_584, model.parameterCount()); // golden/README.md: 1,216,584 parameters
    }

    @Test
    void promptsMatchTransformers() {
        checkCase("prompts");
    }

    @Test
    void randomIdsMatchTransformers() {
        // row 0 has an eos at position 10 followed by other tokens: tests the causal mask and the argmax pooling
        checkCase("random");
    }

    private void checkCase(String name) {
        Tensor ids = load(be, name, "input_ids"); // [B, 77]
        try (CLIPTextOutput out = model.forward(ids, true)) {
            check(name + ".last_hidden_state", MODEL, load(be, name, "last_hidden_state"), out.lastHiddenState());
            check(name + ".pooler_output", MODEL, load(be, name, "pooler_output"), out.pooledOutput());
            assertEquals(LAYERS + 1, out.hiddenStates().size());
            for (int k = 0; k <= LAYERS; k++) {
                check(name + ".hidden_states." + k, MODEL, load(be, name, "hidden_states." + k), out.hiddenState(k));
            }
        }
        // without hidden states: the same two outputs, from the path that frees intermediates as it goes
        try (CLIPTextOutput out = model.forward(ids)) {
            assertTrue(out.hiddenStates().isEmpty());
            check(name + ".last_hidden_state (no states)", MODEL, load(be, name, "last_hidden_state"),
                    out.lastHiddenState());
            check(name + ".pooler_output (no states)", MODEL, load(be, name, "pooler_output"), out.pooledOutput());
        }
    }

    @Test
    void gatheredEmbeddingsGiveTheSameEncoding() {
        Tensor ids = load(be, "prompts", "input_ids");
        Tensor tokens = model.embed(ids); // [4, 77, 24]
        try (CLIPTextOutput out = model.forwardEmbeds(tokens, ids)) {
            check("prompts.last_hidden_state via embeds", MODEL, load(be, "prompts", "last_hidden_state"),
                    out.lastHiddenState());
            check("prompts.pooler_output via embeds", MODEL, load(be, "prompts", "pooler_output"), out.pooledOutput());
        }
        assertTrue(!tokens.isClosed(), "forwardEmbeds must not close the caller's embeddings");
    }

    @Test
    void layerZeroInternalsMatchTransformers() {
        String c = "prompts";
        CLIPEncoderLayer layer = model.textModel().encoder().layers().get(0);
        Tensor ids = load(be, c, "input_ids");
        Tensor h0 = model.textModel().embeddings().forward(ids);  // [4, 77, 24]
        check(c + ".hidden_states.0 (embeddings)", MODEL, load(be, c, "hidden_states.0"), h0);
        Tensor n1 = layer.layerNorm1().forward(h0);                // [4, 77, 24]
        check(c + ".layer0.layer_norm1", MODEL, load(be, c, "layer0.layer_norm1"), n1);
        Tensor attn = layer.selfAttn().forward(n1);                // [4, 77, 24]
        check(c + ".layer0.self_attn", MODEL, load(be, c, "layer0.self_attn"), attn);
        Tensor r = Ops.add(h0, attn);                              // [4, 77, 24]
        Tensor n2 = layer.layerNorm2().forward(r);                 // [4, 77, 24]
        check(c + ".layer0.layer_norm2", MODEL, load(be, c, "layer0.layer_norm2"), n2);
        Tensor fc1 = layer.mlp().fc1().forward(n2);                // [4, 77, 96]
        check(c + ".layer0.mlp_fc1", MODEL, load(be, c, "layer0.mlp_fc1"), fc1);
        Tensor mlp = layer.mlp().forward(n2);                      // [4, 77, 24]
        check(c + ".layer0.mlp", MODEL, load(be, c, "layer0.mlp"), mlp);
        Tensor h1 = layer.forward(h0);                             // [4, 77, 24]
        check(c + ".hidden_states.1 (layer 0)", MODEL, load(be, c, "hidden_states.1"), h1);
    }
}
