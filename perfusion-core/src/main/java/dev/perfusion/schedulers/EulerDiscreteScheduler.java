package dev.perfusion.schedulers;

import dev.perfusion.schedulers.SchedulerConfig.FinalSigmasType;
import dev.perfusion.schedulers.SchedulerConfig.PredictionType;
import dev.perfusion.schedulers.SchedulerConfig.TimestepSpacing;
import dev.perfusion.tensor.Tensor;

/**
 * The Euler method on the probability-flow ODE in σ (Karras et al. 2022, algorithm 2 without churn), diffusers'
 * {@code EulerDiscreteScheduler} with {@code s_churn = 0}: deterministic.
 *
 * <p>Noise levels: σ(t) = √((1−ᾱ_t)/ᾱ_t) of the training schedule, linearly interpolated at the (fractional)
 * inference timesteps (default spacing {@code linspace}: 999, 964.55, …, 0 for 30 steps), or Karras σ
 * ({@code use_karras_sigmas}) between {@code sigma_min}/{@code sigma_max} (default: the interpolated ends) with
 * their timesteps mapped back through ln σ; then σ_n = 0 ({@code final_sigmas_type zero}) or σ₀.
 * <pre>
 *   model input  = x / √(σ_i² + 1)                       (scale_model_input; x₀ = σ_max·N(0, I))
 *   x̂₀ = x − σ_i·ε   (ε prediction)   or   v·(−σ_i/√(σ_i²+1)) + x/(σ_i²+1)   (v prediction)
 *   x_{i+1} = x + (x − x̂₀)/σ_i · (σ_{i+1} − σ_i)
 * </pre>
 * init_noise_sigma is σ_max for {@code linspace}/{@code trailing} spacing and √(σ_max² + 1) for {@code leading}.
 * Timesteps and σ are computed in float64 as NumPy does and rounded to float32; step scalars are float32.
 */
public final class EulerDiscreteScheduler extends BaseScheduler {
    /** The name in {@link Schedulers}. */
    public static final String NAME = "euler";


    /** An Euler sampler for {@code config}. */
    public EulerDiscreteScheduler(SchedulerConfig config) {
        super(config);
        rejectZeroTerminalSnr(config, "EulerDiscreteScheduler");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isStochastic() {
        return false;
    }

    @Override
    public TimestepSchedule timesteps(int numInferenceSteps) {
        return sigmaSchedule(config, schedule, numInferenceSteps, config.useKarrasSigmas(), config.finalSigmasType(),
                true);
    }

    @Override
    public SamplingRun newRun(int numInferenceSteps) {
        return new Run(timesteps(numInferenceSteps));
    }

    /**
     * The timesteps and σ shared by Euler and Euler ancestral (diffusers' {@code set_timesteps} of both).
     *
     * @param karras         use Karras σ (Euler only)
     * @param useConfigRange take Karras σ_min/σ_max from the config when given
     */
    static TimestepSchedule sigmaSchedule(SchedulerConfig config, NoiseSchedule schedule, int n, boolean karras,
                                          FinalSigmasType finalSigmas, boolean useConfigRange) {
        int numTrain = schedule.numTrainTimesteps();
        TimestepSpacings.checkSteps(n, numTrain);
        TimestepSpacing spacing = config.timestepSpacingOr(TimestepSpacing.LINSPACE);
        float[] timesteps = TimestepSpacings.euler(spacing, numTrain, n, config.stepsOffset());
        float[] trainSigmas = schedule.sigmas();
        double[] sig = new double[n];
        for (int i = 0; i < n; i++) {
            sig[i] = DiffusersNumerics.interp(timesteps[i], trainSigmas);
        }
        if (karras) {
            double lo = useConfigRange && config.sigmaMin() != null ? config.sigmaMin() : sig[n - 1];
            double hi = useConfigRange && config.sigmaMax() != null ? config.sigmaMax() : sig[0];
            sig = KarrasSigmas.sigmas(lo, hi, n);
            float[] logSigmas = KarrasSigmas.logSigmas(trainSigmas);
            for (int i = 0; i < n; i++) {
                timesteps[i] = (float) KarrasSigmas.sigmaToT(sig[i], logSigmas);
            }
        }
        float[] sigmas = new float[n + 1];
        float max = 0;
        for (int i = 0; i < n; i++) {
            sigmas[i] = (float) sig[i];
            max = Math.max(max, sigmas[i]);
        }
        sigmas[n] = finalSigmas == FinalSigmasType.ZERO ? 0f : trainSigmas[0];
        max = Math.max(max, sigmas[n]);
        float init = spacing == TimestepSpacing.LEADING ? (float) Math.sqrt(max * max + 1f) : max;
        return new TimestepSchedule(n, timesteps, sigmas, init);
    }

    /** x̂₀ from the model output at noise level σ (ε or v prediction). */
    static Tensor predictOriginal(PredictionType type, Tensor modelOutput, Tensor sample, float sigma) {
        if (type == PredictionType.EPSILON) {
            return StepMath.subScaled(sample, sigma, modelOutput); // x − σ·ε  [B, C, H, W]
        }
        float s2p1 = sigma * sigma + 1f;
        Tensor a = StepMath.scale(modelOutput, -sigma / (float) Math.sqrt(s2p1)); // [B, C, H, W]
        return StepMath.add(a, StepMath.divide(sample, s2p1)); // [B, C, H, W]
    }

    /** x / √(σ² + 1), diffusers' {@code scale_model_input} for σ-parameterised samplers. */
    static Tensor scaleBySigma(Tensor sample, float sigma) {
        return StepMath.divide(sample, (float) Math.sqrt(sigma * sigma + 1f)); // [B, C, H, W]
    }

    /** Euler keeps no state between steps. */
    private final class Run extends SamplingRun {
        Run(TimestepSchedule schedule) {
            super(schedule, false);
        }

        @Override
        public Tensor scaleModelInput(Tensor sample, int stepIndex) {
            return scaleBySigma(sample, schedule().sigma(schedule().checkStep(stepIndex)));
        }

        @Override
        public boolean needsNoise(int stepIndex) {
            schedule().checkStep(stepIndex);
            return false;
        }

        @Override
        protected StepOutput compute(Tensor modelOutput, int i, Tensor sample, Tensor noise) {
            float sigma = schedule().sigma(i);
            Tensor x0 = predictOriginal(config.predictionType(), modelOutput, sample, sigma); // [B, C, H, W]
            Tensor derivative = StepMath.divide(StepMath.sub(sample, x0), sigma); // [B, C, H, W]
            float dt = schedule().sigma(i + 1) - sigma;
            Tensor prevSample = StepMath.addScaled(sample, dt, derivative); // x + d·dt  [B, C, H, W]
            return new StepOutput(prevSample, x0);
        }
    }
}
