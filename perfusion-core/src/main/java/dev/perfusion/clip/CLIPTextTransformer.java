package dev.perfusion.clip;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.LayerNorm;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.List;

/**
 * transformers' {@code CLIPTextTransformer}, the module under the {@code text_model} key:
 * <pre>
 *   h_0  = embeddings(ids)                         token + position embeddings      [B, L, D]
 *   h_k  = encoder.layers[k−1](h_{k−1}), k = 1..N  causal pre-LN transformer blocks [B, L, D]
 *   last = final_layer_norm(h_N)                                                    [B, L, D]
 *   pooled[b] = last[b, p_b]                                                        [B, D]
 * </pre>
 * with p_b = argmax_t ids[b, t] when {@code eos_token_id == 2} (SD v1.x's legacy configs; for CLIP's
 * vocabulary this is the first 49407), otherwise the first t with ids[b, t] = eos_token_id (0 if none).
 * argmax takes the first of equal maxima, as torch's does.
 *
 * <p>Source: transformers {@code src/transformers/models/clip/modeling_clip.py}, class
 * {@code CLIPTextTransformer} (4.45.0.dev0, commit d6751d91).
 */
public final class CLIPTextTransformer extends Module {
    private final CLIPTextConfig config;
    private final CLIPTextEmbeddings embeddings;
    private final CLIPEncoder encoder;
    private final LayerNorm finalLayerNorm;

    /** Modules for {@code config}; weights start at zero until loaded or initialised. */
    public CLIPTextTransformer(Backend backend, CLIPTextConfig config) {
        super(backend);
        this.config = config;
        this.embeddings = registerModule("embeddings", new CLIPTextEmbeddings(backend, config));
        this.encoder = registerModule("encoder", new CLIPEncoder(backend, config));
        this.finalLayerNorm = registerModule("final_layer_norm",
                new LayerNorm(backend, config.hiddenSize(), config.layerNormEps(), true));
    }

    /**
     * The encoding of in-vocabulary token ids.
     *
     * @param inputIds           [B, L] INT64 or INT32, each in [0, V), L ≤ P
     * @param outputHiddenStates whether to return all N+1 hidden states as well
     */
    public CLIPTextOutput forward(Tensor inputIds, boolean outputHiddenStates) {
        long[] ids = embeddings.checkIds(inputIds, config.maxPositionEmbeddings(), config.vocabSize(),
                "vocab_size " + config.vocabSize());
        Tensor h0 = embeddings.forward(inputIds); // [B, L, D]
        return encode(h0, ids, outputHiddenStates);
    }

    /**
     * The encoding of token embeddings gathered by the caller (transformers' {@code inputs_embeds}), so that
     * gradients can flow through the frozen encoder into them.
     *
     * @param inputsEmbeds       [B, L, D] token embeddings, without positions; stays the caller's
     * @param inputIds           [B, L] the ids the embeddings stand for: only used to find the pooling position,
     *                           so ids ≥ V (placeholders) are allowed. With legacy pooling such an id is the row's
     *                           argmax and so the pooling position, exactly as in transformers after
     *                           {@code add_tokens}; SD v1.x never reads the pooled output
     * @param outputHiddenStates whether to return all N+1 hidden states as well
     */
    public CLIPTextOutput forwardEmbeds(Tensor inputsEmbeds, Tensor inputIds, boolean outputHiddenStates) {
        long[] ids = embeddings.checkIds(inputIds, config.maxPositionEmbeddings(), Long.MAX_VALUE, "any id");
        if (inputsEmbeds == null || inputsEmbeds.rank() != 3 || inputsEmbeds.dim(0) != inputIds.dim(0)
                || inputsEmbeds.dim(1) != inputIds.dim(1) || inputsEmbeds.dim(2) != config.hiddenSize()) {
            throw new IllegalArgumentException("token embeddings must be [" + inputIds.dim(0) + ", " + inputIds.dim(1)
                    + ", " + config.hiddenSize() + "] to match input ids " + inputIds.shape() + ", got "
                    + (inputsEmbeds == null ? "null" : inputsEmbeds.shape().toString()));
        }
        if (inputsEmbeds.dtype() != DType.FLOAT32 || inputsEmbeds.backend() != backend()) {
            throw new IllegalArgumentException("token embeddings must be FLOAT32 on backend '" + backend().name()
                    + "', got " + inputsEmbeds.dtype() + " on '" + inputsEmbeds.backend().name() + "'");
        }
        Tensor h0 = embeddings.addPositions(inputsEmbeds); // [B, L, D]
        return encode(h0, ids, outputHiddenStates);
    }

    /** Encoder, final LayerNorm and pooling from h0, which this method owns. */
    private CLIPTextOutput encode(Tensor h0, long[] ids, boolean outputHiddenStates) {
        if (outputHiddenStates) {
            List<Tensor> states = encoder.forwardAll(h0);              // N+1 × [B, L, D]
            Tensor last = finalLayerNorm.forward(states.get(states.size() - 1)); // [B, L, D]
            Tensor pooled = pool(last, ids);                            // [B, D]
            return new CLIPTextOutput(last, pooled, states);
        }
        Tensor hN = encoder.forward(h0);              // [B, L, D]
        Tensor last = finalLayerNorm.forward(hN);     // [B, L, D]
        Tensor pooled = pool(last, ids);              // [B, D]
        Intermediates.release(last, h0, hN);
        return new CLIPTextOutput(last, pooled, List.of());
    }

    /** last [B, L, D] → last[b, p_b, :] [B, D], gathered as rows of last viewed as a [B·L, D] table. */
    private Tensor pool(Tensor last, long[] ids) {
        int b = last.dim(0);
        int len = last.dim(1);
        long[] rows = new long[b];
        for (int i = 0; i < b; i++) {
            rows[i] = (long) i * len + poolingPosition(ids, i * len, len);
        }
        Tensor flat = Ops.reshape(last, Shape.of(b * len, config.hiddenSize())); // [B·L, D]
        Tensor index = backend().fromArray(rows, Shape.of(b));                    // [B]
        Tensor pooled = Ops.embedding(flat, index);                               // [B, D]
        return Intermediates.release(pooled, flat, index);
    }

    /** p for the row ids[from .. from+len). */
    private int poolingPosition(long[] ids, int from, int len) {
        int best = 0;
        if (config.legacyPooling()) {
            for (int t = 1; t < len; t++) {
                if (ids[from + t] > ids[from + best]) {
                    best = t;
                }
            }
            return best;
        }
        for (int t = 0; t < len; t++) {
            if (ids[from + t] == config.eosTokenId()) {
                return t;
            }
        }
        return 0;
    }

    /** The configuration this module was built for. */
    public CLIPTextConfig config() {
        return config;
    }

    /** {@code embeddings}. */
    public CLIPTextEmbeddings embeddings() {
        return embeddings;
    }

    /** {@code encoder}. */
    public CLIPEncoder encoder() {
        return encoder;
    }

    /** {@code final_layer_norm}. */
    public LayerNorm finalLayerNorm() {
        return finalLayerNorm;
    }
}
