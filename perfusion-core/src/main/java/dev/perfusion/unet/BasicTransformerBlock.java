package dev.perfusion.unet;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Attention;
import dev.perfusion.nn.FeedForward;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.LayerNorm;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;

/**
 * diffusers' {@code BasicTransformerBlock} as SD's UNet uses it (norm_type "layer_norm", LayerNorm eps 1e-5 with
 * affine, no attention biases, GEGLU feed-forward, only_cross_attention false, double_self_attention false):
 * <pre>
 *   x = attn1(norm1(x)) + x                          self-attention
 *   x = attn2(norm2(x), encoder_hidden_states) + x   cross-attention on the text encoding
 *   x = ff(norm3(x)) + x
 * </pre>
 * Keys: {@code norm1}, {@code attn1}, {@code norm2}, {@code attn2}, {@code norm3}, {@code ff}.
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/attention.py}, class {@code BasicTransformerBlock}.
 */
public final class BasicTransformerBlock extends Module {
    /** diffusers' default {@code norm_eps} of the block's LayerNorms. */
    public static final float NORM_EPS = 1e-5f;

    private final int dim;
    private final LayerNorm norm1;
    private final Attention attn1;
    private final LayerNorm norm2;
    private final Attention attn2;
    private final LayerNorm norm3;
    private final FeedForward ff;

    /**
     * @param dim               C, width of the tokens (= heads·dimHead)
     * @param heads             attention heads
     * @param dimHead           size of one head
     * @param crossAttentionDim width of the encoder hidden states
     */
    public BasicTransformerBlock(Backend backend, int dim, int heads, int dimHead, int crossAttentionDim) {
        super(backend);
        this.dim = dim;
        this.norm1 = registerModule("norm1", new LayerNorm(backend, dim, NORM_EPS, true));
        this.attn1 = registerModule("attn1", new Attention(backend, dim, null, heads, dimHead));
        this.norm2 = registerModule("norm2", new LayerNorm(backend, dim, NORM_EPS, true));
        this.attn2 = registerModule("attn2", new Attention(backend, dim, crossAttentionDim, heads, dimHead));
        this.norm3 = registerModule("norm3", new LayerNorm(backend, dim, NORM_EPS, true));
        this.ff = registerModule("ff", new FeedForward(backend, dim));
    }

    /**
     * @param x                   [B, N, C] tokens
     * @param encoderHiddenStates [B, M, Cc]
     * @param hooks               reports {@code norm1, attn1, norm2, attn2, norm3, ff} (each before its residual add)
     * @return [B, N, C]
     */
    public Tensor forward(Tensor x, Tensor encoderHiddenStates, ForwardHooks hooks) {
        Tensor n1 = norm1.forward(x);                                // [B, N, C]
        hooks.emit("norm1", n1);
        Tensor a1 = attn1.forward(n1, null, null);                   // [B, N, C]
        hooks.emit("attn1", a1);
        Tensor h1 = Ops.add(a1, x);                                  // [B, N, C]
        Tensor n2 = norm2.forward(h1);                               // [B, N, C]
        hooks.emit("norm2", n2);
        Tensor a2 = attn2.forward(n2, encoderHiddenStates, null);    // [B, N, C]
        hooks.emit("attn2", a2);
        Tensor h2 = Ops.add(a2, h1);                                 // [B, N, C]
        Tensor n3 = norm3.forward(h2);                               // [B, N, C]
        hooks.emit("norm3", n3);
        Tensor f = ff.forward(n3);                                   // [B, N, C]
        hooks.emit("ff", f);
        Tensor out = Ops.add(f, h2);                                 // [B, N, C]
        return Intermediates.release(out, n1, a1, h1, n2, a2, h2, n3, f);
    }

    /** C. */
    public int dim() {
        return dim;
    }

    /** {@code attn1}: self-attention. */
    public Attention attn1() {
        return attn1;
    }

    /** {@code attn2}: cross-attention on the encoder hidden states (where Perfusion edits keys and values). */
    public Attention attn2() {
        return attn2;
    }

    /** {@code ff}. */
    public FeedForward ff() {
        return ff;
    }
}
