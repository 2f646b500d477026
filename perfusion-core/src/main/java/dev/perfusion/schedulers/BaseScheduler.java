package dev.perfusion.schedulers;

/**
 * What every sampler holds: its configuration and the training noise schedule derived from it. The subclasses add
 * their timestep schedule and step maths.
 */
abstract class BaseScheduler implements Scheduler {
    /** The configuration the sampler was built from. */
    protected final SchedulerConfig config;
    /** β, α and ᾱ of {@link #config}. */
    protected final NoiseSchedule schedule;

    protected BaseScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = NoiseSchedule.of(config);
    }

    /**
     * Rejects {@code rescale_betas_zero_snr} in a sampler that does not implement it (its σ = √((1−ᾱ)/ᾱ) would be
     * infinite at the last training step).
     */
    protected static void rejectZeroTerminalSnr(SchedulerConfig config, String sampler) {
        if (config.rescaleBetasZeroSnr()) {
            throw new IllegalArgumentException("rescale_betas_zero_snr true is not supported by " + sampler
                    + " (supported by DDIMScheduler and DDPMScheduler, with prediction_type v_prediction)");
        }
    }

    /**
     * With {@code rescale_betas_zero_snr}, ᾱ_{N−1} = 0: an ε prediction there says nothing about x₀ (x₀ =
     * (x − √(1−ᾱ)·ε)/√ᾱ divides by 0), so the model must predict v (Lin et al. 2023, §3.2).
     */
    protected static void requireNoEpsilonAtZeroSnr(SchedulerConfig config) {
        if (config.rescaleBetasZeroSnr() && config.predictionType() == SchedulerConfig.PredictionType.EPSILON) {
            throw new IllegalArgumentException("rescale_betas_zero_snr true needs prediction_type v_prediction:"
                    + " with zero terminal SNR an epsilon prediction cannot give x0 at the first step");
        }
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public NoiseSchedule noiseSchedule() {
        return schedule;
    }
}
