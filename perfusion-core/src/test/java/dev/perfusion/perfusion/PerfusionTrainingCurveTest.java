package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training loss falls on the tiny golden model: 30 seeded steps of batch 2 (no accumulation, method learning
 * rates), mean of the last 5 steps below the mean of the first 5. Tagged {@code slow}: about 10 s per step on a
 * shared 2-core machine (the tiny UNet's backward on ND4J), so not in the unit tier. Prints the loss per step as CSV.
 * Run: {@code mvn -pl perfusion-core test -Dgroups=slow -Dtest=PerfusionTrainingCurveTest}; set
 * {@code -Dperfusion.curveSteps=100} for the documented curve.
 */
@Tag("slow")
class PerfusionTrainingCurveTest {
    @TempDir
    Path dir;

    @Test
    void trainingLowersTheLoss() throws Exception {
        int steps = Integer.getInteger("perfusion.curveSteps", 30);
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(Path.of("src/test/resources/golden/tiny-sd15"),
                new ReferenceBackend())) {
            TrainConfig cfg = TrainConfig.builder().images(PerfusionTrainerTest.images(dir)).placeholder("<teddy>")
                    .superclass("teddy").covariance(PerfusionTrainerTest.covariance(pipe, dir))
                    .output(dir.resolve("teddy.perfusion")).resolution(64).batchSize(2).gradientAccumulation(1)
                    .steps(steps).checkpointEvery(0).seed(7)
                    .templates(List.of("a photo of a {}", "a good photo of the {}", "a {} on a table")).build();
            double[] l = PerfusionTrainer.create(pipe, cfg, 0).train(null).losses();
            assertEquals(steps, l.length);
            StringBuilder csv = new StringBuilder("step,loss\n");
            for (int i = 0; i < l.length; i++) {
                csv.append(i + 1).append(',').append(String.format(Locale.ROOT, "%.6f", l[i])).append('\n');
            }
            System.out.print(csv);
            double first = Arrays.stream(l, 0, 5).average().orElseThrow();
            double last = Arrays.stream(l, steps - 5, steps).average().orElseThrow();
            System.out.printf(Locale.ROOT, "loss first 5 %.5f, last 5 %.5f%n", first, last);
            assertTrue(last < first, "loss should fall: first 5 " + first + ", last 5 " + last);
        }
    }
}
