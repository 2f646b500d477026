package dev.perfusion.nn;

import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * Multi-head attention with the parameters of diffusers' {@code Attention} class as SD v1.x's transformer
 * blocks use it ({@code attn1}: self-attention, {@code attn2}: cross-attention on the text encoding). The block
 * owns the projections; an {@link AttentionProcessor} (by default {@link AttnProcessor}) does the computation,
 * so that Perfusion can replace how cross-attention keys and values are formed.
 *
 * <p>Notation: B batch, N query tokens, M context tokens, C = queryDim, Cc = crossAttentionDim (C for
 * self-attention), h = heads, d = dimHead, inner = h·d.
 * <pre>
 *   to_q.weight      [inner, C]     to_q.bias [inner]  (only with qkvBias)
 *   to_k.weight      [inner, Cc]    to_k.bias [inner]  (only with qkvBias)
 *   to_v.weight      [inner, Cc]    to_v.bias [inner]  (only with qkvBias)
 *   to_out.0.weight  [C, inner]     to_out.0.bias [C]  (with outBias)
 *   to_out.1         Dropout: no parameters; this library never drops (inference, and Perfusion trains
 *                    with dropout 0 as SD v1.x's config does)
 * </pre>
 * SD v1.5 UNet: heads 8, d = C/8 (40, 80, 160), Cc = 768, qkvBias false, outBias true.
 *
 * <p>Source: diffusers {@code src/diffusers/models/attention_processor.py}, classes {@code Attention} and
 * {@code AttnProcessor} (snapshot 58eb52c, https://github.com/huggingface/diffusers/blob/58eb52c/src/diffusers/models/attention_processor.py).
 *
 * <p>Not final: a model whose attention block carries more (the VAE's, with a {@code group_norm} and a residual
 * connection on 4-D input) may extend it, register its extra parameters beside these and wrap {@link #forward}.
 */
public class Attention extends Module {
    private final int queryDim;
    private final int crossAttentionDim;
    private final boolean crossAttention;
    private final int heads;
    private final int dimHead;
    private final Linear toQ;
    private final Linear toK;
    private final Linear toV;
    private final Linear toOut;
    private AttentionProcessor processor = new AttnProcessor();

    /**
     * The SD UNet's configuration: no biases on q/k/v, a bias on the output projection.
     *
     * @see #Attention(Backend, int, Integer, int, int, boolean, boolean)
     */
    public Attention(Backend backend, int queryDim, Integer crossAttentionDim, int heads, int dimHead) {
        this(backend, queryDim, crossAttentionDim, heads, dimHead, false, true);
    }

    /**
     * @param queryDim          C, width of the hidden states (and of the output)
     * @param crossAttentionDim Cc, width of the encoder hidden states; null or 0 for self-attention (then the
     *                          keys and values are projected from C-wide hidden states)
     * @param heads             h
     * @param dimHead           d, the size of one head
     * @param qkvBias           biases on to_q, to_k, to_v (diffusers' {@code bias}; false in SD's UNet)
     * @param outBias           bias on to_out.0 (diffusers' {@code out_bias}; true in SD)
     */
    public Attention(Backend backend, int queryDim, Integer crossAttentionDim, int heads, int dimHead, boolean qkvBias,
                     boolean outBias) {
        super(backend);
        if (queryDim <= 0 || heads <= 0 || dimHead <= 0 || (crossAttentionDim != null && crossAttentionDim < 0)) {
            throw new IllegalArgumentException("bad Attention configuration: queryDim " + queryDim
                    + ", crossAttentionDim " + crossAttentionDim + ", heads " + heads + ", dimHead " + dimHead);
        }
        this.queryDim = queryDim;
        this.crossAttention = crossAttentionDim != null && crossAttentionDim > 0;
        this.crossAttentionDim = crossAttention ? crossAttentionDim : queryDim;
        this.heads = heads;
        this.dimHead = dimHead;
        int inner = heads * dimHead;
        this.toQ = registerModule("to_q", new Linear(backend, queryDim, inner, qkvBias));
        this.toK = registerModule("to_k", new Linear(backend, this.crossAttentionDim, inner, qkvBias));
        this.toV = registerModule("to_v", new Linear(backend, this.crossAttentionDim, inner, qkvBias));
        this.toOut = registerModule("to_out.0", new Linear(backend, inner, queryDim, outBias));
        // to_out.1 is Dropout (no parameters)
    }

    /**
     * Attention of {@code hiddenStates} over {@code encoderHiddenStates} (or over itself when null), computed by
     * the current {@link #processor()}.
     *
     * @param hiddenStates        [B, N, C]
     * @param encoderHiddenStates [B, M, Cc], or null for self-attention
     * @param attentionMask       additive mask broadcastable to [B, h, N, M] (e.g. [B, 1, 1, M] with −∞ or a
     *                            large negative number on ignored context tokens), or null
     * @return [B, N, C]
     */
    public Tensor forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor attentionMask) {
        if (hiddenStates.rank() != 3 || hiddenStates.dim(2) != queryDim) {
            throw new IllegalArgumentException("Attention needs hidden states [B, N, " + queryDim + "], got "
                    + hiddenStates.shape());
        }
        if (encoderHiddenStates == null && crossAttentionDim != queryDim) {
            throw new IllegalArgumentException("this cross-attention block projects keys from " + crossAttentionDim
                    + "-wide encoder hidden states; got none (self-attention needs keys " + queryDim + " wide)");
        }
        if (encoderHiddenStates != null && (encoderHiddenStates.rank() != 3
                || encoderHiddenStates.dim(0) != hiddenStates.dim(0) || encoderHiddenStates.dim(2) != crossAttentionDim)) {
            throw new IllegalArgumentException("Attention needs encoder hidden states [" + hiddenStates.dim(0) + ", M, "
                    + crossAttentionDim + "], got " + encoderHiddenStates.shape());
        }
        return processor.apply(this, hiddenStates, encoderHiddenStates, attentionMask); // [B, N, C]
    }

    /** Self-attention without a mask: [B, N, C] → [B, N, C]. */
    public Tensor forward(Tensor hiddenStates) {
        return forward(hiddenStates, null, null);
    }

    /**
     * Splits the last axis into heads and moves the head axis before the tokens:
     * [B, L, h·d] → [B, h, L, d] (diffusers' {@code head_to_batch_dim} without folding h into B).
     */
    public Tensor splitHeads(Tensor x) {
        int b = x.dim(0);
        int len = x.dim(1);
        Tensor r = Ops.reshape(x, Shape.of(b, len, heads, dimHead)); // [B, L, h, d]
        Tensor p = Ops.permute(r, 0, 2, 1, 3);                       // [B, h, L, d]
        return Intermediates.release(p, r);
    }

    /** Inverse of {@link #splitHeads}: [B, h, L, d] → [B, L, h·d]. */
    public Tensor mergeHeads(Tensor x) {
        int b = x.dim(0);
        int len = x.dim(2);
        Tensor p = Ops.permute(x, 0, 2, 1, 3);                       // [B, L, h, d]
        Tensor r = Ops.reshape(p, Shape.of(b, len, heads * dimHead)); // [B, L, inner]
        return Intermediates.release(r, p);
    }

    /** The softmax temperature 1/√d. */
    public float scale() {
        return (float) (1.0 / Math.sqrt(dimHead));
    }

    /** The current processor. */
    public AttentionProcessor processor() {
        return processor;
    }

    /** Replaces the processor (Perfusion installs its own on every {@code attn2}). */
    public void setProcessor(AttentionProcessor processor) {
        if (processor == null) {
            throw new IllegalArgumentException("processor is null");
        }
        this.processor = processor;
    }

    /** C: width of the hidden states and of the output. */
    public int queryDim() {
        return queryDim;
    }

    /** Cc: width of the encoder hidden states (C for self-attention). */
    public int crossAttentionDim() {
        return crossAttentionDim;
    }

    /** True when keys and values come from encoder hidden states of their own width. */
    public boolean isCrossAttention() {
        return crossAttention;
    }

    /** h. */
    public int heads() {
        return heads;
    }

    /** d. */
    public int dimHead() {
        return dimHead;
    }

    /** h·d. */
    public int innerDim() {
        return heads * dimHead;
    }

    /** {@code to_q}: C → inner. */
    public Linear toQ() {
        return toQ;
    }

    /** {@code to_k}: Cc → inner. */
    public Linear toK() {
        return toK;
    }

    /** {@code to_v}: Cc → inner. */
    public Linear toV() {
        return toV;
    }

    /** {@code to_out.0}: inner → C. */
    public Linear toOut() {
        return toOut;
    }
}
