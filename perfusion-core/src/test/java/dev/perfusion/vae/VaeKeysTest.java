package dev.perfusion.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link VaeKeys#renameLegacyAttention} on synthetic state dicts, and a legacy-named file loading by it. */
@Tag("unit")
class VaeKeysTest {
    private static final String ENC = "encoder.mid_block.attentions.0.";
    private static final String DEC = "decoder.mid_block.attentions.0.";

    private final Backend be = new ReferenceBackend();
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private Tensor t(long seed, int... dims) {
        Shape s = Shape.of(dims);
        return be.fromArray(HostRandom.normal(seed, s.numelInt()), s);
    }

    @Test
    void renamesLegacyProjectionsAndReshapesConvWeights() {
        Map<String, Tensor> state = new LinkedHashMap<>();
        state.put("encoder.conv_in.weight", t(1, 4, 3, 3, 3));
        state.put(ENC + "group_norm.weight", t(2, 4));
        state.put(ENC + "query.weight", t(3, 4, 4, 1, 1)); // LDM-style 1×1 conv weight
        state.put(ENC + "query.bias", t(4, 4));
        state.put(ENC + "key.weight", t(5, 4, 4));
        state.put(ENC + "key.bias", t(6, 4));
        state.put(ENC + "value.weight", t(7, 4, 4, 1, 1));
        state.put(ENC + "value.bias", t(8, 4));
        state.put(ENC + "proj_attn.weight", t(9, 4, 4, 1, 1));
        state.put(ENC + "proj_attn.bias", t(10, 4));
        state.put(DEC + "to_q.weight", t(11, 4, 4, 1, 1)); // current name, conv shape
        state.put(DEC + "to_k.weight", t(12, 4, 4));       // current name and shape: untouched
        state.put("quant_conv.weight", t(13, 8, 8, 1, 1)); // a real 1×1 conv: must keep its shape
        Map<String, float[]> values = new LinkedHashMap<>();
        state.forEach((k, v) -> values.put(k, v.toFloatArray()));

        Map<String, Tensor> out = VaeKeys.renameLegacyAttention(state);

        assertEquals(List.of("encoder.conv_in.weight", ENC + "group_norm.weight", ENC + "to_q.weight", ENC + "to_q.bias",
                ENC + "to_k.weight", ENC + "to_k.bias", ENC + "to_v.weight", ENC + "to_v.bias", ENC + "to_out.0.weight",
                ENC + "to_out.0.bias", DEC + "to_q.weight", DEC + "to_k.weight", "quant_conv.weight"),
                List.copyOf(out.keySet()), "renamed in place, order kept");
        for (String k : List.of("to_q", "to_k", "to_v", "to_out.0")) {
            assertEquals(Shape.of(4, 4), out.get(ENC + k + ".weight").shape(), k);
            assertEquals(Shape.of(4), out.get(ENC + k + ".bias").shape(), k);
        }
        assertEquals(Shape.of(4, 4), out.get(DEC + "to_q.weight").shape());
        assertEquals(Shape.of(8, 8, 1, 1), out.get("quant_conv.weight").shape());
        assertEquals(Shape.of(4, 3, 3, 3), out.get("encoder.conv_in.weight").shape());
        assertArrayEquals(values.get(ENC + "query.weight"), out.get(ENC + "to_q.weight").toFloatArray());
        assertArrayEquals(values.get(ENC + "proj_attn.bias"), out.get(ENC + "to_out.0.bias").toFloatArray());
        assertArrayEquals(values.get(DEC + "to_q.weight"), out.get(DEC + "to_q.weight").toFloatArray());
        assertTrue(state.get(ENC + "query.weight").isClosed(), "a reshaped original is closed");
        assertTrue(!state.get(ENC + "key.weight").isClosed() && state.get(ENC + "key.weight") == out.get(ENC + "to_k.weight"),
                "a renamed tensor is passed on as it is");
    }

    @Test
    void leavesOtherKeysAlone() {
        for (String k : List.of("encoder.conv_in.weight", "decoder.up_blocks.0.resnets.1.conv_shortcut.weight",
                "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
                "down_blocks.0.attentions.0.proj_in.weight", "encoder.mid_block.attentions.0.group_norm.bias",
                "encoder.mid_block.attentions.0.query_extra.weight")) {
            assertEquals(k, VaeKeys.newName(k));
        }
        assertEquals("first_stage.decoder.mid_block.attentions.1.to_out.0.weight",
                VaeKeys.newName("first_stage.decoder.mid_block.attentions.1.proj_attn.weight"));
        Map<String, Tensor> state = new LinkedHashMap<>();
        state.put("down_blocks.0.attentions.0.proj_in.weight", t(1, 4, 4, 1, 1)); // UNet conv proj_in stays 4-D
        assertEquals(Shape.of(4, 4, 1, 1),
                VaeKeys.renameLegacyAttention(state).get("down_blocks.0.attentions.0.proj_in.weight").shape());
    }

    @Test
    void refusesAStateDictWithBothNames() {
        Map<String, Tensor> state = new LinkedHashMap<>();
        state.put(ENC + "query.weight", t(1, 4, 4));
        state.put(ENC + "to_q.weight", t(2, 4, 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VaeKeys.renameLegacyAttention(state));
        assertTrue(e.getMessage().contains(ENC + "query.weight") && e.getMessage().contains(ENC + "to_q.weight"),
                e.getMessage());
    }

    @Test
    void loadsAFileWithLegacyNamesAndConvShapedProjections(@TempDir Path dir) throws Exception {
        Map<String, Tensor> legacy = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(VaeGolden.VAE_DIR.resolve("diffusion_pytorch_model.safetensors"))) {
            for (String name : st.names()) {
                Tensor v = st.tensor(name, be);
                String old = name.replace(".to_q.", ".query.").replace(".to_k.", ".key.").replace(".to_v.", ".value.")
                        .replace(".to_out.0.", ".proj_attn.");
                if (name.startsWith("encoder.") && !old.equals(name) && v.rank() == 2) {
                    v = be.reshape(v, Shape.of(v.dim(0), v.dim(1), 1, 1)); // LDM-style [C, C, 1, 1]
                }
                legacy.put(old, v);
            }
        }
        assertTrue(legacy.containsKey(ENC + "proj_attn.weight") && legacy.containsKey(DEC + "query.bias"));
        SafeTensors.write(dir.resolve("diffusion_pytorch_model.safetensors"), legacy, Map.of());
        Files.copy(VaeGolden.VAE_DIR.resolve("config.json"), dir.resolve("config.json"));

        try (AutoencoderKL fromLegacy = AutoencoderKL.load(dir, be);
             AutoencoderKL fromCurrent = AutoencoderKL.load(VaeGolden.VAE_DIR, be)) {
            Map<String, Tensor> a = fromLegacy.stateDict();
            Map<String, Tensor> b = fromCurrent.stateDict();
            assertEquals(b.keySet(), a.keySet());
            for (String k : b.keySet()) {
                assertEquals(b.get(k).shape(), a.get(k).shape(), k);
                assertArrayEquals(b.get(k).toFloatArray(), a.get(k).toFloatArray(), k);
            }
        }
    }
}
