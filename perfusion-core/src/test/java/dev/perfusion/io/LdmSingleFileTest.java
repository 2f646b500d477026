package dev.perfusion.io;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.io.LdmKeyMap.Component;
import dev.perfusion.io.LdmTestCheckpoints.Options;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SingleFileCheckpoint} on an LDM-layout file made from the golden tiny diffusers model (tiny-sd15's UNet,
 * VAE and text encoder renamed by the test's own inverse mapping, VAE attention stored as 1×1 convs, plus the
 * non-weight entries a real file carries): every golden tensor must come back under its diffusers key with
 * identical bits and shape, and nothing else.
 */
@Tag("unit")
class LdmSingleFileTest {
    // the tiny text encoder is 24 wide with 3 heads: not CLIP's head size 64, so the head count is given
    private static final int TINY_TEXT_HEADS = 3;

    @TempDir
    Path dir;

    private final Backend backend = new ReferenceBackend();
    private TensorScope scope;

    @BeforeEach
    void openScope() {
        scope = TensorScope.open();
    }

    @AfterEach
    void closeScope() {
        scope.close();
    }

    private Path ldmFile(Options options) throws IOException {
        Path p = dir.resolve("ldm-" + System.nanoTime() + ".safetensors");
        LdmTestCheckpoints.writeLdmFile(p, options);
        return p;
    }

    /** Every tensor of {@code golden} is in {@code got} with the same shape, dtype and bits; no other key is. */
    private static int assertSameTensors(Path golden, Map<String, Tensor> got) throws IOException {
        try (SafeTensors st = SafeTensors.open(golden)) {
            assertEquals(new TreeSet<>(st.names()), new TreeSet<>(got.keySet()), "key sets differ for " + golden);
            for (String name : st.names()) {
                Tensor t = got.get(name);
                TensorInfo info = st.info(name);
                assertEquals(info.shape(), t.shape(), name);
                assertEquals(info.dtype(), t.dtype(), name);
                ByteBuffer b = st.buffer(name);
                float[] want = new float[(int) info.numel()];
                b.asFloatBuffer().get(want);
                float[] have = t.toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(have[i])) {
                        throw new AssertionError(name + "[" + i + "]: expected " + want[i] + ", got " + have[i]);
                    }
                }
            }
            return st.size();
        }
    }

    @Test
    void goldenTinyModelRoundTrips() throws IOException {
        Path file = ldmFile(Options.standard());
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file, TINY_TEXT_HEADS)) {
            Path tiny = LdmTestCheckpoints.TINY;
            assertEquals(684, assertSameTensors(tiny.resolve("unet/diffusion_pytorch_model.safetensors"), ckpt.unet(backend)));
            assertEquals(244, assertSameTensors(tiny.resolve("vae/diffusion_pytorch_model.safetensors"), ckpt.vae(backend)));
            assertEquals(68, assertSameTensors(tiny.resolve("text_encoder/model.safetensors"), ckpt.textEncoder(backend)));
            assertEquals(List.of("alphas_cumprod", "betas", "cond_stage_model.transformer.text_model.embeddings.position_ids",
                    "model_ema.decay", "model_ema.num_updates"), ckpt.keyMap().skipped());
            assertEquals("pt", ckpt.metadata().get("format"));
        }
    }

    @Test
    void secondUNetLayoutRoundTrips() throws IOException {
        // unet-tiny-2level: DownBlock2D then CrossAttnDownBlock2D, so up_blocks.0 has attention (upsampler at index 2)
        Path unet = LdmTestCheckpoints.GOLDEN.resolve("unet-tiny-2level");
        Path file = ldmFile(Options.standard().unet(unet));
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file, TINY_TEXT_HEADS)) {
            assertEquals(304, assertSameTensors(unet.resolve("diffusion_pytorch_model.safetensors"), ckpt.unet(backend)));
            assertTrue(ckpt.keyMap().targets().containsKey("model.diffusion_model.output_blocks.2.2.conv.weight"));
            assertConfigMatches(unet, ckpt.unetConfig(), List.of("block_out_channels", "down_block_types", "up_block_types"),
                    List.of("layers_per_block", "cross_attention_dim", "attention_head_dim", "in_channels", "out_channels"));
        }
    }

    @Test
    void legacyTextEncoderKeysAndLinearVaeAttention() throws IOException {
        Path file = ldmFile(Options.standard().legacy().attentionAsLinear());
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file, TINY_TEXT_HEADS)) {
            assertTrue(ckpt.keyMap().targets().containsKey("cond_stage_model.transformer.encoder.layers.0.mlp.fc1.weight"));
            Path tiny = LdmTestCheckpoints.TINY;
            assertSameTensors(tiny.resolve("text_encoder/model.safetensors"), ckpt.textEncoder(backend));
            assertSameTensors(tiny.resolve("vae/diffusion_pytorch_model.safetensors"), ckpt.vae(backend));
        }
    }

    @Test
    void vaeAttentionConvWeightsAreReshaped() throws IOException {
        Path file = ldmFile(Options.standard());
        try (SafeTensors raw = SafeTensors.open(file);
             SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file, TINY_TEXT_HEADS)) {
            assertEquals(Shape.of(64, 64, 1, 1), raw.info("first_stage_model.encoder.mid.attn_1.q.weight").shape());
            Map<String, Tensor> vae = ckpt.vae(backend);
            Tensor q = vae.get("encoder.mid_block.attentions.0.to_q.weight");
            assertEquals(Shape.of(64, 64), q.shape());
            float[] conv = new float[64 * 64];
            raw.buffer("first_stage_model.encoder.mid.attn_1.q.weight").asFloatBuffer().get(conv);
            assertArrayEquals(conv, q.toFloatArray());
            assertEquals(Shape.of(64), vae.get("decoder.mid_block.attentions.0.to_out.0.bias").shape());
        }
    }

    @Test
    void detectedConfigsMatchGoldenConfigs() throws IOException {
        Path file = ldmFile(Options.standard());
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file, TINY_TEXT_HEADS)) {
            Path tiny = LdmTestCheckpoints.TINY;
            assertConfigMatches(tiny.resolve("unet"), ckpt.unetConfig(),
                    List.of("block_out_channels", "down_block_types", "up_block_types"),
                    List.of("layers_per_block", "cross_attention_dim", "attention_head_dim", "in_channels", "out_channels",
                            "transformer_layers_per_block", "norm_num_groups", "downsample_padding", "freq_shift"));
            assertEquals(false, ckpt.unetConfig().boolValue("use_linear_projection", true));
            assertEquals(true, ckpt.unetConfig().boolValue("flip_sin_to_cos", false));
            assertEquals(1e-5, ckpt.unetConfig().doubleValue("norm_eps", 0), 0);
            assertFalse(ckpt.unetConfig().has("time_embedding_dim")); // 4 × 32, the default
            assertConfigMatches(tiny.resolve("vae"), ckpt.vaeConfig(),
                    List.of("block_out_channels", "down_block_types", "up_block_types"),
                    List.of("layers_per_block", "in_channels", "out_channels", "latent_channels", "norm_num_groups"));
            assertEquals(0.18215, ckpt.vaeConfig().doubleValue("scaling_factor", 0), 0);
            assertTrue(ckpt.vaeConfig().boolValue("use_quant_conv", false));
            assertTrue(ckpt.vaeConfig().boolValue("mid_block_add_attention", false));
            assertConfigMatches(tiny.resolve("text_encoder"), ckpt.textEncoderConfig(), List.of("architectures"),
                    List.of("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                            "max_position_embeddings", "bos_token_id", "eos_token_id", "pad_token_id"));
            assertEquals("quick_gelu", ckpt.textEncoderConfig().string("hidden_act", ""));
            assertEquals(1e-5, ckpt.textEncoderConfig().doubleValue("layer_norm_eps", 0), 0);
            assertTrue(ckpt.unetConfig().source().contains(file.toString()));

            SingleFileArchitecture.Unet unet = ckpt.architecture().unet();
            assertEquals(List.of(32, 32, 64, 64), unet.blockOutChannels());
            assertEquals(24, unet.crossAttentionDim());
            assertEquals(128, unet.timeEmbedDim());
        }
    }

    private static void assertConfigMatches(Path goldenDir, DiffusersConfig got, List<String> listKeys, List<String> intKeys)
            throws IOException {
        DiffusersConfig want = DiffusersConfig.read(goldenDir);
        for (String k : listKeys) {
            assertEquals(want.raw(k), got.raw(k), k);
        }
        for (String k : intKeys) {
            assertEquals(want.requireInt(k), got.requireInt(k), k);
        }
    }

    @Test
    void headCountMustBeGivenWhenWidthIsNotAMultipleOf64() throws IOException {
        Path file = ldmFile(Options.standard());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SingleFileCheckpoint.open(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("24 wide") && e.getMessage().contains("head count"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SingleFileCheckpoint.open(file, 5));
        assertTrue(e.getMessage().contains("not divisible by 5"), e.getMessage());
    }

    @Test
    void unknownTensorsAreReportedWithTheFile() throws IOException {
        Path file = ldmFile(Options.standard()
                .withExtra("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.lora_down.weight", Shape.of(4, 24))
                .withExtra("cond_stage_model.transformer.text_model.embeddings.token_embedding.extra", Shape.of(2)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SingleFileCheckpoint.open(file, TINY_TEXT_HEADS));
        String msg = e.getMessage();
        assertTrue(msg.startsWith(file + ": 2 tensor(s)"), msg);
        assertTrue(msg.contains("attn2.to_k.lora_down.weight") && msg.contains("token_embedding.extra"), msg);
    }

    @Test
    void sdxlAndSd2FilesAreRejectedSayingWhatTheyAre() throws IOException {
        Path sdxl = ldmFile(Options.standard().withExtra(
                "conditioner.embedders.1.model.transformer.resblocks.0.mlp.c_proj.bias", Shape.of(8)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SingleFileCheckpoint.open(sdxl, TINY_TEXT_HEADS));
        assertTrue(e.getMessage().contains("SDXL"), e.getMessage());

        Path sd2 = ldmFile(Options.standard().withExtra("cond_stage_model.model.positional_embedding", Shape.of(77, 8)));
        e = assertThrows(IllegalArgumentException.class, () -> SingleFileCheckpoint.open(sd2, TINY_TEXT_HEADS));
        assertTrue(e.getMessage().contains("Stable Diffusion 2.x"), e.getMessage());
    }

    @Test
    void truncatedFileErrorPropagates() throws IOException {
        Path file = ldmFile(Options.standard());
        byte[] all = Files.readAllBytes(file);
        Path cut = Files.write(dir.resolve("cut.safetensors"), Arrays.copyOf(all, all.length / 2));
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class,
                () -> SingleFileCheckpoint.open(cut, TINY_TEXT_HEADS));
        assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
    }

    @Test
    void missingComponentIsAClearError() throws IOException {
        Path file = ldmFile(Options.standard().noVae());
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file, TINY_TEXT_HEADS)) {
            assertFalse(ckpt.has(Component.VAE));
            assertTrue(ckpt.has(Component.UNET) && ckpt.has(Component.TEXT_ENCODER));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> ckpt.vae(backend));
            assertTrue(e.getMessage().contains("no VAE"), e.getMessage());
            assertThrows(IllegalStateException.class, ckpt::vaeConfigJson);
            assertEquals(684, ckpt.unet(backend).size());
        }
    }
}
