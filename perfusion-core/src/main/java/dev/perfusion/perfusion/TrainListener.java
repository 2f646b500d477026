package dev.perfusion.perfusion;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

/**
 * Progress, validation previews, checkpoints and cooperative cancellation of a Perfusion training run (like
 * {@link dev.perfusion.pipeline.GenerationListener}). Called on the training thread.
 */
public interface TrainListener {
    /** A listener that does nothing. */
    TrainListener NONE = new TrainListener() {
    };

    /**
     * After each optimizer step.
     *
     * @param step 1-based optimizer step just taken
     * @param loss the mean loss of its micro-batches
     * @param lrs  the learning rate of each parameter group: {@code [embedding, values]}; {@code [embedding,
     *             values, keys]} with {@link TrainMode#NO_KEY_LOCKING}, {@code [embedding]} with
     *             {@link TrainMode#EMBEDDING_ONLY}
     * @param etaSeconds estimated seconds left
     */
    default void onStep(int step, double loss, double[] lrs, double etaSeconds) {
    }

    /**
     * Every {@link TrainConfig#validationEvery()} steps: previews of the model's current one-step denoising
     * estimate x̂₀ = (z_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t of the last micro-batch, decoded by the VAE (a cheap view of what
     * the edit makes of the training images; full sampling is {@code Perfusion.sample}).
     */
    default void onValidation(int step, List<BufferedImage> images) {
    }

    /** After a checkpoint was written (atomically) to {@code path}. */
    default void onCheckpoint(Path path) {
    }

    /** Polled before each optimizer step; true stops the run with {@link PerfusionTrainer.TrainingCancelledException}. */
    default boolean isCancelled() {
        return false;
    }
}
