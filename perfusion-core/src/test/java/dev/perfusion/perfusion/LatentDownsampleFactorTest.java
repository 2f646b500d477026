package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.GenerationResult;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.vae.AutoencoderKL;
import dev.perfusion.vae.AutoencoderKLConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model whose VAE has 3 levels (block_out_channels [32, 32, 64]: downsample factor 4, 32×32 images ↔ 8×8
 * latents) with randomly initialised weights, the rest being tiny-sd15: the pipeline and the trainer take the
 * factor from the loaded VAE, not SD's 8, and their size errors name it.
 */
@Tag("unit")
class LatentDownsampleFactorTest {
    private static final Path TINY = Path.of("src/test/resources/golden/tiny-sd15");

    @TempDir
    static Path shared;
    @TempDir
    Path dir;

    private static Path model;
    private static StableDiffusionPipeline pipe;

    @BeforeAll
    static void build() throws Exception {
        model = factor4Model(shared.resolve("tiny-f4"));
        pipe = StableDiffusionPipeline.load(model, new ReferenceBackend());
    }

    @AfterAll
    static void close() {
        if (pipe != null) {
            pipe.close();
        }
    }

    /** tiny-sd15 with its VAE replaced by a seeded random 3-level one. */
    static Path factor4Model(Path out) throws Exception {
        for (String part : List.of("scheduler", "text_encoder", "tokenizer", "unet")) {
            Path src = TINY.resolve(part);
            Files.createDirectories(out.resolve(part));
            try (Stream<Path> files = Files.list(src)) {
                for (Path f : files.toList()) {
                    Files.copy(f, out.resolve(part).resolve(f.getFileName().toString()));
                }
            }
        }
        Files.copy(TINY.resolve("model_index.json"), out.resolve("model_index.json"));
        Path vae = out.resolve("vae");
        Files.createDirectories(vae);
        Files.writeString(vae.resolve("config.json"), """
                {"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [32, 32, 64],
                 "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
                 "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
                 "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 1,
                 "norm_num_groups": 32, "sample_size": 32, "scaling_factor": 0.18215}
                """);
        Backend be = new ReferenceBackend();
        try (AutoencoderKL v = new AutoencoderKL(be, AutoencoderKLConfig.read(vae))) {
            v.initialize(5);
            SafeTensors.write(vae.resolve("diffusion_pytorch_model.safetensors"), v.stateDict(), Map.of());
        }
        return out;
    }

    @Test
    void thePipelineGenerates32x32FromItsOwnLatentSize() {
        assertEquals(4, pipe.vae().config().downsampleFactor());
        assertEquals(4, pipe.latentFactor());
        GenerationResult r = pipe.generate(GenerationRequest.builder("a red cube").size(32, 32).steps(2).seed(3).build());
        assertEquals(32, r.images().get(0).getWidth());
        assertEquals(32, r.images().get(0).getHeight());
        // initial latents are h/4 × w/4
        GenerationResult z = pipe.generate(GenerationRequest.builder("a red cube").size(32, 32).steps(2).seed(3)
                .initialLatents(pipe.backend().randn(Shape.of(1, 4, 8, 8), 3)).build());
        int[] a = r.images().get(0).getRGB(0, 0, 32, 32, null, 0, 32);
        int[] b = z.images().get(0).getRGB(0, 0, 32, 32, null, 0, 32);
        assertTrue(Arrays.equals(a, b), "randn(seed) latents [1, 4, 8, 8] are the pipeline's own");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> pipe.generate(GenerationRequest.builder("x").size(32, 34).steps(1).build()));
        assertTrue(e.getMessage().contains("height 34 is not a multiple of the VAE's downsample factor 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> pipe.generate(GenerationRequest.builder("x").size(32, 32)
                .steps(1).initialLatents(pipe.backend().randn(Shape.of(1, 4, 4, 4), 1)).build()));
        assertTrue(e.getMessage().contains("height/4"), e.getMessage());
    }

    @Test
    void theTrainerTrainsAtResolution32() throws Exception {
        assertEquals(16 * 4, PerfusionTrainer.modelResolution(model), "UNet sample_size × the VAE's factor");
        assertEquals(16 * 8, PerfusionTrainer.modelResolution(TINY));
        Path cov = SampleFixture.get().covarianceFile; // the same text encoder as tiny-sd15
        Path images = TrainModeTrainingTest.oneImage(PerfusionTrainerTest.images(dir));
        TrainConfig.Builder b = TrainConfig.builder().images(images).placeholder("<teddy>").superclass("teddy")
                .covariance(cov).output(dir.resolve("teddy.perfusion")).resolution(32).batchSize(1)
                .gradientAccumulation(1).steps(2).checkpointEvery(0).seed(7).templates(List.of("a photo of a {}"));
        PerfusionTrainer tr = PerfusionTrainer.create(pipe, b.build(), 0);
        assertEquals(32, tr.resolution());
        PerfusionTrainer.TrainResult r = tr.train(null);
        assertEquals(2, r.losses().length);
        assertTrue(Arrays.stream(r.losses()).allMatch(Double::isFinite), Arrays.toString(r.losses()));
        Concept c = ConceptFile.load(dir.resolve("teddy.perfusion"), ConceptFile.Requirements.of(pipe.textEncoder(),
                pipe.unet(), pipe.tokenizer(), Covariance.read(cov).fingerprint(), false));
        assertEquals(pipe.unet().crossAttentionLayers().size(), c.layers().size());
        // resolution 0 is the model's: 16 × 4
        assertEquals(64, PerfusionTrainer.create(pipe, b.resolution(0).build(), PerfusionTrainer.modelResolution(model))
                .resolution());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PerfusionTrainer.create(pipe, b.resolution(34).build(), 0));
        assertTrue(e.getMessage().contains("34 is not a multiple of the VAE's downsample factor 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PerfusionTrainer.create(pipe, b.resolution(48).build(), 0));
        assertTrue(e.getMessage().contains("must be a multiple of 32"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.resolution(-8).build());
    }
}
