package dev.perfusion.schedulers;

import dev.perfusion.schedulers.SchedulerConfig.PredictionType;
import dev.perfusion.schedulers.SchedulerConfig.TimestepSpacing;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Pseudo numerical methods for diffusion models (Liu et al. 2022), diffusers' {@code PNDMScheduler} in its PLMS form
 * ({@code skip_prk_steps true}, SD v1.x's default sampler): a linear multistep method on ε.
 *
 * <p>Timesteps: the spacing's n timesteps with the second one repeated, n + 1 steps (981, 961, 961, 941, …, 1 for SD
 * with 50). Step k combines the stored ε's (Adams–Bashforth, warming up through lower orders):
 * <pre>
 *   k = 0: ε' = ε₀                      (from t to t − N//n, remembering x_t)
 *   k = 1: ε' = (ε₁ + ε₀)/2             (redo the first step from the remembered x_t; ε₁ is not stored)
 *   then with the last stored ε's e₁ (newest), e₂, e₃, e₄:
 *     2 stored: (3e₁ − e₂)/2,  3: (23e₁ − 16e₂ + 5e₃)/12,  4: (55e₁ − 59e₂ + 37e₃ − 9e₄)/24
 * </pre>
 * and moves x from t to t' = t − N//n with the PNDM transfer (eq. 11):
 * x_{t'} = √(ᾱ_{t'}/ᾱ_t)·x_t − (ᾱ_{t'} − ᾱ_t)·ε' / (ᾱ_t·√(1−ᾱ_{t'}) + √(ᾱ_t·(1−ᾱ_t)·ᾱ_{t'})),
 * ᾱ_{t'} = {@code final_alpha_cumprod} below 0. With v prediction ε' is first turned into √ᾱ_t·v + √(1−ᾱ_t)·x_t.
 * The ε history lives in the {@link SamplingRun}; PNDM forms no x₀ estimate ({@link StepOutput#predOriginalSample()}
 * is null).
 */
public final class PNDMScheduler extends BaseScheduler {
    /** The name in {@link Schedulers}. */
    public static final String NAME = "pndm";


    /**
     * A PLMS sampler for {@code config}.
     *
     * @throws IllegalArgumentException when {@code skip_prk_steps} is false (the Runge–Kutta warm-up is not
     *                                  implemented)
     */
    public PNDMScheduler(SchedulerConfig config) {
        super(config);
        rejectZeroTerminalSnr(config, "PNDMScheduler");
        if (!config.skipPrkSteps()) {
            throw new IllegalArgumentException("PNDMScheduler: skip_prk_steps false (Runge–Kutta warm-up steps) is not"
                    + " supported; use skip_prk_steps true (PLMS), as Stable Diffusion's config does");
        }
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
        int n = schedule.numTrainTimesteps();
        TimestepSpacings.checkSteps(numInferenceSteps, n);
        long[] down = TimestepSpacings.discrete(config.timestepSpacingOr(TimestepSpacing.LEADING), n,
                numInferenceSteps, config.stepsOffset());
        // diffusers: ascending ts, plms = concat(ts[:-1], ts[-2:-1], ts[-1:]) reversed: the second-largest repeats
        float[] t = new float[numInferenceSteps == 1 ? 1 : numInferenceSteps + 1];
        t[0] = down[0];
        for (int i = 1; i < numInferenceSteps; i++) {
            t[i + 1] = down[i];
        }
        if (numInferenceSteps > 1) {
            t[1] = down[1];
        }
        return new TimestepSchedule(numInferenceSteps, t, new float[0], 1f);
    }

    @Override
    public SamplingRun newRun(int numInferenceSteps) {
        return new Run(timesteps(numInferenceSteps));
    }

    /** PLMS state: the step counter, the last four ε's and the sample remembered by step 0 for step 1. */
    private final class Run extends SamplingRun {
        private final Deque<Tensor> ets = new ArrayDeque<>(); // newest first
        private Tensor curSample;
        private int counter;

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
            int stride = schedule.numTrainTimesteps() / schedule().numInferenceSteps();
            int t = (int) schedule().timestep(i);
            int prev = t - stride;
            if (counter != 1) {
                if (ets.size() == 4) {
                    ets.removeLast().close();
                }
                ets.addFirst(keep(modelOutput));
            } else {
                // the repeated timestep: redo the first transfer t+stride → t with the averaged ε
                prev = t;
                t = t + stride;
            }

            Tensor eps;
            Tensor x = sample;
            Tensor[] e = ets.toArray(new Tensor[0]); // e[0] newest
            if (ets.size() == 1 && counter == 0) {
                eps = modelOutput;
                replaceCurSample(keep(sample));
            } else if (ets.size() == 1 && counter == 1) {
                eps = StepMath.divide(StepMath.add(modelOutput, e[0]), 2f); // (ε₁ + ε₀)/2  [B, C, H, W]
                x = curSample;
            } else if (ets.size() == 2) {
                eps = StepMath.divide(StepMath.sub(StepMath.scale(e[0], 3f), e[1]), 2f); // [B, C, H, W]
            } else if (ets.size() == 3) {
                Tensor s = StepMath.sub(StepMath.scale(e[0], 23f), StepMath.scale(e[1], 16f)); // [B, C, H, W]
                eps = StepMath.divide(StepMath.add(s, StepMath.scale(e[2], 5f)), 12f); // [B, C, H, W]
            } else {
                Tensor s = StepMath.sub(StepMath.scale(e[0], 55f), StepMath.scale(e[1], 59f)); // [B, C, H, W]
                s = StepMath.add(s, StepMath.scale(e[2], 37f)); // [B, C, H, W]
                s = StepMath.sub(s, StepMath.scale(e[3], 9f)); // [B, C, H, W]
                eps = StepMath.scale(s, 1f / 24); // diffusers multiplies by (1/24)  [B, C, H, W]
            }

            Tensor prevSample = transfer(x, t, prev, eps); // [B, C, H, W]
            if (counter == 1) {
                replaceCurSample(null);
            }
            counter++;
            return new StepOutput(prevSample, null);
        }

        /** diffusers' {@code _get_prev_sample}: x_t → x_{t'} given ε'. */
        private Tensor transfer(Tensor x, int t, int prev, Tensor eps) {
            float a = schedule.alphaCumprod(t);
            float aPrev = prev >= 0 ? schedule.alphaCumprod(prev) : schedule.finalAlphaCumprod(config.setAlphaToOne());
            float beta = 1f - a;
            float betaPrev = 1f - aPrev;
            if (config.predictionType() == PredictionType.V_PREDICTION) {
                eps = StepMath.combine((float) Math.sqrt(a), eps, (float) Math.sqrt(beta), x); // [B, C, H, W]
            }
            float sampleCoeff = (float) Math.sqrt(aPrev / a);
            float denom = a * (float) Math.sqrt(betaPrev) + (float) Math.sqrt(a * beta * aPrev);
            Tensor scaledEps = StepMath.divide(StepMath.scale(eps, aPrev - a), denom); // [B, C, H, W]
            return StepMath.sub(StepMath.scale(x, sampleCoeff), scaledEps); // [B, C, H, W]
        }

        /** A handle on x owned by this run (outside every scope). */
        private Tensor keep(Tensor x) {
            return TensorScope.detach(StepMath.view(x)); // [B, C, H, W]
        }

        private void replaceCurSample(Tensor x) {
            if (curSample != null) {
                curSample.close();
            }
            curSample = x;
        }

        @Override
        protected void releaseState() {
            ets.forEach(Tensor::close);
            ets.clear();
            replaceCurSample(null);
        }
    }
}
