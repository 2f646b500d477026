package dev.perfusion.clip;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Linear;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * transformers' {@code CLIPAttention} as the text encoder uses it: causal multi-head self-attention with biases on
 * all four projections.
 * <pre>
 *   q = q_proj(x),  k = k_proj(x),  v = v_proj(x)                          x [B, L, D]
 *   o_h = softmax(q_h·k_hᵀ/√d + causal)·v_h     per head h, d = D/h; causal: −∞ where key j &gt; query i
 *   y = out_proj(concat_h o_h)                                              [B, L, D]
 * </pre>
 * <pre>
 *   q_proj, k_proj, v_proj, out_proj:  weight [D, D], bias [D]
 * </pre>
 * transformers scales q by 1/√d before the product rather than the scores after; the two differ only by float
 * rounding. SD v1.x passes no padding mask ({@code attention_mask=None}): padding tokens are attended to, and
 * only the causal mask hides later tokens.
 *
 * <p>Source: transformers {@code src/transformers/models/clip/modeling_clip.py}, class {@code CLIPAttention}
 * (4.45.0.dev0, commit d6751d91).
 */
public final class CLIPAttention extends Module {
    private final int embedDim;
    private final int heads;
    private final int headDim;
    private final Linear qProj;
    private final Linear kProj;
    private final Linear vProj;
    private final Linear outProj;

    /** Modules for {@code config}; weights start at zero until loaded or initialised. */
    public CLIPAttention(Backend backend, CLIPTextConfig config) {
        super(backend);
        this.embedDim = config.hiddenSize();
        this.heads = config.numAttentionHeads();
        this.headDim = config.headDim();
        this.kProj = registerModule("k_proj", new Linear(backend, embedDim, embedDim, true));
        this.vProj = registerModule("v_proj", new Linear(backend, embedDim, embedDim, true));
        this.qProj = registerModule("q_proj", new Linear(backend, embedDim, embedDim, true));
        this.outProj = registerModule("out_proj", new Linear(backend, embedDim, embedDim, true));
    }

    /** Causal self-attention: x [B, L, D] → [B, L, D]. */
    public Tensor forward(Tensor x) {
        if (x.rank() != 3 || x.dim(2) != embedDim) {
            throw new IllegalArgumentException("CLIPAttention needs hidden states [B, L, " + embedDim + "], got "
                    + x.shape());
        }
        Tensor q = qProj.forward(x);      // [B, L, D]
        Tensor k = kProj.forward(x);      // [B, L, D]
        Tensor v = vProj.forward(x);      // [B, L, D]
        Tensor qh = splitHeads(q);        // [B, h, L, d]
        Tensor kh = splitHeads(k);        // [B, h, L, d]
        Tensor vh = splitHeads(v);        // [B, h, L, d]
        Tensor o = Ops.attention(qh, kh, vh, null, true, scale()); // [B, h, L, d]
        Tensor merged = mergeHeads(o);    // [B, L, D]
        Tensor y = outProj.forward(merged); // [B, L, D]
        return Intermediates.release(y, q, k, v, qh, kh, vh, o, merged);
    }

    /** [B, L, h·d] → [B, h, L, d]. */
    private Tensor splitHeads(Tensor x) {
        int b = x.dim(0);
        int len = x.dim(1);
        Tensor r = Ops.reshape(x, Shape.of(b, len, heads, headDim)); // [B, L, h, d]
        Tensor p = Ops.permute(r, 0, 2, 1, 3);                       // [B, h, L, d]
        return Intermediates.release(p, r);
    }

    /** [B, h, L, d] → [B, L, h·d]. */
    private Tensor mergeHeads(Tensor x) {
        int b = x.dim(0);
        int len = x.dim(2);
        Tensor p = Ops.permute(x, 0, 2, 1, 3);                   // [B, L, h, d]
        Tensor r = Ops.reshape(p, Shape.of(b, len, embedDim));   // [B, L, D]
        return Intermediates.release(r, p);
    }

    /** The softmax temperature 1/√d (transformers' {@code head_dim ** -0.5}). */
    public float scale() {
        return (float) (1.0 / Math.sqrt(headDim));
    }

    /** h. */
    public int heads() {
        return heads;
    }

    /** d. */
    public int headDim() {
        return headDim;
    }

    /** {@code q_proj}: D → D. */
    public Linear qProj() {
        return qProj;
    }

    /** {@code k_proj}: D → D. */
    public Linear kProj() {
        return kProj;
    }

    /** {@code v_proj}: D → D. */
    public Linear vProj() {
        return vProj;
    }

    /** {@code out_proj}: D → D. */
    public Linear outProj() {
        return outProj;
    }
}
