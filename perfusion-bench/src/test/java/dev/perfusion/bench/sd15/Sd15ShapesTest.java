package dev.perfusion.bench.sd15;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.clip.CLIPTextConfig;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.nn.Module;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.unet.UNet2DConditionConfig;
import dev.perfusion.unet.UNet2DConditionModel;
import dev.perfusion.vae.AutoencoderKL;
import dev.perfusion.vae.AutoencoderKLConfig;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * SD v1.5's configs, as {@link Sd15Generator} writes them, build models with exactly the tensor and parameter
 * counts of the published checkpoints (diffusers / transformers state dicts of runwayml/stable-diffusion-v1-5;
 * the UNet's 686 keys and 859,520,964 parameters are also the parity figures of shared/bench/README.md). The models
 * are built on {@link ShapeOnlyBackend}, so nothing is allocated.
 */
@Tag("unit")
class Sd15ShapesTest {
    private final Backend shapes = ShapeOnlyBackend.create();

    @Test
    void unetHasSd15Counts() {
        PipelineConfigs c = PipelineConfigs.sd15();
        try (Module unet = new UNet2DConditionModel(shapes, UNet2DConditionConfig.parse(c.unet(), "sd15 unet"))) {
            assertCounts(unet, 686, 859_520_964L);
            Map<String, Parameter> p = unet.namedParameters();
            // spot checks of diffusers' keys and shapes: head size 40 at level 0, GEGLU 2·4·320, 1×1 proj_in
            assertEquals(Shape.of(320, 4, 3, 3), p.get("conv_in.weight").shape());
            assertEquals(Shape.of(320, 768),
                    p.get("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight").shape());
            assertEquals(Shape.of(2560, 320),
                    p.get("down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight").shape());
            assertEquals(Shape.of(320, 320, 1, 1), p.get("down_blocks.0.attentions.0.proj_in.weight").shape());
            assertEquals(Shape.of(1280, 2560, 3, 3), p.get("up_blocks.0.resnets.0.conv1.weight").shape());
            assertEquals(Shape.of(1280, 1280), p.get("time_embedding.linear_2.weight").shape());
            assertEquals(Shape.of(4, 320, 3, 3), p.get("conv_out.weight").shape());
        }
    }

    @Test
    void textEncoderHasSd15Counts() {
        CLIPTextConfig cfg = CLIPTextConfig.from(DiffusersConfig.parse(PipelineConfigs.sd15().textEncoder(), "sd15 te"));
        assertEquals(CLIPTextConfig.sd15(), cfg, "the config text says what CLIPTextConfig.sd15() says");
        try (Module te = new CLIPTextModel(shapes, cfg)) {
            // transformers' file has one more entry, text_model.embeddings.position_ids (a buffer, not a weight)
            assertCounts(te, 196, 123_060_480L);
            assertEquals(Shape.of(49408, 768), te.namedParameters().get("text_model.embeddings.token_embedding.weight").shape());
        }
    }

    @Test
    void vaeHasSd15Counts() {
        AutoencoderKLConfig cfg = AutoencoderKLConfig.from(DiffusersConfig.parse(PipelineConfigs.sd15().vae(), "sd15 vae"));
        assertEquals(AutoencoderKLConfig.sd15(), cfg, "the config text says what AutoencoderKLConfig.sd15() says");
        try (Module vae = new AutoencoderKL(shapes, cfg)) {
            assertCounts(vae, 248, 83_653_863L);
            assertTrue(vae.namedParameters().containsKey("decoder.mid_block.attentions.0.to_q.weight"),
                    "current diffusers attention key names");
        }
    }

    private static void assertCounts(Module m, int tensors, long parameters) {
        assertEquals(tensors, m.namedParameters().size(), m.getClass().getSimpleName() + " tensors");
        assertEquals(parameters, m.parameterCount(), m.getClass().getSimpleName() + " parameters");
    }
}
