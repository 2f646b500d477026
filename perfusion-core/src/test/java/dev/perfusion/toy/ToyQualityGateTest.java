package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The quality gate's mechanics on the tiny (barely trained) model of {@link ToyBaseTrainerTest#tinyModel()}: counts,
 * rates, the markdown table and the contact sheet. The rates themselves are meaningless at this budget.
 */
@Tag("unit")
class ToyQualityGateTest {
    private static Backend backend;
    private static StableDiffusionPipeline model;
    private static ToyQualityGate.Result result;
    private static final List<int[]> PROGRESS = new ArrayList<>();

    @BeforeAll
    static void runGate() throws IOException {
        backend = Backends.create("nd4j");
        model = StableDiffusionPipeline.load(ToyBaseTrainerTest.tinyModel(), backend);
        long t0 = System.nanoTime();
        result = ToyQualityGate.run(model, new ToyQualityGate.Settings(4, 2, 4f, 4, 0),
                (done, total) -> PROGRESS.add(new int[] {done, total}));
        System.out.printf("ToyQualityGateTest: gate of 4 + 4 images in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    @Test
    void checksEveryImageAgainstItsGateScene() {
        assertEquals(4, result.single().size());
        assertEquals(4, result.two().size());
        assertEquals(4, result.singleImages().size());
        assertEquals(4, result.twoImages().size());
        for (int i = 0; i < 4; i++) {
            assertEquals(ToyDataset.namedScene(ToyDataset.GATE_SEED_BASE + i, 1), result.single().get(i).expected());
            assertEquals(ToyDataset.namedScene(ToyDataset.GATE_SEED_BASE + i, 2), result.two().get(i).expected());
            assertEquals(1, result.single().get(i).objects().size());
            assertEquals(2, result.two().get(i).objects().size());
        }
        for (BufferedImage img : concat(result.singleImages(), result.twoImages())) {
            assertEquals(ToyWorld.SIZE, img.getWidth());
            assertEquals(ToyWorld.SIZE, img.getHeight());
        }
        // one pipeline call per batch of 4, each reporting the running count
        assertEquals(2, PROGRESS.size());
        assertEquals(List.of(4, 8), PROGRESS.stream().map(p -> p[0]).toList());
        assertTrue(PROGRESS.stream().allMatch(p -> p[1] == 8));
    }

    @Test
    void ratesAndMarkdown() {
        double single = result.singleRate();
        double two = result.twoRate();
        assertTrue(single >= 0 && single <= 1 && two >= 0 && two <= 1, single + ", " + two);
        assertEquals(result.single().stream().filter(CheckResult::allCorrect).count() / 4.0, single, 1e-12);
        assertEquals(result.two().stream().filter(CheckResult::allCorrect).count() / 4.0, two, 1e-12);
        assertEquals(single >= ToyQualityGate.SINGLE_TARGET && two >= ToyQualityGate.TWO_TARGET, result.passes());
        for (List<CheckResult> l : List.of(result.single(), result.two())) {
            double[] a = ToyQualityGate.Result.attributeRates(l);
            assertEquals(5, a.length);
            for (double v : a) {
                assertTrue(v >= 0 && v <= 1, "attribute rate " + v);
            }
        }
        String md = result.markdown();
        List<String> lines = md.lines().toList();
        assertEquals(4, lines.size(), md);
        assertTrue(lines.get(0).startsWith("| prompts | images | all attributes right |"), md);
        assertTrue(lines.get(2).startsWith("| one object | 4 | **"), md);
        assertTrue(lines.get(3).startsWith("| two objects | 4 | **"), md);
        assertTrue(lines.get(2).contains("| 80 % |") && lines.get(3).contains("| 50 % |"), md);
        assertTrue(lines.get(2).contains(String.format(java.util.Locale.ROOT, "**%.1f %%**", 100 * single)), md);
    }

    @Test
    void gridSizeIsColumnsTimesZoomedCells() {
        List<BufferedImage> all = concat(result.singleImages(), result.twoImages());
        BufferedImage g = ToyQualityGate.grid(all, 3, 2);
        int cell = ToyWorld.SIZE * 2 + 2;
        assertEquals(3 * cell, g.getWidth());
        assertEquals(3 * cell, g.getHeight(), "8 images in 3 columns take 3 rows");
        // the first image, scaled ×2 by nearest neighbour, starts one pixel in; the frame is grey
        BufferedImage first = all.get(0);
        assertEquals(first.getRGB(5, 7) & 0xFFFFFF, g.getRGB(1 + 10, 1 + 14) & 0xFFFFFF);
        assertEquals(first.getRGB(5, 7) & 0xFFFFFF, g.getRGB(1 + 11, 1 + 15) & 0xFFFFFF);
        assertEquals(0x808080, g.getRGB(0, 0) & 0xFFFFFF);
        BufferedImage wide = ToyQualityGate.grid(all, 8, 1);
        assertEquals(8 * (ToyWorld.SIZE + 2), wide.getWidth());
        assertEquals(ToyWorld.SIZE + 2, wide.getHeight());
    }

    @Test
    void reconstructionCeilingChecksTheGateScenesThroughTheVaeAlone() throws IOException {
        ToyQualityGate.Result tiny = ToyQualityGate.reconstructionCeiling(model.vae(), 3);
        assertEquals(3, tiny.single().size());
        assertEquals(3, tiny.twoImages().size());
        for (int i = 0; i < 3; i++) {
            assertEquals(ToyDataset.namedScene(ToyDataset.GATE_SEED_BASE + i, 2), tiny.two().get(i).expected());
        }
        assertThrows(IllegalArgumentException.class, () -> ToyQualityGate.reconstructionCeiling(model.vae(), 0));
        // the shipped model's VAE reproduces most one-object scenes well enough for the checker (measured 71.5 %
        // over 200 scenes; small triangles are what it blurs)
        Path shipped = Path.of("../models/toy-world/vae");
        try (dev.perfusion.vae.AutoencoderKL vae = dev.perfusion.vae.AutoencoderKL.load(shipped, backend)) {
            ToyQualityGate.Result r = ToyQualityGate.reconstructionCeiling(vae, 20);
            assertTrue(r.singleRate() >= 0.5, r.markdown());
            assertEquals(1.0, ToyQualityGate.Result.attributeRates(r.single())[4], 1e-9, "backgrounds: " + r.markdown());
        }
    }

    @Test
    void settingsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new ToyQualityGate.Settings(0, 2, 4f, 4, 0));
        assertThrows(IllegalArgumentException.class, () -> new ToyQualityGate.Settings(4, 0, 4f, 4, 0));
        assertThrows(IllegalArgumentException.class, () -> new ToyQualityGate.Settings(4, 2, 4f, 0, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ToyQualityGate.Settings(4, 2, 0.5f, 4, 0));
        assertTrue(e.getMessage().contains("guidance"), e.getMessage());
        assertEquals(new ToyQualityGate.Settings(200, 25, 4f, 50, 0), ToyQualityGate.Settings.defaults());
    }

    private static List<BufferedImage> concat(List<BufferedImage> a, List<BufferedImage> b) {
        List<BufferedImage> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
