package dev.perfusion.tensor;

/** Gradients of scaled dot-product attention with respect to q, k and v. */
public record AttentionGrads(Tensor dq, Tensor dk, Tensor dv) {
}
