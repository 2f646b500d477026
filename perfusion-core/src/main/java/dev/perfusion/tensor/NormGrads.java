package dev.perfusion.tensor;

/** Gradients of a normalisation: {@code dx} like x; {@code dGamma} like γ (null when the op had no γ), {@code dBeta} like β. */
public record NormGrads(Tensor dx, Tensor dGamma, Tensor dBeta) {
}
