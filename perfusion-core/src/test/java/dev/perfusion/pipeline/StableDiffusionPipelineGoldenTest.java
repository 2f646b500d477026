package dev.perfusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The whole text-to-image pipeline against diffusers' {@code StableDiffusionPipeline} on the tiny SD v1.5-shaped
 * model (golden README §9): prompt embeddings, every step's UNet input and output, guided prediction and latents,
 * and the final image.
 *
 * <p>Tolerance: with random weights the latents grow to |x| ≈ 30–55 in the last steps, so each tensor is compared
 * with 1e-3 relative to its largest value, as the golden README §11 suggests for pipeline latents; the image is
 * 8-bit, so it may differ by one level of 255 on top of that.
 */
@Tag("unit")
class StableDiffusionPipelineGoldenTest {
    private static final Path MODEL = Path.of("src/test/resources/golden/tiny-sd15");
    private static final Path CASES = Path.of("src/test/resources/golden/cases/pipeline_cases.safetensors");
    private static Backend backend;
    private static StableDiffusionPipeline pipeline;
    private static SafeTensors golden;

    @BeforeAll
    static void load() throws Exception {
        backend = new Nd4jBackend();
        pipeline = StableDiffusionPipeline.load(MODEL, backend);
        golden = SafeTensors.open(CASES);
    }

    @AfterAll
    static void close() {
        pipeline.close();
        golden.close();
        backend.close();
    }

    /** Per-step copies of what the listener saw. */
    private static final class Recorder implements GenerationListener {
        final List<float[]> unetInputs = new ArrayList<>();
        final List<float[]> unetOutputs = new ArrayList<>();
        final List<float[]> guided = new ArrayList<>();
        final List<float[]> before = new ArrayList<>();
        final List<float[]> after = new ArrayList<>();
        final List<Float> timesteps = new ArrayList<>();

        @Override
        public void onStep(StepEvent e) {
            unetInputs.add(e.unetInput().toFloatArray());
            unetOutputs.add(e.unetOutput().toFloatArray());
            guided.add(e.guidedNoise().toFloatArray());
            before.add(e.latentsBefore().toFloatArray());
            after.add(e.latentsAfter().toFloatArray());
            timesteps.add(e.timestep());
        }
    }

    @Test
    void ddimWithGuidance() {
        run("ddim_cfg7.5", GenerationRequest.builder("a photo of a cat").sampler("ddim").steps(10).guidanceScale(7.5f)
                .size(64, 64), true);
    }

    @Test
    void dpmSolverBatchOfTwoWithNegativePrompts() {
        run("dpmpp_cfg5_b2", GenerationRequest.builder("A photo of an astronaut riding a horse on mars", "a sks dog in a bucket")
                .negativePrompts("lowres, bad anatomy", "").sampler("dpmpp_2m").steps(8).guidanceScale(5f).size(48, 64), true);
    }

    @Test
    void eulerWithoutGuidance() {
        run("euler_cfg1", GenerationRequest.builder("a photo of <teddy> on the beach").sampler("euler").steps(6)
                .guidanceScale(1f).size(64, 48), false);
    }

    private void run(String name, GenerationRequest.Builder builder, boolean cfg) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor latents = golden.tensor(name + ".in_latents", backend);
            Recorder rec = new Recorder();
            GenerationRequest req = builder.initialLatents(latents).listener(rec).build();

            Tensor embeds = pipeline.encodePrompts(req.prompts());
            closeEnough(name + ".prompt_embeds", embeds.shape(), golden(name + ".prompt_embeds"), embeds.toFloatArray());
            if (cfg) {
                List<String> neg = req.negativePrompts().isEmpty() ? List.of("") : req.negativePrompts();
                Tensor negEmbeds = pipeline.encodePrompts(neg);
                closeEnough(name + ".negative_prompt_embeds", negEmbeds.shape(), golden(name + ".negative_prompt_embeds"),
                        negEmbeds.toFloatArray());
            }

            GenerationResult result = pipeline.generate(req);

            float[] ts = golden(name + ".timesteps");
            assertEquals(ts.length, rec.timesteps.size(), "step count");
            for (int i = 0; i < ts.length; i++) {
                assertEquals(ts[i], rec.timesteps.get(i), 1e-4, name + " timestep " + i);
            }
            perStep(name, "unet_inputs", rec.unetInputs);
            perStep(name, "unet_outputs", rec.unetOutputs);
            perStep(name, "guided_noise_pred", rec.guided);
            perStep(name, "latents_before_step", rec.before);
            perStep(name, "latents_after_step", rec.after);

            float[] image = golden(name + ".image");
            Shape imageShape = golden.info(name + ".image").shape();
            float[] ours = pixels(result.images(), imageShape);
            double maxAbs = 0;
            for (int i = 0; i < image.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(image[i] - ours[i]));
            }
            // 8-bit rounding of ours (≤ 0.5/255) plus 1e-3 of the [0, 1] range
            if (maxAbs > 0.5 / 255 + 1e-3) {
                throw new AssertionError(name + ".image: max |Δ| " + maxAbs + " in [0, 1] units");
            }
        }
    }

    private void perStep(String name, String item, List<float[]> ours) {
        Shape all = golden.info(name + "." + item).shape();
        float[] ref = golden(name + "." + item);
        int steps = all.dim(0);
        assertEquals(steps, ours.size(), name + "." + item + " steps");
        int per = ref.length / steps;
        int[] stepDims = Arrays.copyOfRange(all.dims(), 1, all.rank());
        for (int i = 0; i < steps; i++) {
            closeEnough(name + "." + item + "[" + i + "]", Shape.of(stepDims), Arrays.copyOfRange(ref, i * per, (i + 1) * per),
                    ours.get(i));
        }
    }

    /** |a − b| ≤ 1e-3·max|ref| + 1e-4·|ref| (README §11: pipeline tensors relative to their largest value). */
    private static void closeEnough(String what, Shape shape, float[] ref, float[] actual) {
        double max = 0;
        for (float v : ref) {
            max = Math.max(max, Math.abs(v));
        }
        new Tolerance(1e-3 * Math.max(max, 1e-3), 1e-4).assertClose(what, shape, ref, actual);
    }

    private static float[] golden(String name) {
        try (Tensor t = golden.tensor(name, backendForGolden())) {
            return t.toFloatArray();
        }
    }

    private static Backend backendForGolden() {
        return backend;
    }

    /** [B, 3, H, W] in [0, 1] from 8-bit images. */
    private static float[] pixels(List<BufferedImage> images, Shape shape) {
        int b = shape.dim(0);
        int h = shape.dim(2);
        int w = shape.dim(3);
        assertEquals(b, images.size(), "image count");
        float[] out = new float[b * 3 * h * w];
        for (int n = 0; n < b; n++) {
            BufferedImage img = images.get(n);
            assertEquals(w, img.getWidth(), "image width");
            assertEquals(h, img.getHeight(), "image height");
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int rgb = img.getRGB(x, y);
                    for (int c = 0; c < 3; c++) {
                        out[((n * 3 + c) * h + y) * w + x] = ((rgb >> (16 - 8 * c)) & 0xff) / 255f;
                    }
                }
            }
        }
        return out;
    }
}
