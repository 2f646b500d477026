package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training lowers the loss on the tiny golden model.
 *
 * <p>The noise-prediction loss of one step depends mostly on its random timestep and noise draw (±3 % step to step
 * here), which hides a small training effect in a plain before/after comparison. Every micro-batch's draw depends
 * only on (seed, micro-batch index), so a twin run with the same seed and learning rates of 1e-12 sees exactly the
 * same images, timesteps and noise without learning. The test compares the two runs step by step: the trained run's
 * loss minus the twin's, averaged over the second half of the run, must be negative.
 *
 * <p>Prints both curves as CSV ({@code docs/perfusion-training-curve.md} was made from it with
 * {@code -Dperfusion.curveSteps=100}).
 */
@Tag("unit")
class PerfusionTrainingCurveTest {
    @TempDir
    Path dir;

    @Test
    void trainingLowersTheLossAgainstAnUntrainedTwin() throws Exception {
        int steps = Integer.getInteger("perfusion.curveSteps", 24);
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(Path.of("src/test/resources/golden/tiny-sd15"),
                new ReferenceBackend())) {
            Path cov = PerfusionTrainerTest.covariance(pipe, dir);
            Path images = PerfusionTrainerTest.images(dir);
            double[] trained = run(pipe, images, cov, steps, 6e-3, 3e-2, "trained");
            double[] twin = run(pipe, images, cov, steps, 1e-12, 1e-12, "twin");
            assertEquals(steps, trained.length);
            StringBuilder csv = new StringBuilder("step,loss_trained,loss_untrained_twin,difference\n");
            double gain = 0;
            for (int i = 0; i < steps; i++) {
                csv.append(String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6f%n", i + 1, trained[i], twin[i], trained[i] - twin[i]));
                if (i >= steps / 2) {
                    gain += trained[i] - twin[i];
                }
            }
            gain /= steps - steps / 2;
            System.out.print(csv);
            System.out.printf(Locale.ROOT, "mean (trained − twin) over steps %d..%d: %.6f%n", steps / 2 + 1, steps, gain);
            assertTrue(gain < 0, "training should lower the loss against the untrained twin, got a mean difference of " + gain);
        }
    }

    private double[] run(StableDiffusionPipeline pipe, Path images, Path cov, int steps, double lrEmb, double lrVal,
                         String name) throws Exception {
        TrainConfig cfg = TrainConfig.builder().images(images).placeholder("<teddy>").superclass("teddy").covariance(cov)
                .output(dir.resolve(name + ".perfusion")).resolution(64).batchSize(2).gradientAccumulation(1)
                .steps(steps).checkpointEvery(0).seed(7).lrEmbedding(lrEmb).lrValues(lrVal)
                .templates(List.of("a photo of a {}", "a good photo of the {}", "a {} on a table")).build();
        return PerfusionTrainer.create(pipe, cfg, 0).train(null).losses();
    }
}
