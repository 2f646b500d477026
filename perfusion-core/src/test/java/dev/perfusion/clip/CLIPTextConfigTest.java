package dev.perfusion.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.tensor.UnaryOp;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Reading {@code config.json}: values, defaults, and errors that name the file and the key. */
@Tag("unit")
class CLIPTextConfigTest {
    private static final String SRC = "/models/x/text_encoder/config.json";

    private static String json(String extra) {
        return "{\"vocab_size\": 49408, \"hidden_size\": 24, \"intermediate_size\": 96, \"num_hidden_layers\": 4,"
                + " \"num_attention_heads\": 3, \"max_position_embeddings\": 77, \"projection_dim\": 512"
                + (extra.isEmpty() ? "" : ", " + extra) + "}";
    }

    private static CLIPTextConfig parse(String json) {
        return CLIPTextConfig.from(DiffusersConfig.parse(json, SRC));
    }

    private static void fails(String json, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(json));
        assertTrue(e.getMessage().contains(SRC), "message names the file: " + e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message mentions '" + f + "': " + e.getMessage());
        }
    }

    @Test
    void readsTheGoldenConfig() throws Exception {
        CLIPTextConfig c = CLIPTextConfig.read(CLIPTextGoldens.MODEL_DIR);
        assertEquals(new CLIPTextConfig(49408, 24, 96, 4, 3, 77, "quick_gelu", 1e-5f, 2), c);
        assertEquals(8, c.headDim());
        assertEquals(UnaryOp.QUICK_GELU, c.activation());
        assertTrue(c.legacyPooling());
    }

    @Test
    void missingOptionalKeysTakeTransformersDefaults() {
        CLIPTextConfig c = parse(json(""));
        assertEquals("quick_gelu", c.hiddenAct());
        assertEquals(1e-5f, c.layerNormEps());
        assertEquals(49407, c.eosTokenId());
        assertFalse(c.legacyPooling());
    }

    @Test
    void exactGeluIsSupported() {
        CLIPTextConfig c = parse(json("\"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-6, \"eos_token_id\": 49407"));
        assertEquals(UnaryOp.GELU, c.activation());
        assertEquals(1e-6f, c.layerNormEps());
    }

    @Test
    void sd15ShapesAreCLIPViTL14() {
        CLIPTextConfig c = CLIPTextConfig.sd15();
        assertEquals(768, c.hiddenSize());
        assertEquals(64, c.headDim());
        assertEquals(12, c.numHiddenLayers());
        assertTrue(c.legacyPooling());
    }

    @Test
    void badValuesNameTheFileAndTheKey() {
        fails(json("\"hidden_act\": \"relu\""), "'hidden_act'", "relu", "quick_gelu");
        fails(json("\"layer_norm_eps\": 0"), "'layer_norm_eps'");
        fails(json("\"hidden_act\": 3"), "'hidden_act'");
        fails(json("").replace("\"num_attention_heads\": 3", "\"num_attention_heads\": 5"),
                "'hidden_size'", "'num_attention_heads'");
        fails(json("").replace("\"hidden_size\": 24, ", ""), "missing required key 'hidden_size'");
        fails(json("").replace("\"num_hidden_layers\": 4", "\"num_hidden_layers\": 0"), "'num_hidden_layers'");
        fails(json("").replace("\"vocab_size\": 49408", "\"vocab_size\": 1.5"), "'vocab_size'");
        fails("{\"model_type\": \"clip\", \"text_config\": {}}", "CLIPModel");
    }

    @Test
    void programmaticConfigsAreValidatedToo() {
        assertThrows(IllegalArgumentException.class,
                () -> new CLIPTextConfig(10, 24, 96, 4, 5, 77, "quick_gelu", 1e-5f, 2));
        assertThrows(IllegalArgumentException.class,
                () -> new CLIPTextConfig(10, 24, 96, 4, 3, 77, "swish", 1e-5f, 2));
        assertThrows(IllegalArgumentException.class,
                () -> new CLIPTextConfig(10, 24, 96, 4, 3, 0, "gelu", 1e-5f, 2));
    }
}
