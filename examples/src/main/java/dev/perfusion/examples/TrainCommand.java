package dev.perfusion.examples;

import dev.perfusion.Perfusion;
import dev.perfusion.perfusion.PerfusionTrainer;
import dev.perfusion.perfusion.TrainConfig;
import dev.perfusion.perfusion.TrainListener;
import dev.perfusion.pipeline.Images;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code perfusion train}: learns a concept (about 100 KB for SD v1.5) from a folder of images. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains a Perfusion concept from a few images: the placeholder's embedding and the value targets "
                + "of every cross-attention layer, with the keys locked to the superclass. Writes the concept file, "
                + "checkpoints (resumable with --resume) and optional validation images."})
public final class TrainCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "diffusers folder or single-file .safetensors")
    Path model;

    @Option(names = "--images", required = true, description = "folder of the concept's images (png/jpg)")
    Path images;

    @Option(names = "--placeholder", required = true, description = "the new word, e.g. <teddy>")
    String placeholder;

    @Option(names = "--superclass", required = true, description = "one-token word of the concept's category, e.g. teddy")
    String superclass;

    @Option(names = "--covariance", required = true, description = "the model's covariance file (perfusion covariance)")
    Path covariance;

    @Option(names = "--out", required = true, description = "concept file to write, e.g. teddy.perfusion")
    Path out;

    @Option(names = "--masks", description = "folder of soft masks named like the images (white = concept)")
    Path masks;

    @Option(names = "--steps", defaultValue = "400", description = "optimizer steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--batch", defaultValue = "4", description = "images per micro-batch (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--accumulation", defaultValue = "4", description = "micro-batches per step (default: ${DEFAULT-VALUE})")
    int accumulation;

    @Option(names = "--lr-embedding", defaultValue = "6e-3", description = "learning rate of the embedding (default: ${DEFAULT-VALUE})")
    double lrEmbedding;

    @Option(names = "--lr-values", defaultValue = "3e-2", description = "learning rate of the value targets (default: ${DEFAULT-VALUE})")
    double lrValues;

    @Option(names = "--resolution", defaultValue = "0", description = "training resolution; 0: the model's (default)")
    int resolution;

    @Option(names = "--center-crop", description = "center-crop images to squares before resizing")
    boolean centerCrop;

    @Option(names = "--no-flip", description = "no horizontal-flip augmentation")
    boolean noFlip;

    @Option(names = "--seed", defaultValue = "0", description = "seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--checkpoint-every", defaultValue = "50", description = "steps between checkpoints; 0: none (default: ${DEFAULT-VALUE})")
    int checkpointEvery;

    @Option(names = "--checkpoint-dir", description = "checkpoint folder (default: OUT's name + .checkpoints)")
    Path checkpointDir;

    @Option(names = "--validation-every", defaultValue = "0", description = "steps between validation images; 0: none")
    int validationEvery;

    @Option(names = "--resume", description = "a checkpoint of this run to continue from")
    Path resume;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, nd4j, reference or cuda (default: ${DEFAULT-VALUE})")
    String backendName;

    @Override
    public Integer call() throws Exception {
        Path ckpt = checkpointDir != null ? checkpointDir
                : out.toAbsolutePath().resolveSibling(out.getFileName() + ".checkpoints");
        TrainConfig cfg = TrainConfig.builder().images(images).placeholder(placeholder).superclass(superclass)
                .masks(masks).covariance(covariance).output(out).checkpointDir(ckpt).resolution(resolution)
                .centerCrop(centerCrop).flip(!noFlip).steps(steps).batchSize(batch).gradientAccumulation(accumulation)
                .lrEmbedding(lrEmbedding).lrValues(lrValues).seed(seed).checkpointEvery(checkpointEvery)
                .validationEvery(validationEvery).build();
        int modelRes = Files.isDirectory(model) ? PerfusionTrainer.modelResolution(model) : 512;
        try (Backend be = Backends.create(backendName); StableDiffusionPipeline p = StableDiffusionPipeline.load(model, be)) {
            TrainListener progress = new Progress(ckpt);
            PerfusionTrainer.TrainResult r = resume != null
                    ? Perfusion.resume(p, cfg, modelRes, resume, progress)
                    : Perfusion.train(p, cfg, modelRes, progress);
            double[] l = r.losses();
            System.out.printf(Locale.ROOT, "wrote %s (%,d bytes); loss %.4f → %.4f over %d steps%n", out, Files.size(out),
                    l.length > 0 ? l[0] : Double.NaN, l.length > 0 ? l[l.length - 1] : Double.NaN, l.length);
        }
        return 0;
    }

    /** Progress line per step (ETA), validation images as PNGs beside the checkpoints. */
    private static final class Progress implements TrainListener {
        private final Path dir;
        private final boolean interactive = System.console() != null;

        Progress(Path dir) {
            this.dir = dir;
        }

        @Override
        public void onStep(int step, double loss, double[] lrs, double etaSeconds) {
            String line = String.format(Locale.ROOT, "step %d  loss %.5f  lr %s  ETA %.0f s", step, loss,
                    java.util.Arrays.toString(lrs), etaSeconds);
            System.err.print(interactive ? "\r" + line : line + "\n");
        }

        @Override
        public void onValidation(int step, List<BufferedImage> images) {
            for (int i = 0; i < images.size(); i++) {
                Path f = dir.resolve(String.format(Locale.ROOT, "validation-%06d-%d.png", step, i));
                try {
                    Images.writePng(images.get(i), Map.of("step", Integer.toString(step)), f);
                } catch (java.io.IOException e) {
                    System.err.println("\ncannot write " + f + ": " + e.getMessage());
                }
            }
        }

        @Override
        public void onCheckpoint(Path path) {
            if (interactive) {
                System.err.println();
            }
            System.err.println("checkpoint " + path);
        }
    }
}
