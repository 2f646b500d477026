package dev.perfusion.toy;

/**
 * Settings of {@link ToyBaseTrainer}. {@link #defaults()} are the settings the shipped model was trained with.
 *
 * @param vaeSteps       VAE optimizer steps
 * @param vaeBatch       scenes per VAE step
 * @param vaeLr          VAE AdamW learning rate
 * @param klWeight       λ_KL, weight of the mean KL term against the mean squared reconstruction error
 * @param unetSteps      denoiser optimizer steps (0: keep the denoiser of the model a run continues from)
 * @param unetBatch      latents per denoiser step
 * @param unetLr         denoiser AdamW learning rate (UNet and text encoder)
 * @param weightDecay    denoiser AdamW decoupled weight decay
 * @param warmupSteps    linear warm-up steps of both stages
 * @param latentScenes   training scenes encoded once for the denoiser (seeds 0 .. n−1)
 * @param captionDropout probability of training on the empty prompt (for classifier-free guidance)
 * @param emaDecay       decay of the weights' moving average saved as the model
 * @param seed           seed of initialisation, noise and sampling order
 * @param zeroTerminalSnr train the denoiser with {@link ToyModelConfigs#zeroTerminalSnrScheduler()}
 *                       (v-prediction, zero terminal SNR) instead of the continued model's schedule or
 *                       {@link ToyModelConfigs#scheduler()}
 */
public record ToyTrainSettings(int vaeSteps, int vaeBatch, double vaeLr, double klWeight, int unetSteps, int unetBatch,
                               double unetLr, double weightDecay, int warmupSteps, int latentScenes,
                               double captionDropout, double emaDecay, long seed, boolean zeroTerminalSnr) {
    public ToyTrainSettings {
        positive("vaeSteps", vaeSteps);
        positive("vaeBatch", vaeBatch);
        if (unetSteps < 0) {
            throw new IllegalArgumentException("unetSteps must be >= 0, got " + unetSteps);
        }
        positive("unetBatch", unetBatch);
        positive("latentScenes", latentScenes);
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmupSteps must be >= 0, got " + warmupSteps);
        }
        if (!(vaeLr > 0) || !(unetLr > 0) || !(klWeight >= 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("learning rates must be > 0 and klWeight, weightDecay >= 0");
        }
        if (!(captionDropout >= 0 && captionDropout < 1) || !(emaDecay >= 0 && emaDecay < 1)) {
            throw new IllegalArgumentException("captionDropout and emaDecay must be in [0, 1)");
        }
    }

    /** Settings on the model's own (or the default ε) schedule. */
    public ToyTrainSettings(int vaeSteps, int vaeBatch, double vaeLr, double klWeight, int unetSteps, int unetBatch,
                            double unetLr, double weightDecay, int warmupSteps, int latentScenes,
                            double captionDropout, double emaDecay, long seed) {
        this(vaeSteps, vaeBatch, vaeLr, klWeight, unetSteps, unetBatch, unetLr, weightDecay, warmupSteps, latentScenes,
                captionDropout, emaDecay, seed, false);
    }

    /** The shipped model's settings. */
    public static ToyTrainSettings defaults() {
        return new ToyTrainSettings(600, 16, 1e-3, 1e-5, 700, 16, 1e-3, 0.01, 50, 12_800, 0.1, 0.995, 7);
    }

    /** These settings with other step counts (quick runs and tests). */
    public ToyTrainSettings withSteps(int vae, int unet) {
        return new ToyTrainSettings(vae, vaeBatch, vaeLr, klWeight, unet, unetBatch, unetLr, weightDecay,
                Math.min(warmupSteps, Math.max(vae, unet)), latentScenes, captionDropout, emaDecay, seed,
                zeroTerminalSnr);
    }

    /** These settings with another number of encoded scenes. */
    public ToyTrainSettings withLatentScenes(int n) {
        return new ToyTrainSettings(vaeSteps, vaeBatch, vaeLr, klWeight, unetSteps, unetBatch, unetLr, weightDecay,
                warmupSteps, n, captionDropout, emaDecay, seed, zeroTerminalSnr);
    }

    /**
     * These settings with another seed: a run continued from a model ({@code --init}) with the same seed would draw
     * the same scenes, timesteps and noise, in the same order, as the run before it.
     */
    public ToyTrainSettings withSeed(long newSeed) {
        return new ToyTrainSettings(vaeSteps, vaeBatch, vaeLr, klWeight, unetSteps, unetBatch, unetLr, weightDecay,
                warmupSteps, latentScenes, captionDropout, emaDecay, newSeed, zeroTerminalSnr);
    }

    /** These settings with the denoiser trained on zero terminal SNR (or not). */
    public ToyTrainSettings withZeroTerminalSnr(boolean on) {
        return new ToyTrainSettings(vaeSteps, vaeBatch, vaeLr, klWeight, unetSteps, unetBatch, unetLr, weightDecay,
                warmupSteps, latentScenes, captionDropout, emaDecay, seed, on);
    }

    private static void positive(String what, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(what + " must be > 0, got " + v);
        }
    }
}
