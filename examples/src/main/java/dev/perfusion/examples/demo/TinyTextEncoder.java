package dev.perfusion.examples.demo;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Attention;
import dev.perfusion.nn.Embedding;
import dev.perfusion.nn.FeedForward;
import dev.perfusion.nn.LayerNorm;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * A one-layer text encoder laid out like CLIP's (token and position embeddings, a pre-LayerNorm causal
 * self-attention block with a feed-forward, a final LayerNorm), at toy width. Stands in for
 * {@code CLIPTextModel} until the Stable Diffusion milestone brings the real one.
 */
final class TinyTextEncoder extends Module {
    static final int MAX_TOKENS = 77;

    private final Embedding tokenEmbedding;
    private final Embedding positionEmbedding;
    private final LayerNorm layerNorm1;
    private final Attention selfAttn;
    private final LayerNorm layerNorm2;
    private final FeedForward mlp;
    private final LayerNorm finalLayerNorm;
    private final int width;

    TinyTextEncoder(Backend backend, int vocab, int width, int heads) {
        super(backend);
        this.width = width;
        this.tokenEmbedding = registerModule("token_embedding", new Embedding(backend, vocab, width));
        this.positionEmbedding = registerModule("position_embedding", new Embedding(backend, MAX_TOKENS, width));
        this.layerNorm1 = registerModule("layer_norm1", new LayerNorm(backend, width, 1e-5f, true));
        this.selfAttn = registerModule("self_attn", new Attention(backend, width, null, heads, width / heads));
        this.layerNorm2 = registerModule("layer_norm2", new LayerNorm(backend, width, 1e-5f, true));
        this.mlp = registerModule("mlp", new FeedForward(backend, width));
        this.finalLayerNorm = registerModule("final_layer_norm", new LayerNorm(backend, width, 1e-5f, true));
    }

    /** Token embeddings of ids [B, 77] → [B, 77, D]; a caller may edit rows before {@link #encode}. */
    Tensor embed(Tensor ids) {
        return tokenEmbedding.forward(ids); // [B, 77, D]
    }

    /** The token row of the embedding table (a concept embedding starts from a word's row). */
    Tensor tokenRow(long id) {
        Tensor table = tokenEmbedding.weight().value();           // [V, D]
        return Ops.slice(table, 0, (int) id, (int) id + 1);       // [1, D]
    }

    /** Contextual states of token embeddings [B, 77, D] → last_hidden_state [B, 77, D]. */
    Tensor encode(Tensor tokenEmbeds) {
        Backend be = backend();
        int b = tokenEmbeds.dim(0);
        long[] positions = new long[MAX_TOKENS];
        for (int i = 0; i < MAX_TOKENS; i++) {
            positions[i] = i;
        }
        Tensor pos = positionEmbedding.forward(be.fromArray(positions, Shape.of(1, MAX_TOKENS))); // [1, 77, D]
        Tensor h = Ops.add(tokenEmbeds, pos);                        // [B, 77, D]
        Tensor causal = causalMask(be);                              // [1, 1, 77, 77]
        Tensor a = selfAttn.forward(layerNorm1.forward(h), null, causal); // [B, 77, D]
        h = Ops.add(h, a);                                           // [B, 77, D]
        h = Ops.add(h, mlp.forward(layerNorm2.forward(h)));          // [B, 77, D]
        Tensor out = finalLayerNorm.forward(h);                      // [B, 77, D]
        if (out.dim(0) != b || out.dim(2) != width) {
            throw new IllegalStateException("unexpected text state shape " + out.shape());
        }
        return out;
    }

    /** Additive mask: token i sees tokens j ≤ i only. */
    private static Tensor causalMask(Backend be) {
        float[] m = new float[MAX_TOKENS * MAX_TOKENS];
        for (int i = 0; i < MAX_TOKENS; i++) {
            for (int j = i + 1; j < MAX_TOKENS; j++) {
                m[i * MAX_TOKENS + j] = -1e9f;
            }
        }
        return be.fromArray(m, Shape.of(1, 1, MAX_TOKENS, MAX_TOKENS));
    }
}
