package dev.perfusion.pipeline;

import dev.perfusion.tensor.Tensor;
import java.util.List;

/**
 * Runs around a generation's denoising loop, e.g. to install attention processors that need the conditioning of
 * the whole UNet batch (Perfusion's edit: {@code dev.perfusion.perfusion.ConceptPrompts}).
 */
@FunctionalInterface
public interface GenerationHook {
    /**
     * Called once before the first denoising step.
     *
     * @param batchPrompts the prompt of every row of {@code context}, in UNet batch order: with classifier-free
     *                     guidance [negative…, prompt…] (negative "" when none was given), else [prompt…]; each
     *                     repeated imagesPerPrompt times
     * @param context      the text states the UNet gets on every step [2B or B, 77, D]
     * @return what undoes the hook; closed after the last step (also when the generation fails or is cancelled)
     */
    AutoCloseable beforeDenoising(List<String> batchPrompts, Tensor context);
}
