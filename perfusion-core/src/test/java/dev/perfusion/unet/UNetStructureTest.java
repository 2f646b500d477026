package dev.perfusion.unet;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.nn.AttnProcessor;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keys, layer order, configuration parsing and input validation of {@link UNet2DConditionModel}, on the golden
 * models (ND4J backend).
 */
@Tag("unit")
class UNetStructureTest {
    private static Backend be;
    private static UNet2DConditionModel sd15;

    @BeforeAll
    static void load() throws IOException {
        be = new Nd4jBackend();
        sd15 = UNet2DConditionModel.load(UNetGoldens.SD15_UNET, be);
    }

    @AfterAll
    static void close() {
        if (sd15 != null) {
            sd15.close();
        }
    }

    @Test
    void parameterNamesAndShapesEqualTheFiles() throws IOException {
        for (Path dir : List.of(UNetGoldens.SD15_UNET, UNetGoldens.TINY_UNET)) {
            try (UNet2DConditionModel m = new UNet2DConditionModel(be, UNet2DConditionConfig.read(dir));
                 SafeTensors st = SafeTensors.open(dir.resolve("diffusion_pytorch_model.safetensors"))) {
                Map<String, Shape> model = new TreeMap<>();
                for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
                    model.put(e.getKey(), e.getValue().shape());
                }
                Map<String, Shape> file = new TreeMap<>();
                for (String name : st.names()) {
                    file.put(name, st.info(name).shape());
                }
                assertEquals(file, model, "parameters of the model built from " + dir);
            }
        }
    }

    @Test
    void crossAttentionLayersInRunOrder() throws Exception {
        List<String> expected = List.of(
                "down_blocks.0.attentions.0.transformer_blocks.0.attn2",
                "down_blocks.0.attentions.1.transformer_blocks.0.attn2",
                "down_blocks.1.attentions.0.transformer_blocks.0.attn2",
                "down_blocks.1.attentions.1.transformer_blocks.0.attn2",
                "down_blocks.2.attentions.0.transformer_blocks.0.attn2",
                "down_blocks.2.attentions.1.transformer_blocks.0.attn2",
                "mid_block.attentions.0.transformer_blocks.0.attn2",
                "up_blocks.1.attentions.0.transformer_blocks.0.attn2",
                "up_blocks.1.attentions.1.transformer_blocks.0.attn2",
                "up_blocks.1.attentions.2.transformer_blocks.0.attn2",
                "up_blocks.2.attentions.0.transformer_blocks.0.attn2",
                "up_blocks.2.attentions.1.transformer_blocks.0.attn2",
                "up_blocks.2.attentions.2.transformer_blocks.0.attn2",
                "up_blocks.3.attentions.0.transformer_blocks.0.attn2",
                "up_blocks.3.attentions.1.transformer_blocks.0.attn2",
                "up_blocks.3.attentions.2.transformer_blocks.0.attn2");
        List<CrossAttentionLayer> layers = sd15.crossAttentionLayers();
        assertEquals(expected, layers.stream().map(CrossAttentionLayer::path).toList());
        // SD v1.5's 2×320, 2×640, 2×1280, 1×1280, 3×1280, 3×640, 3×320 pattern at the tiny widths
        assertEquals(List.of(32, 32, 32, 32, 64, 64, 64, 64, 64, 64, 32, 32, 32, 32, 32, 32),
                layers.stream().map(CrossAttentionLayer::width).toList());
        // each entry is the very module registered under its path
        for (CrossAttentionLayer l : layers) {
            assertTrue(sd15.namedModules().get(l.path()) == l.attention(), l.path());
            assertTrue(l.attention().isCrossAttention(), l.path());
        }

        // and a forward pass calls them in exactly this order
        List<String> calls = new ArrayList<>();
        for (CrossAttentionLayer l : layers) {
            AttnProcessor plain = new AttnProcessor();
            l.attention().setProcessor((attn, h, ehs, mask) -> {
                calls.add(l.path());
                return plain.apply(attn, h, ehs, mask);
            });
        }
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            sd15.forward(zeros(Shape.of(1, 4, 8, 8)), be.fromArray(new long[] {10}, Shape.of()),
                    zeros(Shape.of(1, 77, 24)));
        } finally {
            layers.forEach(l -> l.attention().setProcessor(new AttnProcessor()));
        }
        assertEquals(expected, calls);
    }

    @Test
    void tinyTwoLevelCrossAttentionLayers() throws IOException {
        try (UNet2DConditionModel m = new UNet2DConditionModel(be, UNet2DConditionConfig.read(UNetGoldens.TINY_UNET))) {
            assertEquals(List.of(
                    "down_blocks.1.attentions.0.transformer_blocks.0.attn2",
                    "down_blocks.1.attentions.1.transformer_blocks.0.attn2",
                    "mid_block.attentions.0.transformer_blocks.0.attn2",
                    "up_blocks.0.attentions.0.transformer_blocks.0.attn2",
                    "up_blocks.0.attentions.1.transformer_blocks.0.attn2",
                    "up_blocks.0.attentions.2.transformer_blocks.0.attn2"),
                    m.crossAttentionLayers().stream().map(CrossAttentionLayer::path).toList());
        }
    }

    @Test
    void configOfTinySd15() throws IOException {
        UNet2DConditionConfig c = UNet2DConditionConfig.read(UNetGoldens.SD15_UNET);
        assertEquals(List.of(32, 32, 64, 64), c.blockOutChannels());
        assertEquals(List.of(8, 8, 8, 8), c.attentionHeads()); // legacy attention_head_dim = number of heads
        assertEquals(24, c.crossAttentionDim());
        assertEquals(128, c.timeEmbedDim());
        assertEquals(List.of(2, 2, 2, 2), c.layersPerBlock());
        assertTrue(c.flipSinToCos());
        assertEquals(1e-5f, c.normEps());
        // head size = channels / heads: 4 at 32 channels, 8 at 64
        assertEquals(4, sd15.downBlocks().get(0).attentions().get(0).transformerBlocks().get(0).attn2().dimHead());
        assertEquals(8, sd15.midBlock().attentions().get(0).transformerBlocks().get(0).attn2().dimHead());
    }

    @Test
    void perBlockHeadListAndLinearProjection() throws Exception {
        // SD 2.x style: attention_head_dim as a per-level list of head counts, Linear proj_in/proj_out
        String json = sd15Json().replace("\"attention_head_dim\": 8", "\"attention_head_dim\": [2, 4, 8, 16]")
                .replace("\"use_linear_projection\": false", "\"use_linear_projection\": true");
        UNet2DConditionConfig c = UNet2DConditionConfig.parse(json, "test.json");
        assertEquals(List.of(2, 4, 8, 16), c.attentionHeads());
        try (UNet2DConditionModel m = new UNet2DConditionModel(be, c)) {
            assertEquals(16, m.downBlocks().get(0).attentions().get(0).transformerBlocks().get(0).attn1().dimHead());
            assertEquals(16, m.midBlock().attentions().get(0).transformerBlocks().get(0).attn1().heads());
            assertEquals(4, m.midBlock().attentions().get(0).transformerBlocks().get(0).attn1().dimHead());
            // up_blocks.1 mirrors down_blocks.2: 8 heads of 8 at 64 channels
            assertEquals(8, m.upBlocks().get(1).attentions().get(0).transformerBlocks().get(0).attn1().heads());
            assertEquals(Shape.of(32, 32), m.namedParameters().get("down_blocks.0.attentions.0.proj_in.weight").shape());
            try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
                m.initialize(5);
                Tensor out = m.forward(zeros(Shape.of(1, 4, 8, 8)), be.fromArray(new float[] {3.5f}, Shape.of()),
                        zeros(Shape.of(1, 5, 24)));
                assertEquals(Shape.of(1, 4, 8, 8), out.shape());
            }
        }
    }

    @Test
    void unsupportedConfigValuesNameFileAndKey() throws IOException {
        String json = sd15Json();
        assertConfigError(json.replace("\"CrossAttnUpBlock2D\"\n", "\"AttnUpBlock2D\"\n"), "up_block_types");
        assertConfigError(json.replace("\"DownBlock2D\"\n", "\"SimpleCrossAttnDownBlock2D\"\n"), "down_block_types");
        assertConfigError(json.replace("\"act_fn\": \"silu\"", "\"act_fn\": \"gelu\""), "act_fn");
        assertConfigError(json.replace("\"only_cross_attention\": false", "\"only_cross_attention\": true"),
                "only_cross_attention");
        assertConfigError(json.replace("\"class_embed_type\": null", "\"class_embed_type\": \"timestep\""),
                "class_embed_type");
        assertConfigError(json.replace("\"mid_block_type\": \"UNetMidBlock2DCrossAttn\"", "\"mid_block_type\": null"),
                "mid_block_type");
        assertConfigError(json.replace("\"num_attention_heads\": null", "\"num_attention_heads\": 8"),
                "num_attention_heads");
        assertConfigError(json.replace("\"attention_head_dim\": 8", "\"attention_head_dim\": [8, 8]"),
                "attention_head_dim");
        assertConfigError(json.replace("\"time_embedding_type\": \"positional\"", "\"time_embedding_type\": \"fourier\""),
                "time_embedding_type");
        assertConfigError(json.replace("\"resnet_time_scale_shift\": \"default\"", "\"resnet_time_scale_shift\": \"scale_shift\""),
                "resnet_time_scale_shift");
    }

    private static void assertConfigError(String json, String key) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> UNet2DConditionConfig.parse(json, "unet/config.json"), key);
        assertTrue(e.getMessage().contains("unet/config.json") && e.getMessage().contains(key), e.getMessage());
    }

    private static Tensor zeros(Shape s) {
        return be.full(s, 0f);
    }

    private static String sd15Json() throws IOException {
        return Files.readString(UNetGoldens.SD15_UNET.resolve("config.json"));
    }

    @Test
    void badInputsAreRejectedClearly() throws Exception {
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Tensor t = be.fromArray(new long[] {10}, Shape.of());
            Tensor ehs = zeros(Shape.of(1, 77, 24));
            IllegalArgumentException channels = assertThrows(IllegalArgumentException.class,
                    () -> sd15.forward(zeros(Shape.of(1, 3, 16, 16)), t, ehs));
            assertTrue(channels.getMessage().contains("[B, 4, H, W]"), channels.getMessage());
            // sizes that are not multiples of 8 run, as in diffusers (forward_upsample_size)
            assertEquals(Shape.of(1, 4, 12, 6), sd15.forward(zeros(Shape.of(1, 4, 12, 6)), t, ehs).shape());
            IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
                    () -> sd15.forward(zeros(Shape.of(1, 4, 16, 16)), t, zeros(Shape.of(1, 77, 768))));
            assertTrue(width.getMessage().contains("cross_attention_dim") && width.getMessage().contains("24"),
                    width.getMessage());
            IllegalArgumentException batch = assertThrows(IllegalArgumentException.class,
                    () -> sd15.forward(zeros(Shape.of(2, 4, 16, 16)), t, ehs));
            assertTrue(batch.getMessage().contains("[2, M, 24]"), batch.getMessage());
            IllegalArgumentException steps = assertThrows(IllegalArgumentException.class,
                    () -> sd15.forward(zeros(Shape.of(1, 4, 16, 16)), be.fromArray(new long[] {1, 2, 3}, Shape.of(3)), ehs));
            assertTrue(steps.getMessage().contains("timestep"), steps.getMessage());
        }
    }

    @Test
    void inferenceFreesEverythingButTheOutput() throws Exception {
        // without autograd the blocks close their temporaries at once (Intermediates.release): only the output is left
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Tensor x = be.fromArray(HostRandom.normal(1, 2 * 4 * 16 * 8), Shape.of(2, 4, 16, 8));
            Tensor t = be.fromArray(new long[] {3, 700}, Shape.of(2));
            Tensor c = be.fromArray(HostRandom.normal(2, 2 * 7 * 24), Shape.of(2, 7, 24));
            int before = scope.size();
            Tensor out = sd15.forward(x, t, c);
            assertEquals(before + 1, scope.size(), "tensors left open by a forward pass");
            assertEquals(Shape.of(2, 4, 16, 8), out.shape());
        }
    }

    @Test
    void timestepFormsAgree() throws Exception {
        // 0-d, [1] and [B] integer steps and the same step as a float give one embedding
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Timesteps tp = sd15.timeProj();
            float[] a = tp.forward(be.fromArray(new long[] {999}, Shape.of())).toFloatArray();
            float[] b = tp.forward(be.fromArray(new long[] {999, 999}, Shape.of(2))).toFloatArray();
            float[] c = tp.forward(be.fromArray(new float[] {999f}, Shape.of(1))).toFloatArray();
            assertEquals(32, a.length);
            for (int i = 0; i < 32; i++) {
                assertEquals(a[i], b[i]);
                assertEquals(a[i], b[32 + i]);
                assertEquals(a[i], c[i]);
            }
            // flip_sin_to_cos: cos first; t·f_0 = t, so column 0 is cos(999) and column 16 sin(999)
            assertEquals((float) Math.cos(999), a[0], 1e-6);
            assertEquals((float) Math.sin(999), a[16], 1e-6);
        }
    }
}
