package dev.perfusion.perfusion;

import dev.perfusion.tensor.Tensor;

/**
 * The per-token parts of the Perfusion edit for one batch of text states e [B, M, D] (M = 77), computed once by
 * {@link KeyLockedEdit#encode} and shared by every edited projection (16 {@code attn2} layers × K, V).
 *
 * @param orthogonal e − Pe [B, M, D]: the component that the projector P onto span{i*} removes (method §3)
 * @param scores     s_c(e) = eᵀC⁻¹i*_c / i*_cᵀC⁻¹i*_c [B, M, n] (method §1.2)
 * @param gates      g_c(e) = σ((s_c(e) − β_c)/τ_c) [B, M, n]
 */
public record PerfusionEncoding(Tensor orthogonal, Tensor scores, Tensor gates) implements AutoCloseable {
    /** B. */
    public int batch() {
        return orthogonal.dim(0);
    }

    /** M, the number of text tokens. */
    public int tokens() {
        return orthogonal.dim(1);
    }

    /** Frees the three tensors (in training, leave them to the step's TensorScope until backward has run). */
    @Override
    public void close() {
        orthogonal.close();
        scores.close();
        gates.close();
    }
}
