package dev.perfusion.schedulers;

import dev.perfusion.schedulers.SchedulerConfig.FinalSigmasType;
import dev.perfusion.tensor.Tensor;

/**
 * Ancestral sampling with Euler steps (k-diffusion's {@code sample_euler_ancestral}), diffusers'
 * {@code EulerAncestralDiscreteScheduler}: each step goes down to σ_down with an Euler step, then adds fresh noise
 * of standard deviation σ_up, so that the marginal noise level is σ_{i+1}.
 *
 * <p>σ and timesteps as {@link EulerDiscreteScheduler} (interpolated, default spacing {@code linspace}, final σ 0;
 * diffusers 0.30.3's class has no Karras option, so {@code use_karras_sigmas} is ignored here as there). With
 * σ = σ_i, σ' = σ_{i+1} and the caller's noise z:
 * <pre>
 *   x̂₀ = x − σ·ε   (or the v-prediction form)
 *   σ_up = √(σ'²·(σ² − σ'²)/σ²),   σ_down = √(σ'² − σ_up²)
 *   x_{i+1} = x + (x − x̂₀)/σ · (σ_down − σ) + σ_up·z
 * </pre>
 * Every step but the last (σ' = 0, σ_up = 0) needs noise.
 */
public final class EulerAncestralDiscreteScheduler extends BaseScheduler {
    /** The name in {@link Schedulers}. */
    public static final String NAME = "euler_a";


    /** An Euler-ancestral sampler for {@code config}. */
    public EulerAncestralDiscreteScheduler(SchedulerConfig config) {
        super(config);
        rejectZeroTerminalSnr(config, "EulerAncestralDiscreteScheduler");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isStochastic() {
        return true;
    }

    @Override
    public TimestepSchedule timesteps(int numInferenceSteps) {
        return EulerDiscreteScheduler.sigmaSchedule(config, schedule, numInferenceSteps, false, FinalSigmasType.ZERO,
                false);
    }

    @Override
    public SamplingRun newRun(int numInferenceSteps) {
        return new Run(timesteps(numInferenceSteps));
    }

    /** Euler ancestral keeps no state between steps (the noise comes in with each step). */
    private final class Run extends SamplingRun {
        Run(TimestepSchedule schedule) {
            super(schedule, false);
        }

        @Override
        public Tensor scaleModelInput(Tensor sample, int stepIndex) {
            return EulerDiscreteScheduler.scaleBySigma(sample, schedule().sigma(schedule().checkStep(stepIndex)));
        }

        @Override
        public boolean needsNoise(int stepIndex) {
            return schedule().sigma(schedule().checkStep(stepIndex) + 1) > 0;
        }

        @Override
        protected StepOutput compute(Tensor modelOutput, int i, Tensor sample, Tensor noise) {
            float sigma = schedule().sigma(i);
            float sigmaTo = schedule().sigma(i + 1);
            Tensor x0 = EulerDiscreteScheduler.predictOriginal(config.predictionType(), modelOutput, sample,
                    sigma); // [B, C, H, W]
            float from2 = sigma * sigma;
            float to2 = sigmaTo * sigmaTo;
            float sigmaUp = (float) Math.sqrt(to2 * (from2 - to2) / from2);
            // max(0, ·): float rounding must not turn σ'² − σ_up² ≈ 0 into a NaN
            float sigmaDown = (float) Math.sqrt(Math.max(0f, to2 - sigmaUp * sigmaUp));
            Tensor derivative = StepMath.divide(StepMath.sub(sample, x0), sigma); // [B, C, H, W]
            Tensor prevSample = StepMath.addScaled(sample, sigmaDown - sigma, derivative); // [B, C, H, W]
            if (noise != null) {
                prevSample = StepMath.addScaled(prevSample, sigmaUp, noise); // [B, C, H, W]
            }
            return new StepOutput(prevSample, x0);
        }
    }
}
