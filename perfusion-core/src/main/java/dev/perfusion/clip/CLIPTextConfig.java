package dev.perfusion.clip;

import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.tensor.UnaryOp;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The configuration of a transformers {@code CLIPTextModel} as Stable Diffusion v1.x stores it in
 * {@code text_encoder/config.json}. Keys read (SD v1.5 / CLIP ViT-L/14 value in brackets):
 * <pre>
 *   vocab_size               V   [49408]
 *   hidden_size              D   [768]
 *   intermediate_size        F   [3072]   width of the MLP's hidden layer
 *   num_hidden_layers        N   [12]
 *   num_attention_heads      h   [12]     head size d = D/h [64]
 *   max_position_embeddings  P   [77]     the longest token sequence
 *   hidden_act                   [quick_gelu]  x·σ(1.702x); "gelu" (exact, erf) is also accepted
 *   layer_norm_eps               [1e-5]
 *   eos_token_id                 [2]      selects the pooling rule, see {@link #legacyPooling()}
 * </pre>
 * Every other key ({@code projection_dim}, {@code bos_token_id}, dropout rates, …) does not change the text
 * encoder's forward pass and is ignored. Missing optional keys take transformers' {@code CLIPTextConfig}
 * defaults: {@code quick_gelu}, eps 1e-5, eos 49407.
 *
 * @param vocabSize             V, rows of the token embedding table
 * @param hiddenSize            D, the width of every hidden state
 * @param intermediateSize      F, the MLP's inner width
 * @param numHiddenLayers       N, encoder layers
 * @param numAttentionHeads     h; must divide D
 * @param maxPositionEmbeddings P, rows of the position embedding table
 * @param hiddenAct             the MLP activation's transformers name: {@code quick_gelu} or {@code gelu}
 * @param layerNormEps          eps of every LayerNorm
 * @param eosTokenId            transformers' {@code eos_token_id}
 */
public record CLIPTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, String hiddenAct, float layerNormEps,
                             int eosTokenId) {

    /** The activations this port implements (transformers' {@code ACT2FN} names). */
    public static final List<String> SUPPORTED_ACTIVATIONS = List.of("quick_gelu", "gelu");

    /**
     * transformers' legacy {@code eos_token_id}: configs written before transformers 4.31 (SD v1.x's among them)
     * carry 2, and transformers then takes the pooled output at {@code argmax(input_ids)} (the highest id,
     * which is the first {@code <|endoftext|>} = 49407 for CLIP's vocabulary) instead of at the first eos.
     */
    public static final int LEGACY_EOS_TOKEN_ID = 2;

    /** Validates the values; errors name the offending field. */
    public CLIPTextConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads "
                    + numAttentionHeads);
        }
        if (!SUPPORTED_ACTIVATIONS.contains(hiddenAct)) {
            throw new IllegalArgumentException("hidden_act '" + hiddenAct + "' is not supported; supported: "
                    + String.join(", ", SUPPORTED_ACTIVATIONS));
        }
        if (!(layerNormEps > 0) || Float.isInfinite(layerNormEps)) {
            throw new IllegalArgumentException("layer_norm_eps must be a positive number, got " + layerNormEps);
        }
    }

    private static void positive(String key, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + " must be positive, got " + value);
        }
    }

    /** SD v1.x's text encoder, CLIP ViT-L/14 (openai/clip-vit-large-patch14 as shipped in runwayml/stable-diffusion-v1-5). */
    public static CLIPTextConfig sd15() {
        return new CLIPTextConfig(49408, 768, 3072, 12, 12, 77, "quick_gelu", 1e-5f, LEGACY_EOS_TOKEN_ID);
    }

    /**
     * Reads {@code dir/config.json} (or the file itself when {@code path} is a file).
     *
     * @throws IllegalArgumentException naming the file (and the key) when it is missing, malformed or holds an
     *                                  unsupported value
     */
    public static CLIPTextConfig read(Path path) throws IOException {
        return from(DiffusersConfig.read(path));
    }

    /**
     * The configuration held by a parsed {@code config.json}.
     *
     * @throws IllegalArgumentException naming {@link DiffusersConfig#source()} and the key of a missing or
     *                                  unsupported value
     */
    public static CLIPTextConfig from(DiffusersConfig c) {
        String src = c.source();
        if (!c.has("hidden_size") && c.has("text_config")) {
            throw new IllegalArgumentException(src + ": this is a full CLIPModel config (it has 'text_config'); "
                    + "a text encoder folder's config.json describes CLIPTextModel itself");
        }
        int vocab = positiveKey(c, "vocab_size");
        int hidden = positiveKey(c, "hidden_size");
        int intermediate = positiveKey(c, "intermediate_size");
        int layers = positiveKey(c, "num_hidden_layers");
        int heads = positiveKey(c, "num_attention_heads");
        int positions = positiveKey(c, "max_position_embeddings");
        if (hidden % heads != 0) {
            throw new IllegalArgumentException(src + ": 'hidden_size' " + hidden + " is not divisible by "
                    + "'num_attention_heads' " + heads);
        }
        String act = c.string("hidden_act", "quick_gelu");
        if (!SUPPORTED_ACTIVATIONS.contains(act)) {
            throw new IllegalArgumentException(src + ": 'hidden_act' '" + act + "' is not supported; supported: "
                    + String.join(", ", SUPPORTED_ACTIVATIONS));
        }
        double eps = c.doubleValue("layer_norm_eps", 1e-5);
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException(src + ": 'layer_norm_eps' must be a positive number, got " + eps);
        }
        int eos = c.intValue("eos_token_id", 49407); // transformers' CLIPTextConfig default since 4.31
        return new CLIPTextConfig(vocab, hidden, intermediate, layers, heads, positions, act, (float) eps, eos);
    }

    private static int positiveKey(DiffusersConfig c, String key) {
        int v = c.requireInt(key);
        if (v <= 0) {
            throw new IllegalArgumentException(c.source() + ": '" + key + "' must be positive, got " + v);
        }
        return v;
    }

    /** d = D/h, the size of one attention head. */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** The MLP activation as an elementwise op. */
    public UnaryOp activation() {
        return "gelu".equals(hiddenAct) ? UnaryOp.GELU : UnaryOp.QUICK_GELU;
    }

    /**
     * True when the pooled output is taken at {@code argmax(input_ids)} per row (transformers' rule for
     * {@code eos_token_id == 2}); otherwise it is taken at the first position holding {@code eos_token_id}
     * (position 0 when there is none, as {@code argmax} of an all-false row gives).
     */
    public boolean legacyPooling() {
        return eosTokenId == LEGACY_EOS_TOKEN_ID;
    }
}
