package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.perfusion.ConceptFile;
import dev.perfusion.perfusion.TrainMode;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The main command's engine end to end on a throwaway toy model with a minimal budget: outputs and ranges. */
@Tag("unit")
class ToyDemoTest {
    @TempDir
    Path dir;

    @Test
    void trainsSamplesAndMeasuresOneConcept() throws Exception {
        Path out = dir.resolve("demo");
        int[] trainSteps = {0};
        ToyDemo.Result r = ToyDemo.builder().model(ToyTestModel.get()).output(out).imageCount(2).trainSteps(2)
                .batchSize(1).seeds(List.of(3L)).samplingSteps(2).betas(List.of(0.6f, 0.8f)).covarianceCaptions(64)
                .backend(ToyTestModel.backend()).listener(new ToyProgressListener() {
                    @Override
                    public void onProgress(String task, int done, int total, String detail) {
                        if (task.startsWith("train")) {
                            trainSteps[0] = done;
                            assertTrue(detail.startsWith("loss "), detail);
                        }
                    }
                }).build().run();
        assertEquals(2, trainSteps[0]);
        assertEquals(2, r.losses().length);
        assertEquals(out.toAbsolutePath().normalize().resolve("ring.perfusion"), r.conceptFile());
        assertTrue(Files.isRegularFile(r.conceptFile()));
        assertEquals(Files.size(r.conceptFile()), r.conceptBytes());
        assertEquals(TrainMode.PERFUSION, ConceptFile.read(r.conceptFile()).mode());
        for (String f : List.of("grid.png", "metrics.md", "covariance.cov", "images/ring-00.png", "masks/ring-01.png")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        BufferedImage grid = ImageIO.read(r.grid().toFile());
        assertTrue(grid.getHeight() >= 4 * 128 && grid.getWidth() >= 128, "4 rows × 1 seed, ×4: " + grid.getWidth()
                + "x" + grid.getHeight());
        // the mini-sweep: 0.6, the grid's default β, 0.8
        assertEquals(3, r.metrics().size());
        assertEquals(List.of(0.6f, r.defaultBeta(), 0.8f), r.metrics().stream().map(ToyDemo.Metrics::beta).toList());
        for (ToyDemo.Metrics m : r.metrics()) {
            assertEquals(4, m.images());
            assertTrue(m.fidelity() >= 0 && m.fidelity() <= 1, m.toString());
            assertTrue(m.alignment() >= 0 && m.alignment() <= 1, m.toString());
            assertTrue(m.strict() >= 0 && m.strict() <= 1, m.toString());
        }
        String md = Files.readString(out.resolve("metrics.md"));
        assertTrue(md.contains("| β | fidelity | alignment | strict | images |") && md.contains("(grid)"), md);
        assertTrue(md.contains(ToyDemo.defaultPrompts(NovelConcept.RING).get(0)), md);
    }

    @Test
    void settingsAreChecked() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ToyDemo.builder().model(dir).output(dir).concept(null).build());
        assertTrue(e.getMessage().contains("images"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ToyDemo.builder().model(dir).output(dir).concept(null)
                .images(dir).build());
        ToyDemo d = ToyDemo.builder().model(dir).output(dir).backend(ToyTestModel.backend()).build();
        assertEquals(NovelConcept.RING, d.concept());
        assertEquals(4, ToyDemo.defaultPrompts(NovelConcept.RING).size());
        for (String p : ToyDemo.defaultPrompts(NovelConcept.RING)) {
            assertTrue(ToyCaptions.parse(p).objects().stream().anyMatch(o -> o.concept() == NovelConcept.RING), p);
        }
        Files.writeString(dir.resolve("busy.txt"), "x");
        e = assertThrows(IllegalArgumentException.class, () -> d.run());
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
    }
}
