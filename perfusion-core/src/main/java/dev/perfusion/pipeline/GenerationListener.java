package dev.perfusion.pipeline;

import dev.perfusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.function.Supplier;

/**
 * Progress, previews and cooperative cancellation of a generation. Called on the generating thread; tensors in an
 * event are valid only during the call (copy what you keep).
 */
public interface GenerationListener {
    /** A listener that does nothing. */
    GenerationListener NONE = new GenerationListener() {
    };

    /** After each denoising step. */
    default void onStep(StepEvent event) {
    }

    /** Polled before each step; returning true stops the generation with a {@link GenerationCancelledException}. */
    default boolean isCancelled() {
        return false;
    }

    /**
     * One denoising step.
     *
     * @param step           0-based step index within the run
     * @param totalSteps     steps in the run
     * @param timestep       the timestep given to the UNet
     * @param unetInput      the UNet's sample input (both guidance halves, [uncond…, text…], after scaling)
     * @param unetOutput     the raw UNet output, same batch order
     * @param guidedNoise    the guided prediction ε_uncond + g·(ε_text − ε_uncond) (or the raw output without guidance)
     * @param latentsBefore  x_t
     * @param latentsAfter   x_{t−1}
     * @param preview        a cheap RGB approximation of the current latents (computed on demand)
     */
    record StepEvent(int step, int totalSteps, float timestep, Tensor unetInput, Tensor unetOutput,
                     Tensor guidedNoise, Tensor latentsBefore, Tensor latentsAfter,
                     Supplier<List<BufferedImage>> preview) {
    }
}
