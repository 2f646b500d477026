package dev.perfusion.schedulers;

/**
 * The training noise schedule of a DDPM-family model: β_t, α_t = 1 − β_t and ᾱ_t = Π_{s≤t} α_s for
 * t = 0 … N−1, in float32 as diffusers 0.30.3 computes them on the CPU:
 * <ul>
 *   <li>{@code scaled_linear}: β = {@code torch.linspace(√β₀, √β_end, N, float32)²}</li>
 *   <li>{@code linear}: β = {@code torch.linspace(β₀, β_end, N, float32)}</li>
 *   <li>{@code squaredcos_cap_v2}: β_t = min(1 − ᾱ(t+1)/ᾱ(t), 0.999) with ᾱ(t) = cos²((t/N + 0.008)/1.008·π/2),
 *       in float64, then rounded to float32</li>
 *   <li>ᾱ = {@code torch.cumprod(α)}: torch accumulates a float32 product in double on the CPU and rounds each
 *       prefix to float32 (a float32 running product drifts by up to 3.6e-7 from it)</li>
 * </ul>
 * For SD v1.5 these equal the golden file's β and ᾱ bit for bit. The σ of the equivalent variance-exploding
 * process, σ_t = √((1 − ᾱ_t)/ᾱ_t), is given by {@link #sigmas()}. Immutable.
 */
public final class NoiseSchedule {
    private final float[] betas;
    private final float[] alphas;
    private final float[] alphasCumprod;

    private NoiseSchedule(float[] betas) {
        int n = betas.length;
        this.betas = betas;
        this.alphas = new float[n];
        this.alphasCumprod = new float[n];
        double product = 1;
        for (int t = 0; t < n; t++) {
            alphas[t] = 1f - betas[t];
            product *= alphas[t];
            alphasCumprod[t] = (float) product;
        }
    }

    /**
     * The schedule described by {@code config} (its β settings, {@code num_train_timesteps} and
     * {@code rescale_betas_zero_snr}).
     */
    public static NoiseSchedule of(SchedulerConfig config) {
        NoiseSchedule s = new NoiseSchedule(baseBetas(config));
        return config.rescaleBetasZeroSnr() ? new NoiseSchedule(zeroTerminalSnrBetas(s.alphasCumprod)) : s;
    }

    /**
     * β rescaled to zero terminal SNR (Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are
     * Flawed", algorithm 1, as diffusers' {@code rescale_zero_terminal_snr}): √ᾱ is shifted so that √ᾱ_{N−1} = 0
     * and scaled so that √ᾱ₀ is unchanged, √ᾱ'_t = (√ᾱ_t − √ᾱ_{N−1})·√ᾱ₀ / (√ᾱ₀ − √ᾱ_{N−1}); then α'_t =
     * ᾱ'_t / ᾱ'_{t−1} (α'₀ = ᾱ'₀) and β' = 1 − α'. So β'_{N−1} = 1 and the last training step is pure noise, as
     * sampling's first step is. Computed in float64 from the float32 ᾱ, then rounded (diffusers computes in float32:
     * the two agree to about 1e-7).
     */
    static float[] zeroTerminalSnrBetas(float[] alphasCumprod) {
        int n = alphasCumprod.length;
        double first = Math.sqrt(alphasCumprod[0]);
        double last = Math.sqrt(alphasCumprod[n - 1]);
        double[] abar = new double[n];
        for (int t = 0; t < n; t++) {
            double r = (Math.sqrt(alphasCumprod[t]) - last) * first / (first - last);
            abar[t] = r * r;
        }
        float[] b = new float[n];
        for (int t = 0; t < n; t++) {
            double alpha = t == 0 ? abar[0] : abar[t] / abar[t - 1];
            b[t] = (float) (1 - alpha);
        }
        return b;
    }

    /** β of the configured schedule before any rescaling. */
    private static float[] baseBetas(SchedulerConfig config) {
        int n = config.numTrainTimesteps();
        if (config.trainedBetas() != null) {
            float[] b = new float[n];
            for (int t = 0; t < n; t++) {
                b[t] = config.trainedBetas().get(t).floatValue();
            }
            return b;
        }
        return switch (config.betaSchedule()) {
            case LINEAR -> DiffusersNumerics.torchLinspaceFloat32(config.betaStart(), config.betaEnd(), n);
            case SCALED_LINEAR -> {
                float[] b = DiffusersNumerics.torchLinspaceFloat32(
                        Math.sqrt(config.betaStart()), Math.sqrt(config.betaEnd()), n);
                for (int t = 0; t < n; t++) {
                    b[t] = b[t] * b[t];
                }
                yield b;
            }
            case SQUAREDCOS_CAP_V2 -> cosineBetas(n);
        };
    }

    /** diffusers' {@code betas_for_alpha_bar(N, max_beta=0.999, alpha_transform_type="cosine")}. */
    private static float[] cosineBetas(int n) {
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            b[i] = (float) Math.min(1 - cosineAlphaBar(t2) / cosineAlphaBar(t1), 0.999);
        }
        return b;
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** N, the number of training timesteps. */
    public int numTrainTimesteps() {
        return betas.length;
    }

    /** β_t. */
    public float beta(int t) {
        return betas[check(t)];
    }

    /** α_t = 1 − β_t. */
    public float alpha(int t) {
        return alphas[check(t)];
    }

    /** ᾱ_t = Π_{s≤t} α_s. */
    public float alphaCumprod(int t) {
        return alphasCumprod[check(t)];
    }

    /** All β_t (a copy). */
    public float[] betas() {
        return betas.clone();
    }

    /** All α_t (a copy). */
    public float[] alphas() {
        return alphas.clone();
    }

    /** All ᾱ_t (a copy). */
    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /**
     * ᾱ used after the last DDIM/PNDM step (at "t = −1"): 1 when {@code set_alpha_to_one}, else ᾱ₀ (SD v1.x:
     * 0.99915), as diffusers' {@code final_alpha_cumprod}.
     */
    public float finalAlphaCumprod(boolean setAlphaToOne) {
        return setAlphaToOne ? 1f : alphasCumprod[0];
    }

    /**
     * σ_t = √((1 − ᾱ_t)/ᾱ_t) for every training timestep, in float32 as diffusers' Euler and DPM-Solver schedulers
     * compute it ({@code ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5}); σ₀ = 0.0292, σ₉₉₉ = 14.6146 for SD.
     */
    public float[] sigmas() {
        float[] s = new float[alphasCumprod.length];
        for (int t = 0; t < s.length; t++) {
            float a = alphasCumprod[t];
            s[t] = (float) Math.sqrt((1f - a) / a);
        }
        return s;
    }

    private int check(int t) {
        if (t < 0 || t >= betas.length) {
            throw new IllegalArgumentException("timestep " + t + " is outside the training schedule [0, "
                    + (betas.length - 1) + "]");
        }
        return t;
    }
}
