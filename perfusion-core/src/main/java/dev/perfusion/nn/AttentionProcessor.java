package dev.perfusion.nn;

import dev.perfusion.tensor.Tensor;

/**
 * The computation of an {@link Attention} block, separate from the weights it owns: the seam where
 * Perfusion (or any other method) changes how queries, keys and values are formed without forking the UNet,
 * as diffusers' attention processors do. A processor reads the block's projections ({@link Attention#toQ()},
 * {@link Attention#toK()}, {@link Attention#toV()}, {@link Attention#toOut()}) and head layout
 * ({@link Attention#heads()}, {@link Attention#dimHead()}, {@link Attention#splitHeads},
 * {@link Attention#mergeHeads}).
 *
 * <p>Weights may be stored in half precision ({@link WeightStorage#AS_STORED}): a processor that computes with a
 * projection's weight itself, rather than through {@link Linear#forward}, takes it with
 * {@link Parameter#compute()} (never {@link Parameter#value()}) and releases the copy with
 * {@code Intermediates.release(result, Parameter.temporary(p, w))}, as {@link Linear#forward} does.
 *
 * <p>Shapes: B batch, N query tokens, M context tokens, C = {@link Attention#queryDim()},
 * Cc = {@link Attention#crossAttentionDim()}.
 */
@FunctionalInterface
public interface AttentionProcessor {
    /**
     * Computes the block's output. Implementations use {@link dev.perfusion.autograd.Ops} so that gradients
     * flow, and free their intermediates with {@link Intermediates#release} so inference does not hold them.
     *
     * @param attn                the block: weights and head layout
     * @param hiddenStates        the queries' source [B, N, C]
     * @param encoderHiddenStates the keys' and values' source [B, M, Cc] (cross-attention: the text
     *                            encoding), or null for self-attention on {@code hiddenStates}
     * @param attentionMask       additive mask broadcastable to [B, heads, N, M], or null
     * @return [B, N, C]
     */
    Tensor apply(Attention attn, Tensor hiddenStates, Tensor encoderHiddenStates, Tensor attentionMask);
}
