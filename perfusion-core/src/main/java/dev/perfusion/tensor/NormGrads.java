package dev.perfusion.tensor;

/** Gradients of a normalisation: {@code dx} like x; {@code dGamma}, {@code dBeta} like γ, β (null when absent). */
public record NormGrads(Tensor dx, Tensor dGamma, Tensor dBeta) {
}
