package dev.perfusion.perfusion;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Attention;
import dev.perfusion.nn.AttentionProcessor;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Tensor;
import java.util.function.Supplier;

/**
 * The attention computation of one cross-attention ({@code attn2}) block with Perfusion's edit on its keys and
 * values (DESIGN §4, reference/perfusion-method.md §1.6):
 * <pre>
 *   q = to_q(h)
 *   K = (e_K − P e_K)·W_Kᵀ + g(e_K)·O*_K        V = (e_V − P e_V)·W_Vᵀ + g(e_V)·O*_V      (KeyLockedEdit (4))
 *   out = to_out.0( merge_heads( softmax(q_h·K_hᵀ/√d)·V_h ) )
 * </pre>
 * where e − Pe and g come from the shared {@link EditContext} (computed once per prompt encoding for all layers)
 * and O* [n, d] are this layer's targets, row c for concept c. The encoder states the UNet passes in are only
 * checked against the context (same batch and token count): the context was computed from them.
 */
public final class PerfusionAttnProcessor implements AttentionProcessor {
    private final Supplier<EditContext> context;
    private final Tensor keyTargets;
    private final Tensor valueTargets;

    /**
     * @param context      the current edit context (read on every call, so it may change between UNet calls)
     * @param keyTargets   O*_K [n, d] of this layer (the locked super-category keys)
     * @param valueTargets O*_V [n, d] of this layer (may require grad in training)
     */
    public PerfusionAttnProcessor(Supplier<EditContext> context, Tensor keyTargets, Tensor valueTargets) {
        if (context == null || keyTargets == null || valueTargets == null) {
            throw new IllegalArgumentException("PerfusionAttnProcessor needs a context and key and value targets");
        }
        if (keyTargets.rank() != 2 || !keyTargets.shape().equals(valueTargets.shape())) {
            throw new IllegalArgumentException("key and value targets must both be [n, d], got " + keyTargets.shape()
                    + " and " + valueTargets.shape());
        }
        this.context = context;
        this.keyTargets = keyTargets;
        this.valueTargets = valueTargets;
    }

    /** B batch, N query tokens, M text tokens, h heads, d head size, inner = h·d. */
    @Override
    public Tensor apply(Attention attn, Tensor hiddenStates, Tensor encoderHiddenStates, Tensor attentionMask) {
        EditContext ctx = context.get();
        if (ctx == null) {
            throw new IllegalStateException("Perfusion is installed but no edit context is set");
        }
        if (!ctx.hasEdit()) {
            throw new IllegalStateException("the Perfusion edit context has no edit (EMBEDDING_ONLY concepts only) but "
                    + "a processor is installed");
        }
        if (encoderHiddenStates == null) {
            throw new IllegalArgumentException("Perfusion edits cross-attention only; this block got no encoder states");
        }
        if (encoderHiddenStates.dim(0) != ctx.batch() || encoderHiddenStates.dim(1) != ctx.tokens()) {
            throw new IllegalArgumentException("encoder states " + encoderHiddenStates.shape()
                    + " do not match the Perfusion context (batch " + ctx.batch() + ", " + ctx.tokens()
                    + " tokens): build the context from the same text states the UNet gets");
        }
        if (keyTargets.dim(1) != attn.innerDim()) {
            throw new IllegalArgumentException("Perfusion targets are " + keyTargets.dim(1) + " wide, this attn2 projects to "
                    + attn.innerDim());
        }
        Parameter wkP = attn.toK().weight();
        Parameter wvP = attn.toV().weight();
        Tensor wk = wkP.compute();                                       // [inner, D]
        Tensor wv = wvP.compute();                                       // [inner, D]
        Tensor bk = Parameter.compute(attn.toK().bias());                // [inner] or null
        Tensor bv = Parameter.compute(attn.toV().bias());                // [inner] or null
        Tensor q = attn.toQ().forward(hiddenStates);                     // [B, N, inner]
        Tensor k = KeyLockedEdit.project(ctx.keys().orthogonal(), wk, bk, ctx.keys().gates(), keyTargets);       // [B, M, inner]
        Tensor v = KeyLockedEdit.project(ctx.values().orthogonal(), wv, bv, ctx.values().gates(), valueTargets); // [B, M, inner]
        Tensor qh = attn.splitHeads(q);                                  // [B, h, N, d]
        Tensor kh = attn.splitHeads(k);                                  // [B, h, M, d]
        Tensor vh = attn.splitHeads(v);                                  // [B, h, M, d]
        Tensor o = Ops.attention(qh, kh, vh, attentionMask, false, attn.scale()); // [B, h, N, d]
        Tensor merged = attn.mergeHeads(o);                              // [B, N, inner]
        Tensor out = attn.toOut().forward(merged);                       // [B, N, C]
        return Intermediates.release(out, q, k, v, qh, kh, vh, o, merged, Parameter.temporary(wkP, wk),
                Parameter.temporary(wvP, wv), Parameter.temporary(attn.toK().bias(), bk),
                Parameter.temporary(attn.toV().bias(), bv));
    }

    /** O*_K [n, d]. */
    public Tensor keyTargets() {
        return keyTargets;
    }

    /** O*_V [n, d]. */
    public Tensor valueTargets() {
        return valueTargets;
    }

    @Override
    public String toString() {
        return "PerfusionAttnProcessor(" + keyTargets.dim(0) + " concepts, width " + keyTargets.dim(1) + ")";
    }
}
