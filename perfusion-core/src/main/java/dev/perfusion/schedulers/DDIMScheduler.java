package dev.perfusion.schedulers;

import dev.perfusion.schedulers.SchedulerConfig.PredictionType;
import dev.perfusion.schedulers.SchedulerConfig.TimestepSpacing;
import dev.perfusion.tensor.Tensor;

/**
 * Denoising diffusion implicit models (Song et al. 2021), diffusers' {@code DDIMScheduler}, with the stochasticity
 * η ∈ [0, 1] fixed per scheduler (η = 0: deterministic DDIM; η = 1: DDPM-like).
 *
 * <p>Step from t to t' = t − N // n (ᾱ_{t'} = {@code final_alpha_cumprod} below 0: ᾱ₀ for SD, whose config has
 * {@code set_alpha_to_one false}), eq. 12 of the paper:
 * <pre>
 *   ε prediction: x̂₀ = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t,          ε̂ = ε
 *   v prediction: x̂₀ = √ᾱ_t·x_t − √(1−ᾱ_t)·v,           ε̂ = √ᾱ_t·v + √(1−ᾱ_t)·x_t
 *   σ_t = η·√((1−ᾱ_{t'})/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_{t'}))
 *   x_{t'} = √ᾱ_{t'}·x̂₀ + √(1−ᾱ_{t'}−σ_t²)·ε̂ + σ_t·z      (z the caller's noise, only when η &gt; 0)
 * </pre>
 * x̂₀ is clamped to ±{@code clip_sample_range} when {@code clip_sample}. Default spacing {@code leading} (981 … 1 for
 * SD with 50 steps); {@code trailing} and {@code linspace} also work. Scalars are float32 as in diffusers.
 */
public final class DDIMScheduler extends BaseScheduler {
    /** The name in {@link Schedulers}. */
    public static final String NAME = "ddim";

    private final float eta;

    /** Deterministic DDIM (η = 0). */
    public DDIMScheduler(SchedulerConfig config) {
        this(config, 0f);
    }

    /**
     * DDIM with stochasticity η.
     *
     * @throws IllegalArgumentException unless η ≥ 0
     */
    public DDIMScheduler(SchedulerConfig config, float eta) {
        super(config);
        requireNoEpsilonAtZeroSnr(config);
        if (!(eta >= 0) || Float.isInfinite(eta)) {
            throw new IllegalArgumentException("DDIM eta must be a finite number ≥ 0, got " + eta);
        }
        this.eta = eta;
    }

    /** The same sampler with another η. */
    public DDIMScheduler withEta(float newEta) {
        return new DDIMScheduler(config, newEta);
    }

    /** η: 0 deterministic, 1 as much noise as DDPM's posterior. */
    public float eta() {
        return eta;
    }

    /** ᾱ after the last step: 1 when {@code set_alpha_to_one}, else ᾱ₀. */
    public float finalAlphaCumprod() {
        return schedule.finalAlphaCumprod(config.setAlphaToOne());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isStochastic() {
        return eta > 0;
    }

    @Override
    public TimestepSchedule timesteps(int numInferenceSteps) {
        int n = schedule.numTrainTimesteps();
        TimestepSpacings.checkSteps(numInferenceSteps, n);
        long[] t = TimestepSpacings.discrete(config.timestepSpacingOr(TimestepSpacing.LEADING), n, numInferenceSteps,
                config.stepsOffset());
        return new TimestepSchedule(numInferenceSteps, DDPMScheduler.toFloat(t), new float[0], 1f);
    }

    @Override
    public SamplingRun newRun(int numInferenceSteps) {
        return new Run(timesteps(numInferenceSteps));
    }

    /** DDIM keeps no state between steps. */
    private final class Run extends SamplingRun {
        Run(TimestepSchedule schedule) {
            super(schedule, false);
        }

        @Override
        public boolean needsNoise(int stepIndex) {
            schedule().checkStep(stepIndex);
            return eta > 0;
        }

        @Override
        protected StepOutput compute(Tensor modelOutput, int i, Tensor sample, Tensor noise) {
            int t = (int) schedule().timestep(i);
            // the previous timestep is t − N//n whatever the spacing, as in diffusers
            int prev = t - schedule.numTrainTimesteps() / schedule().numInferenceSteps();
            float a = schedule.alphaCumprod(t);
            float aPrev = prev >= 0 ? schedule.alphaCumprod(prev) : finalAlphaCumprod();
            float beta = 1f - a;
            float sqrtA = (float) Math.sqrt(a);
            float sqrtB = (float) Math.sqrt(beta);

            Tensor x0;
            Tensor eps;
            if (config.predictionType() == PredictionType.EPSILON) {
                x0 = StepMath.divide(StepMath.subScaled(sample, sqrtB, modelOutput), sqrtA); // [B, C, H, W]
                eps = modelOutput;
            } else {
                x0 = StepMath.sub(StepMath.scale(sample, sqrtA), StepMath.scale(modelOutput, sqrtB)); // [B, C, H, W]
                eps = StepMath.combine(sqrtA, modelOutput, sqrtB, sample); // [B, C, H, W]
            }
            if (config.clipSample()) {
                float r = (float) config.clipSampleRange();
                x0 = StepMath.clamp(x0, -r, r); // [B, C, H, W]
            }
            float variance = (1f - aPrev) / beta * (1f - a / aPrev);
            float std = eta * (float) Math.sqrt(variance);
            float direction = (float) Math.sqrt(1f - aPrev - std * std);
            Tensor prevSample = StepMath.combine((float) Math.sqrt(aPrev), x0, direction, eps); // [B, C, H, W]
            if (noise != null) {
                prevSample = StepMath.addScaled(prevSample, std, noise); // [B, C, H, W]
            }
            return new StepOutput(prevSample, x0);
        }
    }
}
