package dev.perfusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pipeline's API on the tiny model: validation, seeds, img2img, cancellation, previews and PNG metadata. */
@Tag("unit")
class StableDiffusionPipelineTest {
    private static final Path MODEL = Path.of("src/test/resources/golden/tiny-sd15");
    private static Backend backend;
    private static StableDiffusionPipeline pipeline;

    @BeforeAll
    static void load() throws IOException {
        backend = new ReferenceBackend(); // the tiny model runs faster on the scalar backend than through ND4J's op overhead
        pipeline = StableDiffusionPipeline.load(MODEL, backend);
    }

    @AfterAll
    static void close() {
        pipeline.close();
    }

    private static GenerationRequest.Builder small(String... prompts) {
        return GenerationRequest.builder(prompts).size(64, 64).steps(2).seed(7);
    }

    private static int[] pixels(BufferedImage img) {
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }

    @Test
    void sameSeedSameImageOtherSeedOtherImage() {
        GenerationResult a = pipeline.generate(small("a red cube").build());
        GenerationResult b = pipeline.generate(small("a red cube").build());
        GenerationResult c = pipeline.generate(small("a red cube").seed(8).build());
        assertEquals(1, a.images().size());
        assertEquals(64, a.images().get(0).getWidth());
        assertTrue(java.util.Arrays.equals(pixels(a.images().get(0)), pixels(b.images().get(0))));
        assertFalse(java.util.Arrays.equals(pixels(a.images().get(0)), pixels(c.images().get(0))));
        assertEquals("pndm", a.sampler(), "the model's scheduler class is PNDM");
    }

    @Test
    void everySamplerRunsIncludingStochasticOnes() {
        for (String sampler : List.of("ddim", "ddpm", "pndm", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras")) {
            GenerationResult r = pipeline.generate(small("a cat").sampler(sampler).steps(3).build());
            assertEquals(sampler, r.sampler());
            assertEquals(1, r.images().size(), sampler);
        }
    }

    @Test
    void batchesAndImagesPerPrompt() {
        GenerationResult r = pipeline.generate(small("a cat", "a dog").imagesPerPrompt(2).negativePrompts("blurry", "").build());
        assertEquals(4, r.images().size());
        assertTrue(r.parameters(3).startsWith("a dog"));
        assertTrue(r.parameters(0).contains("Negative prompt: blurry"));
    }

    @Test
    void listenerSeesEveryStepWithPreviewsAndCanCancel() {
        List<Integer> steps = new ArrayList<>();
        List<BufferedImage> previews = new ArrayList<>();
        pipeline.generate(small("a cat").sampler("ddim").steps(3).listener(new GenerationListener() {
            @Override
            public void onStep(StepEvent e) {
                steps.add(e.step());
                assertEquals(3, e.totalSteps());
                previews.addAll(e.preview().get());
            }
        }).build());
        assertEquals(List.of(0, 1, 2), steps); // DDIM: one model evaluation per step (PNDM makes steps + 1)
        assertEquals(8, previews.get(0).getWidth(), "one preview pixel per latent cell");

        AtomicInteger seen = new AtomicInteger();
        GenerationCancelledException e = assertThrows(GenerationCancelledException.class,
                () -> pipeline.generate(small("a cat").sampler("ddim").steps(5).listener(new GenerationListener() {
                    @Override
                    public void onStep(StepEvent ev) {
                        seen.incrementAndGet();
                    }

                    @Override
                    public boolean isCancelled() {
                        return seen.get() >= 2;
                    }
                }).build()));
        assertEquals(2, seen.get());
        assertTrue(e.getMessage().contains("step 3 of 5"), e.getMessage());
    }

    @Test
    void img2imgRunsTheLastPartOfTheSchedule() {
        BufferedImage init = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                init.setRGB(x, y, (x * 4) << 16 | (y * 4) << 8 | 128);
            }
        }
        for (String sampler : List.of("ddim", "euler", "dpmpp_2m")) {
            AtomicInteger count = new AtomicInteger();
            GenerationResult r = pipeline.generate(small("a cat").sampler(sampler).steps(10).initImage(init, 0.3f)
                    .listener(new GenerationListener() {
                        @Override
                        public void onStep(StepEvent e) {
                            count.incrementAndGet();
                        }
                    }).build());
            assertEquals(3, count.get(), sampler + ": strength 0.3 of 10 steps runs 3");
            assertTrue(r.parameters(0).contains("Denoising strength: 0.3"));
        }
    }

    @Test
    void badRequestsNameTheProblem() {
        assertMessage("steps must be ≥ 1", () -> small("x").steps(0).build());
        assertMessage("guidance scale", () -> small("x").guidanceScale(-1).build());
        assertMessage("unknown sampler 'lms'", () -> small("x").sampler("lms").build());
        assertMessage("image size must be positive", () -> small("x").size(0, 64).build());
        assertMessage("width 60 is not a multiple of the VAE's downsample factor 8",
                () -> pipeline.generate(small("x").size(60, 64).build()));
        assertMessage("no prompt", () -> GenerationRequest.builder().build());
        assertMessage("2 negative prompts for 1", () -> small("x").negativePrompts("a", "b").build());
        BufferedImage wrong = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        assertMessage("resize it first", () -> small("x").initImage(wrong, 0.5f).build());
        BufferedImage right = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        assertMessage("strength must be in (0, 1]", () -> small("x").initImage(right, 0f).build());
        assertMessage("initial latents", () -> pipeline.generate(small("x")
                .initialLatents(backend.randn(dev.perfusion.tensor.Shape.of(1, 4, 4, 4), 1)).build()));
    }

    @Test
    void missingModelPartsAreNamed(@TempDir Path dir) throws IOException {
        assertMessage("does not exist", () -> StableDiffusionPipeline.load(dir.resolve("nope"), backend));
        assertMessage("no model_index.json", () -> StableDiffusionPipeline.load(dir, backend));
        Files.copy(MODEL.resolve("model_index.json"), dir.resolve("model_index.json"));
        assertMessage("lacks the 'text_encoder' folder", () -> StableDiffusionPipeline.load(dir, backend));
    }

    @Test
    void pngCarriesTheParameters(@TempDir Path dir) throws IOException {
        GenerationResult r = pipeline.generate(small("a photo of a cat").guidanceScale(5f).build());
        Path file = dir.resolve("cat.png");
        r.savePng(0, file);
        Map<String, String> text = Images.readPngText(file);
        String params = text.get("parameters");
        assertTrue(params.startsWith("a photo of a cat\n"), params);
        assertTrue(params.contains("Steps: 2, Sampler: pndm, CFG scale: 5.0, Seed: 7"), params);
        BufferedImage back = ImageIO.read(file.toFile());
        assertTrue(java.util.Arrays.equals(pixels(r.images().get(0)), pixels(back)), "PNG is lossless");
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
        assertNotEquals(null, text.get("Software"));
    }

    private interface Failing {
        void run() throws Exception;
    }

    private static void assertMessage(String part, Failing f) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, f::run);
        assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
    }
}
