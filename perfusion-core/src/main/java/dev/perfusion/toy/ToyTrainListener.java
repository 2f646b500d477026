package dev.perfusion.toy;

/** Progress of {@link ToyBaseTrainer}; every method has an empty default. */
public interface ToyTrainListener {
    /**
     * After each step of a stage ({@code "vae"}, {@code "encode"}, {@code "denoiser"}).
     *
     * @param loss           the step's loss, NaN where the stage has none
     * @param secondsPerStep mean wall time per step so far, NaN where not measured
     */
    default void onStep(String stage, int step, int steps, double loss, double secondsPerStep) {
    }

    /** A one-line message (e.g. the measured latent scaling factor). */
    default void onMessage(String message) {
    }
}
