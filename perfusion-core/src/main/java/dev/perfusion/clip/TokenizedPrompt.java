package dev.perfusion.clip;

import java.util.List;

/**
 * A prompt tokenised for the text encoder ({@link CLIPTokenizer#encodeDetailed}): the 77 input ids, and what
 * truncation removed.
 *
 * @param inputIds   {@value CLIPTokenizer#CONTEXT_LENGTH} ids: {@code <|startoftext|>}, at most 75 prompt tokens,
 *                   {@code <|endoftext|>}, then {@code <|endoftext|>} padding (Stable Diffusion v1.x)
 * @param tokens     the prompt tokens kept (BPE strings in byte symbols, {@code </w>} ending words; added
 *                   tokens as written), without the start/end tokens and padding
 * @param truncated  true when the prompt had more than 75 tokens
 * @param cutTokens  the tokens dropped by truncation, in order (empty when not truncated)
 * @param cutText    {@code cutTokens} decoded back to text (empty when not truncated)
 */
public record TokenizedPrompt(int[] inputIds, List<String> tokens, boolean truncated, List<String> cutTokens,
        String cutText) {
    public TokenizedPrompt {
        inputIds = inputIds.clone();
        tokens = List.copyOf(tokens);
        cutTokens = List.copyOf(cutTokens);
    }

    /** A copy of the input ids (the record keeps its own). */
    @Override
    public int[] inputIds() {
        return inputIds.clone();
    }

    /** Number of prompt tokens before truncation (without the start/end tokens). */
    public int untruncatedTokenCount() {
        return tokens.size() + cutTokens.size();
    }
}
