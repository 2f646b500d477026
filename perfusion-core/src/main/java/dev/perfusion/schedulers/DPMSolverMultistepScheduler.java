package dev.perfusion.schedulers;

import dev.perfusion.schedulers.SchedulerConfig.FinalSigmasType;
import dev.perfusion.schedulers.SchedulerConfig.PredictionType;
import dev.perfusion.schedulers.SchedulerConfig.TimestepSpacing;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;

/**
 * DPM-Solver++ (Lu et al. 2022, "DPM-Solver++: fast solver for guided sampling"), multistep, diffusers'
 * {@code DPMSolverMultistepScheduler} with {@code algorithm_type dpmsolver++} and {@code solver_type midpoint}:
 * "DPM++ 2M" at {@code solver_order 2}, "DPM++ 2M Karras" with {@code use_karras_sigmas}.
 *
 * <p>Noise levels σ_i as for Euler but from integer timesteps (default spacing {@code linspace}: n of n + 1 points of
 * [0, N−1], the 0 dropped: 999, 949, …, 50 for 20 steps), or Karras σ (ρ = 7 between the training schedule's
 * σ₀ and σ_{N−1}) with timesteps round(t(σ)) mapped back through ln σ; σ_n = 0 ({@code final_sigmas_type zero})
 * or σ₀. Each step, with α_s = 1/√(σ_s²+1), σ̃_s = σ_s·α_s, λ_s = ln α_s − ln σ̃_s and h = λ_{i+1} − λ_i:
 * <pre>
 *   D_i = x̂₀ = (x − σ̃_i·ε)/α_i   (or α_i·x − σ̃_i·v)
 *   1st order:  x_{i+1} = (σ̃_{i+1}/σ̃_i)·x − α_{i+1}·(e^{−h} − 1)·D_i
 *   2nd order:  r = (λ_i − λ_{i−1})/h,  D' = (D_i − D_{i−1})/r,
 *               x_{i+1} = (σ̃_{i+1}/σ̃_i)·x − α_{i+1}(e^{−h} − 1)·D_i − ½·α_{i+1}(e^{−h} − 1)·D'
 * </pre>
 * The first step is first order (no history yet), and so is the last step when {@code final_sigmas_type zero},
 * {@code euler_at_final}, or {@code lower_order_final} with fewer than 15 steps. The sample is not rescaled
 * (init_noise_sigma 1; this is the variance-preserving form). The history D_{i−1} lives in the {@link SamplingRun}.
 * Scalars are float32 as in diffusers (σ = 0 at the end gives λ = ∞ and e^{−h} = 0, as there).
 */
public final class DPMSolverMultistepScheduler extends BaseScheduler {
    /** The name in {@link Schedulers} (without Karras σ). */
    public static final String NAME = "dpmpp_2m";
    /** The name in {@link Schedulers} with Karras σ. */
    public static final String NAME_KARRAS = "dpmpp_2m_karras";


    /**
     * A DPM-Solver++ sampler for {@code config}.
     *
     * @throws IllegalArgumentException for {@code solver_order} other than 1 or 2
     */
    public DPMSolverMultistepScheduler(SchedulerConfig config) {
        super(config);
        rejectZeroTerminalSnr(config, "DPMSolverMultistepScheduler");
        if (config.solverOrder() > 2) {
            throw new IllegalArgumentException("DPMSolverMultistepScheduler: solver_order " + config.solverOrder()
                    + " is not supported (supported: 1, 2)");
        }
    }

    @Override
    public String name() {
        return config.useKarrasSigmas() ? NAME_KARRAS : NAME;
    }

    @Override
    public boolean isStochastic() {
        return false;
    }

    @Override
    public TimestepSchedule timesteps(int n) {
        int numTrain = schedule.numTrainTimesteps();
        TimestepSpacings.checkSteps(n, numTrain);
        long[] t = TimestepSpacings.dpmSolver(config.timestepSpacingOr(TimestepSpacing.LINSPACE), numTrain,
                lastTimestep(), n, config.stepsOffset());
        float[] trainSigmas = schedule.sigmas();
        int count = t.length;
        double[] sig = new double[count];
        if (config.useKarrasSigmas()) {
            // diffusers' DPM-Solver has no sigma_min/sigma_max keys: the whole training range
            sig = KarrasSigmas.sigmas(trainSigmas[0], trainSigmas[numTrain - 1], n);
            float[] logSigmas = KarrasSigmas.logSigmas(trainSigmas);
            count = n;
            t = new long[n];
            for (int i = 0; i < n; i++) {
                t[i] = DiffusersNumerics.round(KarrasSigmas.sigmaToT(sig[i], logSigmas));
            }
        } else {
            for (int i = 0; i < count; i++) {
                sig[i] = DiffusersNumerics.interp(t[i], trainSigmas);
            }
        }
        float[] sigmas = new float[count + 1];
        for (int i = 0; i < count; i++) {
            sigmas[i] = (float) sig[i];
        }
        sigmas[count] = config.finalSigmasType() == FinalSigmasType.ZERO ? 0f : trainSigmas[0];
        // diffusers sets num_inference_steps = len(timesteps) (fewer than n when lambda_min_clipped cuts some)
        return new TimestepSchedule(count, DDPMScheduler.toFloat(t), sigmas, 1f);
    }

    /**
     * N minus the number of timesteps whose log-SNR λ_t = ln √ᾱ_t − ln √(1−ᾱ_t) is below {@code lambda_min_clipped}
     * (all of N for the default −∞).
     */
    private int lastTimestep() {
        double clip = config.lambdaMinClipped();
        int numTrain = schedule.numTrainTimesteps();
        int clipped = 0; // torch.searchsorted(flip(λ), clip): how many of the ascending flipped λ are below clip
        for (int t = numTrain - 1; t >= 0; t--) {
            float a = schedule.alphaCumprod(t);
            float lambda = (float) Math.log((float) Math.sqrt(a)) - (float) Math.log((float) Math.sqrt(1f - a));
            if (lambda < clip) {
                clipped++;
            } else {
                break;
            }
        }
        return numTrain - clipped;
    }

    @Override
    public SamplingRun newRun(int numInferenceSteps) {
        return new Run(timesteps(numInferenceSteps));
    }

    /** α_s = 1/√(σ²+1). */
    private static float alpha(float sigma) {
        return 1f / (float) Math.sqrt(sigma * sigma + 1f);
    }

    /** λ = ln α − ln σ̃ (float32 logs, as torch.log of float32 scalars). */
    private static float lambda(float alphaT, float sigmaT) {
        return (float) Math.log(alphaT) - (float) Math.log(sigmaT);
    }

    /** The multistep state: the previous step's data prediction and how many steps have been taken. */
    private final class Run extends SamplingRun {
        private Tensor previousX0;
        private int lowerOrderNums;

        Run(TimestepSchedule schedule) {
            super(schedule, true);
        }

        @Override
        public boolean needsNoise(int stepIndex) {
            schedule().checkStep(stepIndex);
            return false;
        }

        @Override
        protected StepOutput compute(Tensor modelOutput, int i, Tensor sample, Tensor noise) {
            int steps = schedule().size();
            boolean lowerOrderFinal = i == steps - 1 && (config.eulerAtFinal()
                    || (config.lowerOrderFinal() && steps < 15) || config.finalSigmasType() == FinalSigmasType.ZERO);

            float sigma = schedule().sigma(i);
            float alphaS0 = alpha(sigma);
            float sigmaS0 = sigma * alphaS0;
            Tensor x0 = config.predictionType() == PredictionType.EPSILON
                    ? StepMath.divide(StepMath.subScaled(sample, sigmaS0, modelOutput), alphaS0) // [B, C, H, W]
                    : StepMath.sub(StepMath.scale(sample, alphaS0), StepMath.scale(modelOutput, sigmaS0)); // [B, C, H, W]

            float sigmaNext = schedule().sigma(i + 1);
            float alphaT = alpha(sigmaNext);
            float sigmaT = sigmaNext * alphaT;
            float lambdaT = lambda(alphaT, sigmaT);
            float lambdaS0 = lambda(alphaS0, sigmaS0);
            float h = lambdaT - lambdaS0;
            float expm1 = (float) Math.exp(-h) - 1f; // e^{−h} − 1, computed as torch does (not expm1)
            Tensor prevSample;
            if (config.solverOrder() == 1 || lowerOrderNums < 1 || lowerOrderFinal) {
                prevSample = StepMath.sub(StepMath.scale(sample, sigmaT / sigmaS0),
                        StepMath.scale(x0, alphaT * expm1)); // [B, C, H, W]
            } else {
                float sigmaPrev = schedule().sigma(i - 1);
                float alphaS1 = alpha(sigmaPrev);
                float lambdaS1 = lambda(alphaS1, sigmaPrev * alphaS1);
                float r0 = (lambdaS0 - lambdaS1) / h;
                Tensor d1 = StepMath.scale(StepMath.sub(x0, previousX0), 1f / r0); // (1/r0)·(m0 − m1)  [B, C, H, W]
                Tensor first = StepMath.sub(StepMath.scale(sample, sigmaT / sigmaS0),
                        StepMath.scale(x0, alphaT * expm1)); // [B, C, H, W]
                prevSample = StepMath.sub(first, StepMath.scale(d1, 0.5f * (alphaT * expm1))); // [B, C, H, W]
            }
            if (previousX0 != null) {
                previousX0.close();
            }
            previousX0 = TensorScope.detach(StepMath.view(x0)); // [B, C, H, W]
            if (lowerOrderNums < config.solverOrder()) {
                lowerOrderNums++;
            }
            return new StepOutput(prevSample, x0);
        }

        @Override
        protected void releaseState() {
            if (previousX0 != null) {
                previousX0.close();
                previousX0 = null;
            }
        }
    }
}
