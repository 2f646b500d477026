package dev.perfusion.schedulers;

import java.util.Arrays;

/**
 * The timesteps (and, for σ-parameterised samplers, the noise levels) of one sampling run, as diffusers'
 * {@code set_timesteps} leaves them in {@code scheduler.timesteps} and {@code scheduler.sigmas}. Immutable: the
 * array accessors return copies.
 *
 * <p>Step i of a run denoises at timestep {@code timestep(i)}; the UNet receives that value. Timesteps are whole
 * numbers for DDPM, DDIM, PNDM and DPM-Solver and fractional for Euler ({@code linspace} spacing). The number of
 * steps can exceed the requested number of inference steps: PNDM repeats its second timestep (51 steps for 50).
 */
public final class TimestepSchedule {
    private final int numInferenceSteps;
    private final float[] timesteps;
    private final float[] sigmas;
    private final float initNoiseSigma;

    /**
     * @param numInferenceSteps the number of inference steps asked for
     * @param timesteps         the timestep of each step, in the order the steps run (decreasing noise)
     * @param sigmas            σ of each step plus the σ after the last one (timesteps.length + 1 values), or an
     *                          empty array for samplers that do not use σ
     * @param initNoiseSigma    the standard deviation of the initial noise
     */
    public TimestepSchedule(int numInferenceSteps, float[] timesteps, float[] sigmas, float initNoiseSigma) {
        if (timesteps.length == 0) {
            throw new IllegalArgumentException("a timestep schedule needs at least one step");
        }
        if (sigmas.length != 0 && sigmas.length != timesteps.length + 1) {
            throw new IllegalArgumentException("sigmas must have " + (timesteps.length + 1) + " values (one per step"
                    + " and the final one), got " + sigmas.length);
        }
        this.numInferenceSteps = numInferenceSteps;
        this.timesteps = timesteps.clone();
        this.sigmas = sigmas.clone();
        this.initNoiseSigma = initNoiseSigma;
    }

    /** The number of inference steps asked for. */
    public int numInferenceSteps() {
        return numInferenceSteps;
    }

    /** The number of model evaluations (steps) in the run. */
    public int size() {
        return timesteps.length;
    }

    /** The timestep of step {@code i}. */
    public float timestep(int i) {
        return timesteps[checkStep(i)];
    }

    /** All timesteps, in step order (a copy). */
    public float[] timesteps() {
        return timesteps.clone();
    }

    /** True for samplers that work with σ (Euler, Euler ancestral, DPM-Solver). */
    public boolean hasSigmas() {
        return sigmas.length != 0;
    }

    /** σ_i, the noise level at step i; {@code sigma(size())} is the level after the last step. */
    public float sigma(int i) {
        if (!hasSigmas()) {
            throw new IllegalStateException("this sampler does not use sigmas");
        }
        if (i < 0 || i > timesteps.length) {
            throw new IllegalArgumentException("sigma index " + i + " is outside [0, " + timesteps.length + "]");
        }
        return sigmas[i];
    }

    /** All σ including the final one (a copy; empty for samplers without σ). */
    public float[] sigmas() {
        return sigmas.clone();
    }

    /** The standard deviation of the initial noise: x_T = initNoiseSigma · N(0, I). */
    public float initNoiseSigma() {
        return initNoiseSigma;
    }

    /** Throws unless 0 ≤ i &lt; size(). */
    int checkStep(int i) {
        if (i < 0 || i >= timesteps.length) {
            throw new IllegalArgumentException("step index " + i + " is outside [0, " + (timesteps.length - 1)
                    + "] for a run of " + timesteps.length + " steps");
        }
        return i;
    }

    @Override
    public String toString() {
        return "TimestepSchedule[" + numInferenceSteps + " steps, timesteps " + Arrays.toString(timesteps) + "]";
    }
}
