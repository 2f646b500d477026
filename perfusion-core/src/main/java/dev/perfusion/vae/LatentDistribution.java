package dev.perfusion.vae;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.tensor.Tensor;

/**
 * The encoder's posterior, a diagonal Gaussian per latent element (diffusers' {@code DiagonalGaussianDistribution}):
 * mean μ, log-variance clamped to [−30, 20], σ = exp(½·logvar). All three are [B, L, h, w].
 *
 * <p>The record owns its tensors; {@link #close()} frees them. No scaling factor is applied: SD's latents are
 * {@code scalingFactor · sample(ε)} (or {@code scalingFactor · mode()}), computed by the caller.
 *
 * @param mean   μ
 * @param logvar log σ², clamped to [−30, 20] as diffusers does
 * @param std    σ = exp(½·logvar)
 */
public record LatentDistribution(Tensor mean, Tensor logvar, Tensor std) implements AutoCloseable {
    /** The clamp diffusers applies to the log-variance. */
    public static final float LOGVAR_MIN = -30f;
    /** The clamp diffusers applies to the log-variance. */
    public static final float LOGVAR_MAX = 20f;

    /** Checks that the three tensors share one shape. */
    public LatentDistribution {
        if (!mean.shape().equals(logvar.shape()) || !mean.shape().equals(std.shape())) {
            throw new IllegalArgumentException("LatentDistribution: mean " + mean.shape() + ", logvar " + logvar.shape()
                    + ", std " + std.shape() + " must have one shape");
        }
    }

    /**
     * A draw μ + σ·ε with the caller's standard normal noise ε (so CPU and GPU runs can share a host RNG).
     *
     * @param eps ε [B, L, h, w], N(0, 1)
     * @return [B, L, h, w], a new tensor owned by the caller
     */
    public Tensor sample(Tensor eps) {
        if (!eps.shape().equals(mean.shape())) {
            throw new IllegalArgumentException("LatentDistribution.sample: noise " + eps.shape() + " must match the latent "
                    + mean.shape());
        }
        Tensor se = Ops.mul(std, eps);       // [B, L, h, w]
        Tensor z = Ops.add(mean, se);        // [B, L, h, w]
        return Intermediates.release(z, se);
    }

    /** The mode μ (the tensor held by this record, not a copy). */
    public Tensor mode() {
        return mean;
    }

    /** Frees the mean, log-variance and standard deviation. */
    @Override
    public void close() {
        mean.close();
        logvar.close();
        std.close();
    }
}
