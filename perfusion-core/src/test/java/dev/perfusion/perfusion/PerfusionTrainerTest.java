package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Perfusion training on the tiny golden model (tiny-sd15, the reference backend — faster than ND4J at these tiny shapes —, 64×64 images → 8×8 latents, batch 1) with a
 * covariance estimated from the 300 PartiPrompts captions: an interrupted and resumed run is bit-identical to
 * an uninterrupted one, the concept round-trips through its file, NaN stops the run keeping the last checkpoint,
 * bad inputs fail clearly before anything is written. The falling loss is {@link PerfusionTrainingCurveTest}
 * (slow).
 */
@Tag("unit")
class PerfusionTrainerTest {
    private static final Path TINY = Path.of("src/test/resources/golden/tiny-sd15");

    @TempDir
    static Path shared;
    @TempDir
    Path dir;

    private static StableDiffusionPipeline pipe;
    private static Path covFile;
    private static Path images;

    @BeforeAll
    static void load() throws Exception {
        pipe = StableDiffusionPipeline.load(TINY, new ReferenceBackend());
        covFile = covariance(pipe, shared);
        images = images(shared);
    }

    /** C⁻¹ of the tiny text encoder from the 300 PartiPrompts captions, written to {@code dir}. */
    static Path covariance(StableDiffusionPipeline pipe, Path dir) throws Exception {
        String base = Fingerprints.baseModel(pipe.textEncoder(), pipe.unet());
        Covariance cov = Covariance.estimate(pipe.textEncoder(), pipe.tokenizer(),
                Files.readAllLines(Path.of("src/test/resources/data/partiprompts-300.txt")), 64, null);
        Path f = dir.resolve("c_inv.safetensors");
        cov.write(f, base, "partiprompts-300", 0.05); // ridge as the golden module's C (golden README §10)
        return f;
    }

    /** Three 64×64 PNGs: a red oval and a black box on white, shifted a little in each. */
    static Path images(Path dir) throws Exception {
        Path out = dir.resolve("images");
        Files.createDirectories(out);
        Color[] colors = {Color.RED, new Color(200, 40, 40), new Color(230, 60, 20)};
        for (int i = 0; i < colors.length; i++) {
            BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, 64, 64);
            g.setColor(colors[i]);
            g.fillOval(8 + 4 * i, 12, 36, 40);
            g.setColor(Color.BLACK);
            g.fillRect(40, 4 + 6 * i, 14, 10);
            g.dispose();
            ImageIO.write(img, "png", out.resolve("shape" + i + ".png").toFile());
        }
        return out;
    }

    @AfterAll
    static void close() {
        if (pipe != null) {
            pipe.close();
        }
    }

    private TrainConfig.Builder config(Path out) {
        return TrainConfig.builder().images(images).placeholder("<teddy>").superclass("teddy").covariance(covFile)
                .output(out.resolve("teddy.perfusion")).checkpointDir(out.resolve("ckpt")).resolution(64)
                .batchSize(1).gradientAccumulation(1).steps(30).checkpointEvery(0).seed(7)
                .templates(List.of("a photo of a {}", "a good photo of the {}", "a {} on a table"));
    }

    @Test
    void resumedRunIsBitIdentical() throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        TrainConfig ca = config(a).steps(2).checkpointEvery(1).gradientAccumulation(2).build();
        TrainConfig cb = config(b).steps(2).checkpointEvery(1).gradientAccumulation(2).build();
        PerfusionTrainer.TrainResult full = PerfusionTrainer.create(pipe, ca, 0).train(TrainListener.NONE);

        int[] steps = {0};
        List<Path> checkpoints = new ArrayList<>();
        TrainListener stopAt1 = new TrainListener() {
            @Override
            public void onStep(int step, double loss, double[] lrs, double eta) {
                steps[0] = step;
            }

            @Override
            public void onCheckpoint(Path path) {
                checkpoints.add(path);
            }

            @Override
            public boolean isCancelled() {
                return steps[0] >= 1;
            }
        };
        assertThrows(PerfusionTrainer.TrainingCancelledException.class,
                () -> PerfusionTrainer.create(pipe, cb, 0).train(stopAt1));
        assertEquals(1, checkpoints.size());
        assertFalse(Files.exists(cb.output()), "a cancelled run writes no concept");
        PerfusionTrainer.TrainResult resumed = PerfusionTrainer.create(pipe, cb, 0).resume(checkpoints.get(0),
                TrainListener.NONE);

        assertArrayEquals(full.losses(), resumed.losses());
        Concept x = full.concept();
        Concept y = resumed.concept();
        assertArrayEquals(x.embedding(), y.embedding());
        assertArrayEquals(x.iStar(), y.iStar());
        assertArrayEquals(x.keys(), y.keys());
        assertArrayEquals(x.values(), y.values());

        // a checkpoint from other settings is refused
        TrainConfig other = config(b).steps(2).seed(8).gradientAccumulation(2).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PerfusionTrainer.create(pipe, other, 0).resume(checkpoints.get(0), TrainListener.NONE));
        assertTrue(e.getMessage().contains("other settings"), e.getMessage());
    }

    @Test
    void conceptRoundTripsAndLoadsAgainstTheModel() throws Exception {
        TrainConfig cfg = config(dir).steps(1).build();
        PerfusionTrainer.TrainResult r = PerfusionTrainer.create(pipe, cfg, 0).train(null);
        Covariance.InverseFile inv = Covariance.read(covFile);
        Concept c = ConceptFile.load(cfg.output(), ConceptFile.Requirements.of(pipe.textEncoder(), pipe.unet(),
                pipe.tokenizer(), inv.fingerprint(), false));
        assertArrayEquals(r.concept().embedding(), c.embedding());
        assertArrayEquals(r.concept().iStar(), c.iStar());
        assertArrayEquals(r.concept().keys(), c.keys());
        assertArrayEquals(r.concept().values(), c.values());
        assertEquals("teddy", c.superclass());
        assertEquals(KeyLockedEdit.INFER_BETA, c.beta());
        assertTrue(c.training().contains("\"lr_values\""), c.training());
    }

    @Test
    void nanLossStopsAndKeepsTheLastCheckpoint() throws Exception {
        TrainConfig cfg = config(dir).steps(4).checkpointEvery(1).build();
        PerfusionTrainer tr = PerfusionTrainer.create(pipe, cfg, 0);
        tr.poisonLoss(k -> k == 2); // micro-batch 2 = step 3 (accumulation 1)
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> tr.train(null));
        assertTrue(e.getMessage().contains("loss is NaN at step 3"), e.getMessage());
        assertTrue(e.getMessage().contains("checkpoint-000002.pft"), e.getMessage());
        assertFalse(Files.exists(cfg.output()));
        try (Stream<Path> s = Files.list(cfg.checkpointDir())) {
            assertEquals(List.of("checkpoint-000001.pft", "checkpoint-000002.pft"),
                    s.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary or partial files");
        }
        TrainCheckpoint ck = TrainCheckpoint.read(
                cfg.checkpointDir().resolve("checkpoint-000002.pft"));
        assertEquals(2, ck.step());
        assertTrue(Arrays.stream(ck.losses()).allMatch(Double::isFinite));
    }

    @Test
    void badInputsFailClearlyAndWriteNothing() throws Exception {
        Path empty = dir.resolve("empty");
        Files.createDirectories(empty);
        assertBad(config(dir).images(empty), "has no .png/.jpg/.jpeg images");

        Path broken = dir.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(images.resolve("shape0.png"), broken.resolve("a.png"));
        Files.writeString(broken.resolve("b.png"), "not an image");
        assertBad(config(dir).images(broken), "b.png");

        assertBad(config(dir).placeholder("dog"), "already a CLIP vocabulary word");
        assertBad(config(dir).superclass("teddy bear"), "2 CLIP tokens");

        Path small = dir.resolve("small.safetensors");
        double[] eye = new double[8 * 8];
        for (int i = 0; i < 8; i++) {
            eye[i * 9] = 1;
        }
        new Covariance(8, eye, 1, 1).write(small, "", "identity", 0);
        assertBad(config(dir).covariance(small), "is 8×8 but the text encoder is");

        assertBad(config(dir).templates(List.of("a photo of a {}", "{} and {}")), "exactly one {}");
        assertThrows(IllegalArgumentException.class, () -> config(dir).batchSize(0).build());
        assertThrows(IllegalArgumentException.class, () -> config(dir).tau(0).build());
        assertThrows(IllegalArgumentException.class, () -> config(dir).checkpointDir(null).checkpointEvery(5).build());
    }

    private void assertBad(TrainConfig.Builder b, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PerfusionTrainer.create(pipe, b.build(), 0).train(null));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
        assertFalse(Files.exists(dir.resolve("teddy.perfusion")));
        assertFalse(Files.exists(dir.resolve("ckpt")));
    }
}
