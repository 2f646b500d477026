package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.perfusion.ConceptFile;
import dev.perfusion.perfusion.TrainMode;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation end to end on a throwaway, untrained toy model with a minimal budget (1 step, 1 seed, 1 β, 2 DDIM
 * steps): every output is written and every number is in range. Quality is the real evaluation's business.
 */
@Tag("unit")
class ToyEvaluationTest {
    @TempDir
    Path dir;

    @Test
    void writesEveryOutputWithNumbersInRange() throws Exception {
        List<String> tasks = new ArrayList<>();
        ToyProgressListener listener = new ToyProgressListener() {
            @Override
            public void onProgress(String task, int done, int total, String detail) {
                assertTrue(done >= 1 && done <= total, task + " " + done + "/" + total);
                if (tasks.isEmpty() || !tasks.get(tasks.size() - 1).equals(task)) {
                    tasks.add(task);
                }
            }
        };
        Path out = dir.resolve("eval");
        ToyEvaluation.Result r = ToyEvaluation.builder().model(ToyTestModel.get()).output(out)
                .imagesPerConcept(2).trainSteps(1).batchSize(1).betas(List.of(0.7f)).seeds(List.of(5L))
                .samplingSteps(2).covarianceCaptions(64).backend(ToyTestModel.backend()).listener(listener).build()
                .run();
        assertEquals(out.toAbsolutePath().normalize(), r.output());
        // 2 concepts × (PERFUSION, NO_KEY_LOCKING at one β + EMBEDDING_ONLY) + the 3 means
        assertEquals(9, r.points().size());
        for (ToyEvaluation.Point p : r.points()) {
            assertTrue(p.fidelity() >= 0 && p.fidelity() <= 1, p.toString());
            assertTrue(p.alignment() >= 0 && p.alignment() <= 1, p.toString());
            assertTrue(p.strict() >= 0 && p.strict() <= 1, p.toString());
            assertEquals(p.concept() == null ? 12 : 6, p.images(), p.toString());
            assertEquals(p.mode() == TrainMode.EMBEDDING_ONLY, p.beta() == null, p.toString());
        }
        assertEquals(4, r.compositionTotal());
        assertTrue(r.compositionSuccesses() >= 0 && r.compositionSuccesses() <= 4);
        assertEquals(Map.of(TrainMode.NO_KEY_LOCKING, r.dominates().get(TrainMode.NO_KEY_LOCKING),
                TrainMode.EMBEDDING_ONLY, r.dominates().get(TrainMode.EMBEDDING_ONLY)), r.dominates());
        assertEquals(6, r.conceptFileBytes().size());
        assertEquals(ConceptFile.tensorBytes(768, 12_480), r.sd15TensorBytes());
        assertTrue(r.sd15FileBytes() > r.sd15TensorBytes() && r.sd15FileBytes() <= 110_000,
                "SD v1.5 concept file " + r.sd15FileBytes() + " bytes");
        assertTrue(tasks.contains("covariance") && tasks.contains("train <ring> PERFUSION")
                && tasks.contains("compose <ring> + <diamond>"), tasks.toString());

        for (String f : List.of("results.csv", "sweep.png", "summary.md", "composition.png", "toy.cov",
                "grids/ring-perfusion.png", "grids/ring-no-key-locking.png", "grids/ring-embedding-only.png",
                "grids/diamond-perfusion.png", "concepts/ring-perfusion.perfusion",
                "concepts/diamond-embedding-only.perfusion", "concepts/ring-images/ring-01.png",
                "concepts/diamond-masks/diamond-00.png")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        for (Map.Entry<String, Long> e : r.conceptFileBytes().entrySet()) {
            assertEquals(Files.size(out.resolve("concepts").resolve(e.getKey())), e.getValue());
            assertTrue(e.getValue() < 20_000, "toy concept files are a few KB: " + e);
            assertEquals(e.getKey().contains("no-key") ? TrainMode.NO_KEY_LOCKING
                    : e.getKey().contains("embedding") ? TrainMode.EMBEDDING_ONLY : TrainMode.PERFUSION,
                    ConceptFile.read(out.resolve("concepts").resolve(e.getKey())).mode());
        }
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals("mode,concept,beta,fidelity,alignment,strict,images", csv.get(0));
        assertEquals(10, csv.size());
        assertTrue(csv.contains(csv.stream().filter(l -> l.startsWith("EMBEDDING_ONLY,<ring>,,")).findFirst()
                .orElse("missing")), csv.toString());
        BufferedImage plot = ImageIO.read(out.resolve("sweep.png").toFile());
        assertEquals(ToySweepPlot.WIDTH, plot.getWidth());
        BufferedImage grid = ImageIO.read(out.resolve("grids/ring-perfusion.png").toFile());
        assertTrue(grid.getHeight() >= 6 * 128, "6 prompts × ×4 upscaled rows: " + grid.getHeight());
        String summary = Files.readString(out.resolve("summary.md"));
        for (String s : List.of("### Per mode", "### Does key-locked Perfusion dominate", "### Two concepts",
                "### Concept file sizes", "SD v1.5 widths", "| Perfusion (key-locked) |")) {
            assertTrue(summary.contains(s), "summary.md has " + s);
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().contains(".partial-")), "no temporary leftovers");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ToyEvaluation.builder()
                .model(ToyTestModel.get()).output(out).build().run());
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
    }

    @Test
    void dominationIsBeingOnOrUnderTheCurve() {
        List<ToyEvaluation.Point> perf = List.of(point(0.9, 0.6), point(0.7, 0.8), point(0.5, 0.9));
        // under a point, under a segment, above the segment, right of every point
        List<ToyEvaluation.Point> abl = List.of(point(0.6, 0.75), point(0.8, 0.69), point(0.8, 0.71),
                point(0.95, 0.1));
        assertEquals(2, ToyEvaluationReport.dominated(perf, abl));
        assertEquals(1, ToyEvaluationReport.dominated(perf, List.of(point(0.5, 0.9))), "a tie is dominated");
    }

    @Test
    void gridsUpscaleWithNearestNeighbour() {
        BufferedImage a = ToyRenderer.toImage(ToyRenderer.render(ToyDataset.namedScene(1, 2)));
        BufferedImage b = ToyRenderer.toImage(ToyRenderer.render(ToyDataset.namedScene(2, 1)));
        BufferedImage g = ToyImageGrid.draw(List.of(List.of(a, b), List.of(b)), List.of("row one", "row two"),
                List.of("seed 0", "seed 1"), 4);
        BufferedImage up = ToyImageGrid.upscale(b, 4);
        assertEquals(128, up.getWidth());
        for (int y = 0; y < 128; y++) {
            for (int x = 0; x < 128; x++) {
                assertEquals(b.getRGB(x / 4, y / 4), up.getRGB(x, y));
            }
        }
        assertTrue(g.getWidth() > 2 * 128 && g.getHeight() > 2 * 128, g.getWidth() + "x" + g.getHeight());
        assertThrows(IllegalArgumentException.class, () -> ToyImageGrid.draw(List.of(List.of(a)), List.of(), null, 4));
    }

    @Test
    void settingsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> ToyEvaluation.builder().output(dir).build());
        assertThrows(IllegalArgumentException.class, () -> ToyEvaluation.builder().model(dir).output(dir)
                .betas(List.of()).build());
        assertThrows(IllegalArgumentException.class, () -> ToyEvaluation.builder().model(dir).output(dir)
                .concepts(List.of(NovelConcept.RING, NovelConcept.RING)).build());
        ToyEvaluation d = ToyEvaluation.builder().model(dir).output(dir).backend(ToyTestModel.backend()).build();
        assertEquals(List.of(NovelConcept.RING, NovelConcept.DIAMOND), d.concepts());
        assertEquals(4, d.batchSize() * d.gradientAccumulation());
        assertEquals(8, d.seeds().size());
        assertEquals(6, d.imagesPerConcept());
    }

    private static ToyEvaluation.Point point(double alignment, double fidelity) {
        return new ToyEvaluation.Point(TrainMode.PERFUSION, null, 0.7f, fidelity, alignment, 0, 1);
    }
}
