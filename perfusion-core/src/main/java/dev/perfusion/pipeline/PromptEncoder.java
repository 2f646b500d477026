package dev.perfusion.pipeline;

import dev.perfusion.tensor.Tensor;
import java.util.List;

/**
 * Turns prompts into the UNet's text conditioning, replacing the pipeline's own CLIP encoding (e.g. to give
 * learned placeholder tokens their embeddings, see {@code dev.perfusion.perfusion.ConceptPrompts}).
 */
@FunctionalInterface
public interface PromptEncoder {
    /**
     * Encodes prompts (called under no-grad inside the generation's tensor scope).
     *
     * @param prompts B prompts, in batch order
     * @return the text states [B, 77, D] (the caller frees it)
     */
    Tensor encode(List<String> prompts);
}
