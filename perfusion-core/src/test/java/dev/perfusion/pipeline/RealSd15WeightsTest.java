package dev.perfusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Stable Diffusion v1.5 checkpoint, named by the environment variable {@code PERFUSION_SD15} (a diffusers
 * folder or a single-file {@code .safetensors}). Run with
 * {@code mvn -B test -pl perfusion-core -am -Dtest.groups=weights -Dtest.excludedGroups= -Dsurefire.failIfNoSpecifiedTests=false};
 * reported as skipped, with the reason, when the variable is not set.
 */
@Tag("weights")
class RealSd15WeightsTest {
    private static Path model() {
        String env = System.getenv("PERFUSION_SD15");
        Assumptions.assumeTrue(env != null && !env.isBlank(),
                "PERFUSION_SD15 is not set: point it at a Stable Diffusion v1.5 diffusers folder or .safetensors file");
        Path p = Path.of(env);
        Assumptions.assumeTrue(Files.exists(p), "PERFUSION_SD15=" + env + " does not exist");
        return p;
    }

    @Test
    void loadsStrictlyAndGeneratesAnImage(@TempDir Path out) throws Exception {
        Path model = model();
        try (Backend be = Backends.create("auto"); StableDiffusionPipeline p = StableDiffusionPipeline.load(model, be)) {
            assertEquals(768, p.unet().config().crossAttentionDim(), "SD v1.x conditions on 768-wide CLIP states");
            assertEquals(16, p.unet().crossAttentionLayers().size(), "SD v1.x has 16 cross-attention layers");
            // the model's own tokenizer (folder) and the bundled one agree on SD's vocabulary
            String prompt = "A photo of an astronaut riding a horse on mars";
            assertTrue(Arrays.equals(CLIPTokenizer.bundled().encode(prompt), p.tokenizer().encode(prompt)));

            GenerationResult r = p.generate(GenerationRequest.builder(prompt).size(512, 512).steps(4).sampler("ddim")
                    .guidanceScale(7.5f).seed(1).build());
            BufferedImage img = r.images().get(0);
            int[] px = img.getRGB(0, 0, 512, 512, null, 0, 512);
            assertTrue(Arrays.stream(px).distinct().count() > 1000, "a real image has many distinct colours");
            r.savePng(0, out.resolve("sd15.png"));
        }
    }
}
