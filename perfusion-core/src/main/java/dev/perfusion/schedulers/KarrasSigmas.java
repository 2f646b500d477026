package dev.perfusion.schedulers;

/**
 * The σ spacing of Karras et al. (2022), "Elucidating the design space of diffusion-based generative models", eq. 5,
 * and diffusers' map from a σ back to a (fractional) training timestep. Both run in float64 as in diffusers.
 */
final class KarrasSigmas {
    /** ρ = 7, the paper's value (diffusers hard-codes it). */
    static final double RHO = 7.0;

    private KarrasSigmas() {
    }

    /**
     * σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ for i = 0 … n−1: from σ_max down to σ_min, denser
     * near σ_min.
     */
    static double[] sigmas(double sigmaMin, double sigmaMax, int n) {
        double[] ramp = DiffusersNumerics.linspace(0, 1, n);
        double minInvRho = Math.pow(sigmaMin, 1 / RHO);
        double maxInvRho = Math.pow(sigmaMax, 1 / RHO);
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = Math.pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), RHO);
        }
        return s;
    }

    /** ln σ_t of the training schedule, in float32 as {@code np.log} of diffusers' float32 σ array. */
    static float[] logSigmas(float[] sigmas) {
        float[] l = new float[sigmas.length];
        for (int t = 0; t < l.length; t++) {
            l[t] = (float) Math.log(sigmas[t]);
        }
        return l;
    }

    /**
     * diffusers' {@code _sigma_to_t}: the fractional timestep whose σ is {@code sigma}, by linear interpolation in
     * ln σ between the two neighbouring training timesteps (clamped to the schedule's ends). {@code logSigmas} must
     * increase with t.
     */
    static double sigmaToT(double sigma, float[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        // low = the last t with ln σ_t ≤ ln σ (0 when there is none), at most N−2
        int low = 0;
        for (int t = 0; t < logSigmas.length; t++) {
            if (logSigma - logSigmas[t] >= 0) {
                low = t;
            }
        }
        low = Math.min(low, logSigmas.length - 2);
        float lo = logSigmas[low];
        float hi = logSigmas[low + 1];
        double w = (lo - logSigma) / (double) (lo - hi); // lo − hi in float32, as NumPy subtracts two float32 scalars
        w = Math.min(Math.max(w, 0), 1);
        return (1 - w) * low + w * (low + 1);
    }
}
