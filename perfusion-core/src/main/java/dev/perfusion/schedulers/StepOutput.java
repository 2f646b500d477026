package dev.perfusion.schedulers;

import dev.perfusion.tensor.Tensor;

/**
 * The result of one sampler step, diffusers' {@code SchedulerOutput}. The caller owns both tensors (they belong to
 * the caller's {@link dev.perfusion.tensor.TensorScope}, if one is open) and may close them independently of the
 * sampling run.
 *
 * @param prevSample          x_{t−1}: the sample for the next step (or the final latents), shaped like the input
 * @param predOriginalSample  the step's estimate of the clean sample x₀ (diffusers' {@code pred_original_sample}), or
 *                            null for PNDM, which never forms one
 */
public record StepOutput(Tensor prevSample, Tensor predOriginalSample) implements AutoCloseable {

    /** Closes both tensors. */
    @Override
    public void close() {
        prevSample.close();
        if (predOriginalSample != null) {
            predOriginalSample.close();
        }
    }
}
