package dev.perfusion.clip;

import dev.perfusion.io.ComponentFiles;
import dev.perfusion.nn.Embedding;
import dev.perfusion.nn.Module;
import dev.perfusion.nn.WeightStorage;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Stable Diffusion v1.x's text encoder: transformers' {@code CLIPTextModel} (the text half of CLIP ViT-L/14),
 * loading a transformers {@code text_encoder/} folder by identity.
 *
 * <pre>
 *   ids [B, L] ─ token_embedding + position_embedding ─ N × (x + attn(ln1 x); x + mlp(ln2 x)) ─ final LayerNorm
 *                                                                                              → last_hidden_state [B, L, D]
 * </pre>
 * Attention is causal (token t sees tokens 0..t) with no padding mask, as SD v1.x calls it; the MLP uses
 * quick_gelu x·σ(1.702x). Checkpoint keys, all under {@code text_model.}:
 * <pre>
 *   embeddings.token_embedding.weight                [V, D]
 *   embeddings.position_embedding.weight             [P, D]
 *   encoder.layers.{i}.self_attn.{q,k,v,out}_proj.{weight [D, D], bias [D]}
 *   encoder.layers.{i}.layer_norm1.{weight,bias}     [D]
 *   encoder.layers.{i}.mlp.fc1.{weight [F, D], bias [F]}
 *   encoder.layers.{i}.mlp.fc2.{weight [D, F], bias [D]}
 *   encoder.layers.{i}.layer_norm2.{weight,bias}     [D]
 *   final_layer_norm.{weight,bias}                   [D]
 * </pre>
 * ({@code text_model.embeddings.position_ids}, a buffer some files carry, holds no weights and is skipped.)
 *
 * <p>Three entry points: {@link #forward(Tensor)} for token ids; {@link #embed(Tensor, Tensor)} then
 * {@link #forwardEmbeds(Tensor, Tensor)} when some token embeddings are trainable (Perfusion's placeholder
 * rows, ids ≥ V), so that gradients flow through the frozen encoder into them; and the sub-modules
 * ({@link #textModel()}) for callers that need intermediate values.
 *
 * <p>Weights are frozen after loading; inference callers wrap calls in {@code Autograd.noGrad()} or rely on no
 * input requiring grad. The caller owns the returned {@link CLIPTextOutput}.
 *
 * <p>Source: transformers {@code src/transformers/models/clip/modeling_clip.py}, class {@code CLIPTextModel}
 * (4.45.0.dev0, commit d6751d91).
 */
public final class CLIPTextModel extends Module {
    /** Keys of weight files that carry no weights and are skipped when loading. */
    public static final List<String> IGNORED_KEYS = List.of("text_model.embeddings.position_ids");

    private final CLIPTextConfig config;
    private final CLIPTextTransformer textModel;

    /** A model for {@code config} with all weights zero (norms γ = 1); load or initialise it next. */
    public CLIPTextModel(Backend backend, CLIPTextConfig config) {
        super(backend);
        if (config == null) {
            throw new IllegalArgumentException("config is null");
        }
        this.config = config;
        this.textModel = registerModule("text_model", new CLIPTextTransformer(backend, config));
    }

    /**
     * Loads a transformers text encoder folder: {@code config.json} plus one safetensors weights file
     * ({@link ComponentFiles#WEIGHT_FILES}), strictly: every missing, unexpected or mis-shaped key is reported in
     * one error naming the file. fp16/bf16 weights stay in their precision ({@link WeightStorage#AS_STORED}).
     *
     * @throws IllegalArgumentException when the folder, its config or its weights are missing or do not match
     */
    public static CLIPTextModel load(Path textEncoderDir, Backend backend) throws IOException {
        return load(textEncoderDir, backend, WeightStorage.AS_STORED);
    }

    /** {@link #load(Path, Backend)} with a choice of how half-precision weights are kept. */
    public static CLIPTextModel load(Path textEncoderDir, Backend backend, WeightStorage storage) throws IOException {
        CLIPTextConfig config = CLIPTextConfig.read(textEncoderDir);
        Path weights = ComponentFiles.weightsFile(textEncoderDir);
        CLIPTextModel model = new CLIPTextModel(backend, config);
        try {
            ComponentFiles.loadStrict(model, weights, backend, IGNORED_KEYS, storage);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        return model;
    }

    /**
     * Encodes token ids: [B, L] (INT64 or INT32, ids in [0, V), L ≤ P; SD uses L = 77) → last hidden state
     * [B, L, D] and pooled output [B, D].
     *
     * @throws IllegalArgumentException for ids of the wrong rank, dtype or length, or out of range (naming the
     *                                  first bad id and its position)
     */
    public CLIPTextOutput forward(Tensor inputIds) {
        return forward(inputIds, false);
    }

    /** {@link #forward(Tensor)}, with all N+1 hidden states in the output when {@code outputHiddenStates}. */
    public CLIPTextOutput forward(Tensor inputIds, boolean outputHiddenStates) {
        return textModel.forward(inputIds, outputHiddenStates);
    }

    /**
     * Encodes token embeddings the caller gathered (usually with {@link #embed(Tensor, Tensor)}): inputsEmbeds
     * [B, L, D] without positions, inputIds [B, L] the ids they stand for, used only to choose the pooling
     * position. Gradients flow back into {@code inputsEmbeds} when it requires grad.
     */
    public CLIPTextOutput forwardEmbeds(Tensor inputsEmbeds, Tensor inputIds) {
        return forwardEmbeds(inputsEmbeds, inputIds, false);
    }

    /** {@link #forwardEmbeds(Tensor, Tensor)}, with all N+1 hidden states when {@code outputHiddenStates}. */
    public CLIPTextOutput forwardEmbeds(Tensor inputsEmbeds, Tensor inputIds, boolean outputHiddenStates) {
        return textModel.forwardEmbeds(inputsEmbeds, inputIds, outputHiddenStates);
    }

    /** The token embeddings (no positions) of in-vocabulary ids: [B, L] → [B, L, D]. */
    public Tensor embed(Tensor inputIds) {
        return textModel.embeddings().tokenEmbeds(inputIds, null); // [B, L, D]
    }

    /**
     * The token embeddings (no positions) of ids over the vocabulary extended by {@code extraRows} E [K, D]:
     * id i &lt; V gives {@code token_embedding.weight[i]}, id V + k gives E[k]. Equal to an embedding lookup in
     * concat(W, E); gradients reach E (when it requires grad) and not the frozen table. See
     * {@link CLIPTextEmbeddings#tokenEmbeds(Tensor, Tensor)}.
     *
     * @param inputIds  [B, L], ids in [0, V + K)
     * @param extraRows [K, D] FLOAT32, or null for none
     * @return [B, L, D]
     */
    public Tensor embed(Tensor inputIds, Tensor extraRows) {
        return textModel.embeddings().tokenEmbeds(inputIds, extraRows); // [B, L, D]
    }

    /** {@code text_model.embeddings.token_embedding}: the frozen [V, D] vocabulary table. */
    public Embedding tokenEmbedding() {
        return textModel.embeddings().tokenEmbedding();
    }

    /** {@code text_model}: embeddings, encoder layers and final LayerNorm, for access to intermediate values. */
    public CLIPTextTransformer textModel() {
        return textModel;
    }

    /** The configuration this model was built for. */
    public CLIPTextConfig config() {
        return config;
    }
}
