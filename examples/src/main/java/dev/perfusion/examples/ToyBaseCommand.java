package dev.perfusion.examples;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.toy.ToyBaseTrainer;
import dev.perfusion.toy.ToyTrainListener;
import dev.perfusion.toy.ToyTrainSettings;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code perfusion toy-base}: trains the toy world's base model (VAE, then UNet and text encoder) from scratch and
 * writes it as a diffusers folder. With the default settings this reproduces {@code models/toy-world}.
 */
@Command(name = "toy-base", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains the toy world's base model from scratch (VAE, then UNet + text encoder) and writes a "
                + "diffusers folder. The defaults reproduce the shipped models/toy-world."})
public final class ToyBaseCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "model folder to create (must not exist)")
    Path out;

    @Option(names = "--vae", description = "reuse this trained vae/ folder and skip the VAE stage")
    Path vae;

    @Option(names = "--init", description = "continue: start the UNet and text encoder from this toy model folder")
    Path init;

    @Option(names = "--vae-steps", description = "VAE steps (default: the shipped model's)")
    Integer vaeSteps;

    @Option(names = "--unet-steps", description = "UNet + text encoder steps (default: the shipped model's; 0 with --init:"
            + " keep that model's)")
    Integer unetSteps;

    @Option(names = "--decoder-steps", defaultValue = "0", description = "with --vae: train its decoder this many more"
            + " steps, encoder frozen (default: ${DEFAULT-VALUE})")
    int decoderSteps;

    @Option(names = "--scenes", description = "training scenes encoded for the denoiser (default: the shipped model's)")
    Integer scenes;

    @Option(names = "--seed", description = "seed of initialisation, data order, timesteps and noise (default: the shipped"
            + " model's; give each continued run its own, or it replays the draws of the run before it)")
    Long seed;

    @Option(names = "--zero-terminal-snr", description = "train the denoiser with zero terminal SNR and v-prediction"
            + " (Lin et al. 2023; the run's model then samples with trailing DDIM timesteps); without it a continued run"
            + " keeps its model's schedule")
    boolean zeroTerminalSnr;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, nd4j or reference (default: ${DEFAULT-VALUE})")
    String backendName;

    @Override
    public Integer call() throws Exception {
        ToyTrainSettings s = ToyTrainSettings.defaults();
        s = s.withSteps(vaeSteps != null ? vaeSteps : s.vaeSteps(), unetSteps != null ? unetSteps : s.unetSteps());
        if (scenes != null) {
            s = s.withLatentScenes(scenes);
        }
        if (seed != null) {
            s = s.withSeed(seed);
        }
        s = s.withZeroTerminalSnr(zeroTerminalSnr);
        StageProgress bar = new StageProgress(System.err);
        try (Backend be = Backends.create(backendName)) {
            long start = System.nanoTime();
            new ToyBaseTrainer(be, s, new ToyTrainListener() {
                @Override
                public void onStep(String stage, int step, int steps, double loss, double secondsPerStep) {
                    bar.update(stage, step, steps, Double.isNaN(loss) ? "" : String.format(Locale.ROOT, "loss %.4f", loss));
                }

                @Override
                public void onMessage(String message) {
                    System.err.println(message);
                }
            }).train(out, vae, init, decoderSteps);
            System.out.printf(Locale.ROOT, "wrote %s in %.1f min (%s)%n", out, (System.nanoTime() - start) / 6e10, s);
        }
        return 0;
    }
}
