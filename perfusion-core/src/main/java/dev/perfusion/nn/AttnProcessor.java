package dev.perfusion.nn;

import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Tensor;

/**
 * The default attention computation, diffusers' {@code AttnProcessor} for SD v1.x:
 * <pre>
 *   q = to_q(h),  k = to_k(ctx),  v = to_v(ctx)                 ctx = encoder states, or h for self-attention
 *   out = to_out.0( merge_heads( softmax(q_h·k_hᵀ/√d + mask)·v_h ) )   per head h, d = dim_head
 * </pre>
 * Stateless; one instance may serve every block.
 */
public final class AttnProcessor implements AttentionProcessor {

    /** B batch, N query tokens, M context tokens, h heads, d head size, inner = h·d. */
    @Override
    public Tensor apply(Attention attn, Tensor hiddenStates, Tensor encoderHiddenStates, Tensor attentionMask) {
        Tensor context = encoderHiddenStates == null ? hiddenStates : encoderHiddenStates; // [B, M, Cc]
        Tensor q = attn.toQ().forward(hiddenStates);    // [B, N, inner]
        Tensor k = attn.toK().forward(context);         // [B, M, inner]
        Tensor v = attn.toV().forward(context);         // [B, M, inner]
        Tensor qh = attn.splitHeads(q);                 // [B, h, N, d]
        Tensor kh = attn.splitHeads(k);                 // [B, h, M, d]
        Tensor vh = attn.splitHeads(v);                 // [B, h, M, d]
        Tensor o = Ops.attention(qh, kh, vh, attentionMask, false, attn.scale()); // [B, h, N, d]
        Tensor merged = attn.mergeHeads(o);             // [B, N, inner]
        Tensor out = attn.toOut().forward(merged);      // [B, N, C]
        return Intermediates.release(out, q, k, v, qh, kh, vh, o, merged);
    }

    @Override
    public String toString() {
        return "AttnProcessor";
    }
}
