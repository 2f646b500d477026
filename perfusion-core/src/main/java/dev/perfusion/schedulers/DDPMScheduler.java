package dev.perfusion.schedulers;

import dev.perfusion.schedulers.SchedulerConfig.PredictionType;
import dev.perfusion.schedulers.SchedulerConfig.TimestepSpacing;
import dev.perfusion.schedulers.SchedulerConfig.VarianceType;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.Arrays;

/**
 * Denoising diffusion probabilistic models (Ho et al. 2020), diffusers' {@code DDPMScheduler}: the forward
 * (noising) process used for training, and ancestral sampling.
 *
 * <p>Training side: {@link #addNoise} x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε, {@link #getVelocity} v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀,
 * and {@link #trainingTarget} (ε or v per {@code prediction_type}), each with one timestep per batch sample.
 *
 * <p>Sampling step from t to t' = t − N // n (ᾱ_{t'} = 1 below 0), with x̂₀ = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t (ε
 * prediction) or √ᾱ_t·x_t − √(1−ᾱ_t)·v (v prediction), clamped when {@code clip_sample}:
 * <pre>
 *   α_t' = ᾱ_t/ᾱ_{t'},  β_t' = 1 − α_t'
 *   μ = (√ᾱ_{t'}·β_t'/(1−ᾱ_t))·x̂₀ + (√α_t'·(1−ᾱ_{t'})/(1−ᾱ_t))·x_t
 *   x_{t'} = μ + σ_t·z   (t &gt; 0; z the caller's noise), σ_t² = max((1−ᾱ_{t'})/(1−ᾱ_t)·β_t', 1e-20) (fixed_small)
 *                                                           or β_t' (fixed_large)
 * </pre>
 * Default spacing {@code leading}: SD v1.x with 50 steps runs 981, 961, …, 1. Scalars are float32 as in diffusers.
 */
public final class DDPMScheduler extends BaseScheduler {
    /** The name in {@link Schedulers}. */
    public static final String NAME = "ddpm";


    /** A DDPM sampler for {@code config} ({@code variance_type} fixed_small or fixed_large). */
    public DDPMScheduler(SchedulerConfig config) {
        super(config);
        requireNoEpsilonAtZeroSnr(config);
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
        int n = schedule.numTrainTimesteps();
        TimestepSpacings.checkSteps(numInferenceSteps, n);
        long[] t = TimestepSpacings.discrete(config.timestepSpacingOr(TimestepSpacing.LEADING), n, numInferenceSteps,
                config.stepsOffset());
        return new TimestepSchedule(numInferenceSteps, toFloat(t), new float[0], 1f);
    }

    @Override
    public SamplingRun newRun(int numInferenceSteps) {
        return new Run(timesteps(numInferenceSteps));
    }

    /**
     * The variance σ_t² of the noise added when stepping from {@code timestep} in a run of
     * {@code numInferenceSteps} steps (diffusers' {@code _get_variance}).
     */
    public float variance(int timestep, int numInferenceSteps) {
        int prev = timestep - schedule.numTrainTimesteps() / numInferenceSteps;
        float a = schedule.alphaCumprod(timestep);
        float aPrev = prev >= 0 ? schedule.alphaCumprod(prev) : 1f;
        float currentBeta = 1f - a / aPrev;
        if (config.varianceType() == VarianceType.FIXED_LARGE) {
            return currentBeta;
        }
        float v = (1f - aPrev) / (1f - a) * currentBeta;
        return Math.max(v, 1e-20f); // torch.clamp(min=1e-20): the last step's variance is 0
    }

    // ------------------------------------------------------------------ training

    /**
     * The forward process q(x_t | x₀): x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε, with t per sample.
     *
     * @param originalSamples x₀ [B, ...]
     * @param noise           ε, shaped like x₀
     * @param timesteps       one timestep per sample (B values), or one for all
     */
    public Tensor addNoise(Tensor originalSamples, Tensor noise, int... timesteps) {
        checkSameShape("addNoise", originalSamples, noise);
        return mix(originalSamples, noise, timesteps, false);
    }

    /** The velocity v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀ (Salimans &amp; Ho 2022), t per sample as in {@link #addNoise}. */
    public Tensor getVelocity(Tensor sample, Tensor noise, int... timesteps) {
        checkSameShape("getVelocity", sample, noise);
        return mix(noise, sample, timesteps, true);
    }

    /**
     * What the model is trained to predict for x_t = addNoise(x₀, ε, t): ε for {@code epsilon}, v for
     * {@code v_prediction}. The result is a new tensor (for ε, a view of {@code noise}).
     */
    public Tensor trainingTarget(Tensor originalSamples, Tensor noise, int... timesteps) {
        return switch (config.predictionType()) {
            case EPSILON -> {
                checkSameShape("trainingTarget", originalSamples, noise);
                checkTimesteps("trainingTarget", timesteps, originalSamples);
                yield StepMath.view(noise); // [B, ...]
            }
            case V_PREDICTION -> getVelocity(originalSamples, noise, timesteps);
        };
    }

    /** √ᾱ_t·first ± √(1−ᾱ_t)·second, per sample. */
    private Tensor mix(Tensor first, Tensor second, int[] timesteps, boolean subtract) {
        checkTimesteps(subtract ? "getVelocity" : "addNoise", timesteps, first);
        int b = timesteps.length;
        float[] sqrtAlpha = new float[b];
        float[] sqrtOneMinus = new float[b];
        for (int i = 0; i < b; i++) {
            float a = schedule.alphaCumprod(timesteps[i]);
            sqrtAlpha[i] = (float) Math.sqrt(a);
            sqrtOneMinus[i] = (float) Math.sqrt(1f - a);
        }
        int[] dims = new int[first.rank()];
        Arrays.fill(dims, 1);
        dims[0] = b;
        Shape coef = Shape.of(dims); // [B, 1, …, 1]
        try (TensorScope scope = TensorScope.open()) {
            Tensor ca = first.backend().fromArray(sqrtAlpha, coef);
            Tensor cb = first.backend().fromArray(sqrtOneMinus, coef);
            Tensor p = first.backend().binary(BinaryOp.MUL, ca, first); // [B, ...]
            Tensor q = first.backend().binary(BinaryOp.MUL, cb, second); // [B, ...]
            return scope.keep(subtract ? StepMath.sub(p, q) : StepMath.add(p, q)); // [B, ...]
        }
    }

    private void checkTimesteps(String op, int[] timesteps, Tensor x) {
        if (x.rank() < 1) {
            throw new IllegalArgumentException(op + ": samples need a batch axis, got shape " + x.shape());
        }
        if (timesteps.length != 1 && timesteps.length != x.dim(0)) {
            throw new IllegalArgumentException(op + ": " + timesteps.length + " timesteps for a batch of "
                    + x.dim(0) + " (give one per sample, or one for all)");
        }
        for (int t : timesteps) {
            if (t < 0 || t >= schedule.numTrainTimesteps()) {
                throw new IllegalArgumentException(op + ": timestep " + t + " is outside [0, "
                        + (schedule.numTrainTimesteps() - 1) + "]");
            }
        }
    }

    private static void checkSameShape(String op, Tensor a, Tensor b) {
        if (!a.shape().equals(b.shape())) {
            throw new IllegalArgumentException(op + ": samples " + a.shape() + " and noise " + b.shape()
                    + " differ in shape");
        }
    }

    static float[] toFloat(long[] t) {
        float[] f = new float[t.length];
        for (int i = 0; i < t.length; i++) {
            f[i] = t[i];
        }
        return f;
    }

    /** DDPM sampling keeps no state between steps. */
    private final class Run extends SamplingRun {
        Run(TimestepSchedule schedule) {
            super(schedule, false);
        }

        @Override
        public boolean needsNoise(int stepIndex) {
            return schedule().timestep(stepIndex) > 0;
        }

        @Override
        protected StepOutput compute(Tensor modelOutput, int i, Tensor sample, Tensor noise) {
            int n = schedule().numInferenceSteps();
            int t = (int) schedule().timestep(i);
            int prev = t - schedule.numTrainTimesteps() / n;
            float a = schedule.alphaCumprod(t);
            float aPrev = prev >= 0 ? schedule.alphaCumprod(prev) : 1f; // diffusers' self.one
            float beta = 1f - a;
            float betaPrev = 1f - aPrev;
            float currentAlpha = a / aPrev;
            float currentBeta = 1f - currentAlpha;

            Tensor x0 = config.predictionType() == PredictionType.EPSILON
                    ? StepMath.divide(StepMath.subScaled(sample, (float) Math.sqrt(beta), modelOutput),
                            (float) Math.sqrt(a)) // [B, C, H, W]
                    : StepMath.sub(StepMath.scale(sample, (float) Math.sqrt(a)),
                            StepMath.scale(modelOutput, (float) Math.sqrt(beta))); // [B, C, H, W]
            if (config.clipSample()) {
                float r = (float) config.clipSampleRange();
                x0 = StepMath.clamp(x0, -r, r); // [B, C, H, W]
            }
            float x0Coeff = (float) Math.sqrt(aPrev) * currentBeta / beta;
            float sampleCoeff = (float) Math.sqrt(currentAlpha) * betaPrev / beta;
            Tensor prevSample = StepMath.combine(x0Coeff, x0, sampleCoeff, sample); // [B, C, H, W]
            if (noise != null) {
                float std = (float) Math.sqrt(variance(t, n));
                prevSample = StepMath.addScaled(prevSample, std, noise); // [B, C, H, W]
            }
            return new StepOutput(prevSample, x0);
        }
    }
}
