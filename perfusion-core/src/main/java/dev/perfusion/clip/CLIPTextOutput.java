package dev.perfusion.clip;

import dev.perfusion.tensor.Tensor;
import java.util.List;

/**
 * What {@link CLIPTextModel} returns (transformers' {@code BaseModelOutputWithPooling}).
 *
 * @param lastHiddenState the final LayerNorm's output [B, L, D]: what Stable Diffusion feeds the UNet as
 *                        {@code encoder_hidden_states}
 * @param pooledOutput    {@code lastHiddenState[b, p_b, :]} [B, D] at the pooling position p_b of each row
 *                        ({@link CLIPTextConfig#legacyPooling()}); SD v1.x does not use it
 * @param hiddenStates    empty unless asked for; then N+1 tensors [B, L, D]: element 0 the embeddings (token +
 *                        position), element k the output of encoder layer k (before the final LayerNorm). Element
 *                        N−1 is {@code hidden_states[-2]}, what diffusers' {@code clip_skip=1} passes through the
 *                        final LayerNorm
 */
public record CLIPTextOutput(Tensor lastHiddenState, Tensor pooledOutput, List<Tensor> hiddenStates)
        implements AutoCloseable {

    public CLIPTextOutput {
        hiddenStates = List.copyOf(hiddenStates);
    }

    /** hidden_states.k, 0 ≤ k ≤ N. */
    public Tensor hiddenState(int k) {
        if (hiddenStates.isEmpty()) {
            throw new IllegalStateException("hidden states were not requested (pass outputHiddenStates = true)");
        }
        if (k < 0 || k >= hiddenStates.size()) {
            throw new IllegalArgumentException("hidden state " + k + " does not exist; there are " + hiddenStates.size()
                    + " (0 = embeddings, 1.." + (hiddenStates.size() - 1) + " = layer outputs)");
        }
        return hiddenStates.get(k);
    }

    /**
     * Closes every tensor of this output. An input handed in by the caller is never among them:
     * {@code hidden_states.0} is the embeddings' sum with the positions, made by the model.
     */
    @Override
    public void close() {
        lastHiddenState.close();
        pooledOutput.close();
        hiddenStates.forEach(Tensor::close);
    }
}
