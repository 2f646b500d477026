package dev.perfusion.schedulers;

import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;

/**
 * The mutable state of one generation with a {@link Scheduler}: its {@link TimestepSchedule} plus whatever a
 * multistep sampler remembers between steps. Made by {@link Scheduler#newRun(int)}; used by one thread; closed at
 * the end to free remembered tensors (closing twice is harmless).
 *
 * <p>Steps are numbered 0 … {@link #size()}−1 in the order they run. Stateless samplers (DDPM, DDIM, Euler, Euler
 * ancestral) accept steps in any order; multistep samplers (PNDM, DPM-Solver) need consecutive steps after the
 * first, which may be any step (to start part-way for image-to-image).
 *
 * <p>Tensors: inputs are never modified, and the caller may close them after a step (a multistep run keeps its own
 * handles on what it remembers); outputs belong to the caller (to the innermost open {@link TensorScope}).
 */
public abstract class SamplingRun implements AutoCloseable {
    private final TimestepSchedule schedule;
    private final boolean sequential;
    private int lastStep = -1;
    private boolean closed;

    /**
     * @param schedule   the run's timesteps
     * @param sequential true for multistep samplers, whose steps must be consecutive
     */
    protected SamplingRun(TimestepSchedule schedule, boolean sequential) {
        this.schedule = schedule;
        this.sequential = sequential;
    }

    /** The timesteps (and σ) of this run. */
    public final TimestepSchedule schedule() {
        return schedule;
    }

    /** Number of steps (model evaluations) in the run. */
    public final int size() {
        return schedule.size();
    }

    /** The timestep to give the model at step i. */
    public final float timestep(int i) {
        return schedule.timestep(i);
    }

    /** Standard deviation of the initial noise: x_T = initNoiseSigma · N(0, I). */
    public final float initNoiseSigma() {
        return schedule.initNoiseSigma();
    }

    /**
     * The model input at step i for the current sample (diffusers' {@code scale_model_input}): the sample itself
     * (as a new handle the caller may close) unless the sampler rescales it (Euler: x/√(σ²+1)).
     */
    public Tensor scaleModelInput(Tensor sample, int stepIndex) {
        schedule.checkStep(stepIndex);
        return StepMath.view(sample); // [same as sample]
    }

    /** True when step i must be given a standard normal noise tensor. */
    public abstract boolean needsNoise(int stepIndex);

    /**
     * One sampler step (diffusers' {@code step}): from the model output at step i and the current sample x_t,
     * the sample for the next step.
     *
     * @param modelOutput the model's prediction (ε or v, per {@code prediction_type}), shaped like {@code sample}
     * @param stepIndex   the step, 0 … size()−1
     * @param sample      x_t, the input of step i
     * @param noise       a standard normal tensor shaped like {@code sample} when {@link #needsNoise} says so;
     *                    otherwise ignored (may be null)
     * @throws IllegalArgumentException for a step out of range, mismatched shapes or missing noise
     * @throws IllegalStateException    after {@link #close()}, or for a multistep run's step out of order
     */
    public final StepOutput step(Tensor modelOutput, int stepIndex, Tensor sample, Tensor noise) {
        if (closed) {
            throw new IllegalStateException("this sampling run is closed");
        }
        schedule.checkStep(stepIndex);
        if (!modelOutput.shape().equals(sample.shape())) {
            throw new IllegalArgumentException("step " + stepIndex + ": model output " + modelOutput.shape()
                    + " does not match sample " + sample.shape());
        }
        boolean wantsNoise = needsNoise(stepIndex);
        if (wantsNoise && noise == null) {
            throw new IllegalArgumentException("step " + stepIndex + " (timestep " + schedule.timestep(stepIndex)
                    + ") of this stochastic sampler needs a noise tensor shaped " + sample.shape());
        }
        if (wantsNoise && !noise.shape().equals(sample.shape())) {
            throw new IllegalArgumentException("step " + stepIndex + ": noise " + noise.shape()
                    + " does not match sample " + sample.shape());
        }
        if (sequential && lastStep >= 0 && stepIndex != lastStep + 1) {
            throw new IllegalStateException("multistep sampler: step " + stepIndex + " after step " + lastStep
                    + "; steps must be consecutive (start a new run to start over)");
        }
        try (TensorScope scope = TensorScope.open()) {
            StepOutput out = compute(modelOutput, stepIndex, sample, wantsNoise ? noise : null);
            lastStep = stepIndex;
            Tensor x0 = out.predOriginalSample();
            return new StepOutput(scope.keep(out.prevSample()), x0 == null ? null : scope.keep(x0));
        }
    }

    /**
     * The step's maths. Runs inside a scope that frees every tensor made here except the two returned; tensors
     * kept in the run's state must be taken out of it ({@link TensorScope#detach}).
     *
     * @param noise the noise when {@link #needsNoise} is true, else null
     */
    protected abstract StepOutput compute(Tensor modelOutput, int stepIndex, Tensor sample, Tensor noise);

    /** Frees tensors kept between steps; called once by {@link #close()}. */
    protected void releaseState() {
    }

    /** Frees the run's remembered tensors. */
    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            releaseState();
        }
    }
}
