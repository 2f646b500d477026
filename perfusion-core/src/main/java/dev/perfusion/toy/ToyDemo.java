package dev.perfusion.toy;

import dev.perfusion.Perfusion;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.perfusion.Concept;
import dev.perfusion.perfusion.Covariance;
import dev.perfusion.perfusion.PerfusionTrainer;
import dev.perfusion.perfusion.TrainConfig;
import dev.perfusion.perfusion.TrainListener;
import dev.perfusion.perfusion.TrainMode;
import dev.perfusion.pipeline.Images;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The engine of the README's main command (issue 7): trains one concept with Perfusion on a model folder, writes
 * the concept file, samples a grid of compositions with it, and (on the toy world) measures it.
 *
 * <p>On the shipped toy model the defaults train {@code <ring>} ({@link NovelConcept#RING}) from its rendered images
 * and exact masks, sample {@link #defaultPrompts} over a few seeds, and write the metrics table: fidelity
 * ({@link ToyFidelity}), text alignment and the strict rate ({@link ToyImageScore}) at the default β and over a
 * 3-point β mini-sweep. The same code serves a real SD v1.5 folder: give {@code images} (and optionally
 * {@code masks}), {@code placeholder}, {@code superclass}, {@code templates}, {@code prompts} and a
 * {@code covariance} file; sizes come from the model ({@link PerfusionTrainer#modelResolution}), and prompts that
 * are not toy-grammar captions with the toy concept are simply not measured.
 *
 * <p>Output folder (written beside it, moved into place at the end): {@code <placeholder name>.perfusion},
 * {@code grid.png} (rows: prompts, columns: seeds; toy images upscaled ×4 nearest-neighbour), {@code metrics.md},
 * {@code images/} and {@code masks/} (toy concept images), {@code covariance.cov} when estimated here.
 *
 * @param model                the model folder (diffusers layout)
 * @param output               the output folder (must not exist, or be empty)
 * @param concept              the toy concept, or null when {@code images} are given (then nothing is measured)
 * @param images               folder of training images, or null to render the toy concept's
 * @param masks                folder of masks named like the images, or null (toy: its exact masks)
 * @param placeholder          the prompt token, or null for the toy concept's
 * @param superclass           the super-category word, or null for the toy concept's superclass shape
 * @param templates            training templates, or null (toy: {@link ToyEvaluation#TEMPLATES}; else
 *                             {@link TrainConfig#DEFAULT_TEMPLATES})
 * @param prompts              prompts to sample, or empty for {@link #defaultPrompts} of the toy concept
 * @param seeds                sampling seeds (grid columns)
 * @param imageCount           toy concept images to render
 * @param trainSteps           optimizer steps
 * @param batchSize            images per micro-batch
 * @param gradientAccumulation micro-batches per optimizer step
 * @param lrEmbedding          AdamW learning rate of v*
 * @param lrValues             AdamW learning rate of o*_V
 * @param resolution           training and sampling resolution, 0 for the model's
 * @param covariance           C⁻¹ file, or null to estimate it here from {@code covarianceCaptions} toy captions
 * @param covarianceCaptions   toy-grammar captions for the estimate
 * @param covarianceRidge      ridge λ of that estimate's inverse, or null for the smallest that works
 * @param betas                β values of the metrics' mini-sweep
 * @param beta                 β of the grid, or null for the concept's default
 * @param samplingSteps        denoising steps
 * @param guidance             classifier-free guidance scale
 * @param sampler              sampler name, or null for the model's
 * @param maxBatch             most images per pipeline call (1 keeps SD v1.5's memory low)
 * @param seed                 seed of the toy images and of training
 * @param backend              the tensor backend
 * @param listener             progress
 */
public record ToyDemo(Path model, Path output, NovelConcept concept, Path images, Path masks, String placeholder,
                      String superclass, List<String> templates, List<String> prompts, List<Long> seeds,
                      int imageCount, int trainSteps, int batchSize, int gradientAccumulation, double lrEmbedding,
                      double lrValues, int resolution, Path covariance, int covarianceCaptions, Double covarianceRidge,
                      List<Float> betas,
                      Float beta, int samplingSteps, float guidance, String sampler, int maxBatch, long seed,
                      Backend backend, ToyProgressListener listener) {

    public ToyDemo {
        prompts = List.copyOf(prompts);
        seeds = List.copyOf(seeds);
        betas = List.copyOf(betas);
        templates = templates == null ? null : List.copyOf(templates);
        listener = listener == null ? ToyProgressListener.NONE : listener;
    }

    /** A builder with the toy defaults (see {@link Builder}). */
    public static Builder builder() {
        return new Builder();
    }

    /** The grid's compositions for a toy concept: beside grammar objects on both sides and backgrounds, and alone. */
    public static List<String> defaultPrompts(NovelConcept c) {
        SceneObject cl = SceneObject.concept(c, ToyEvaluation.CONCEPT_SIZE, ToyWorld.Position.LEFT);
        SceneObject cr = SceneObject.concept(c, ToyEvaluation.CONCEPT_SIZE, ToyWorld.Position.RIGHT);
        return List.of(
                Scene.of(ToyWorld.Background.WHITE, cl, SceneObject.named(ToyWorld.Shape.TRIANGLE,
                        ToyWorld.Color.BLUE, ToyWorld.Size.SMALL, ToyWorld.Position.RIGHT)).caption(),
                Scene.of(ToyWorld.Background.BLACK, SceneObject.named(ToyWorld.Shape.SQUARE, ToyWorld.Color.RED,
                        ToyWorld.Size.SMALL, ToyWorld.Position.LEFT), cr).caption(),
                Scene.of(ToyWorld.Background.WHITE, cr, SceneObject.named(ToyWorld.Shape.CIRCLE,
                        ToyWorld.Color.YELLOW, ToyWorld.Size.SMALL, ToyWorld.Position.LEFT)).caption(),
                Scene.of(ToyWorld.Background.BLACK, cl).caption());
    }

    /**
     * One row of the metrics table.
     *
     * @param beta      the gate bias β
     * @param fidelity  mean {@link ToyFidelity} similarity
     * @param alignment mean fraction of checker checks passed
     * @param strict    fraction of images with every check passed
     * @param images    images measured
     */
    public record Metrics(float beta, double fidelity, double alignment, double strict, int images) {
    }

    /**
     * What {@link #run()} made.
     *
     * @param output       the output folder
     * @param conceptFile  the concept file in it
     * @param conceptBytes its size
     * @param grid         the grid PNG
     * @param defaultBeta  the grid's β
     * @param metrics      the mini-sweep's rows in β order (the grid's β included); empty when nothing was measurable
     * @param losses       the training loss of every optimizer step
     * @param seconds      wall time (training, sampling, measuring, writing; not the JVM start)
     */
    public record Result(Path output, Path conceptFile, long conceptBytes, Path grid, float defaultBeta,
                         List<Metrics> metrics, double[] losses, double seconds) {
    }

    /**
     * Runs the demo.
     *
     * @throws IllegalArgumentException when the output folder exists and is not empty, or settings are missing
     */
    public Result run() throws IOException {
        long start = System.nanoTime();
        Path out = output.toAbsolutePath().normalize();
        if (Files.exists(out)) {
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new IllegalArgumentException("output folder " + output + " exists and is not empty;"
                            + " choose a new one");
                }
            }
        }
        Files.createDirectories(out.getParent());
        Path tmp = Files.createTempDirectory(out.getParent(), "." + out.getFileName() + ".partial-");
        Result r;
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, backend)) {
            r = run(pipe, tmp, out, start);
        } catch (IOException | RuntimeException e) {
            ToyConceptImages.deleteTree(tmp);
            throw e;
        }
        if (Files.isDirectory(out)) {
            Files.delete(out);
        }
        Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
        return r;
    }

    private Result run(StableDiffusionPipeline pipe, Path dir, Path finalDir, long start) throws IOException {
        int res = resolution > 0 ? resolution : PerfusionTrainer.modelResolution(model);
        String ph = placeholder != null ? placeholder : concept.placeholder();
        String sup = superclass != null ? superclass : concept.superclass().word();
        List<String> tpl = templates != null ? templates
                : concept != null ? ToyEvaluation.TEMPLATES : TrainConfig.DEFAULT_TEMPLATES;
        List<String> ps = prompts.isEmpty() ? defaultPrompts(concept) : prompts;

        // covariance
        Path cov = covariance;
        if (cov == null) {
            cov = dir.resolve("covariance.cov");
            ToyCovariance.estimate(pipe, covarianceCaptions, covarianceRidge, listener, cov);
        }
        Covariance.InverseFile cInv = Covariance.read(cov);

        // images
        Path imgDir = images;
        Path maskDir = masks;
        if (imgDir == null) {
            imgDir = dir.resolve("images");
            maskDir = dir.resolve("masks");
            ToyConceptImages.write(concept, imageCount, seed, imgDir, maskDir);
            listener.onMessage("rendered " + imageCount + " images of " + ph + " with exact masks");
        }

        // training
        String stem = ph.replaceAll("[^A-Za-z0-9_-]", "");
        Path conceptFile = dir.resolve((stem.isEmpty() ? "concept" : stem) + ".perfusion");
        TrainConfig cfg = TrainConfig.builder().images(imgDir).masks(maskDir).placeholder(ph).superclass(sup)
                .covariance(cov).output(conceptFile).templates(tpl).flip(concept == null).steps(trainSteps)
                .batchSize(batchSize).gradientAccumulation(gradientAccumulation).lrEmbedding(lrEmbedding)
                .lrValues(lrValues).seed(seed).checkpointEvery(0).mode(TrainMode.PERFUSION).resolution(res).build();
        String trainTask = "train " + ph;
        PerfusionTrainer.TrainResult tr = Perfusion.train(pipe, cfg, res, new TrainListener() {
            @Override
            public void onStep(int step, double loss, double[] lrs, double etaSeconds) {
                listener.onProgress(trainTask, step, trainSteps, String.format(Locale.ROOT, "loss %.4f", loss));
            }
        });
        Concept trained = tr.concept();
        float gridBeta = beta != null ? beta : trained.beta();

        // sampling: the grid at the default β, then the rest of the mini-sweep for the metrics
        ToySampling sampling = new ToySampling(res, res, samplingSteps, guidance, sampler, maxBatch);
        Map<Float, List<List<BufferedImage>>> byBeta = new LinkedHashMap<>();
        byBeta.put(gridBeta, sample(pipe, sampling, trained, cInv, ps, gridBeta));
        List<List<BufferedImage>> rows = new ArrayList<>();
        for (int pi = 0; pi < ps.size(); pi++) {
            List<BufferedImage> row = new ArrayList<>();
            for (List<BufferedImage> perSeed : byBeta.get(gridBeta)) {
                row.add(perSeed.get(pi));
            }
            rows.add(row);
        }
        int scale = Math.max(1, 128 / res);
        Path grid = dir.resolve("grid.png");
        Images.writePng(ToyImageGrid.draw(rows, ps, seeds.stream().map(s -> "seed " + s).toList(), scale),
                Map.of("Software", "perfusion-java demo", "parameters", String.format(Locale.ROOT,
                        "%s, beta %.2f, %s, %d steps, guidance %s, seeds %s", ph, gridBeta,
                        sampler == null ? pipe.defaultSampler() : sampler, samplingSteps, guidance, seeds)), grid);

        // metrics (toy prompts with the toy concept only)
        List<Integer> measurable = new ArrayList<>();
        List<Scene> scenes = new ArrayList<>();
        if (concept != null && res == ToyWorld.SIZE) {
            for (int pi = 0; pi < ps.size(); pi++) {
                Optional<Scene> s = ToyCaptions.tryParse(ps.get(pi));
                if (s.isPresent() && s.get().objects().stream().anyMatch(o -> o.concept() == concept)) {
                    measurable.add(pi);
                    scenes.add(s.get());
                }
            }
        }
        List<Metrics> metrics = new ArrayList<>();
        if (!measurable.isEmpty()) {
            List<Float> sweep = new ArrayList<>(betas);
            if (!sweep.contains(gridBeta)) {
                sweep.add(gridBeta);
            }
            sweep.sort(Float::compare);
            List<String> mp = measurable.stream().map(ps::get).toList();
            for (float b : sweep) {
                List<List<BufferedImage>> imgs = byBeta.get(b);
                if (imgs == null) {
                    imgs = sample(pipe, sampling, trained, cInv, mp, b);
                } else {
                    List<List<BufferedImage>> sel = new ArrayList<>();
                    for (List<BufferedImage> perSeed : imgs) {
                        sel.add(measurable.stream().map(perSeed::get).toList());
                    }
                    imgs = sel;
                }
                metrics.add(measure(b, scenes, imgs));
            }
        }
        long bytes = Files.size(conceptFile);
        double seconds = (System.nanoTime() - start) / 1e9;
        Result r = new Result(finalDir, finalDir.resolve(conceptFile.getFileName()), bytes,
                finalDir.resolve("grid.png"), gridBeta, List.copyOf(metrics), tr.losses(), seconds);
        ToyEvaluationReport.writeAtomically(dir.resolve("metrics.md"), metricsMarkdown(r, ph, ps, measurable, res));
        listener.onMessage(String.format(Locale.ROOT, "demo written to %s in %.0f s", finalDir, seconds));
        return r;
    }

    private List<List<BufferedImage>> sample(StableDiffusionPipeline pipe, ToySampling sampling, Concept c,
                                             Covariance.InverseFile cInv, List<String> ps, float b) {
        return sampling.sample(pipe, List.of(c), cInv, ps, seeds, Map.of(c.placeholder(), b), Map.of(), listener,
                String.format(Locale.ROOT, "sample β %.2f", b));
    }

    private static Metrics measure(float beta, List<Scene> scenes, List<List<BufferedImage>> imgs) {
        ToyImageScore.Mean m = ToyImageScore.mean(scenes, imgs);
        return new Metrics(beta, m.fidelity(), m.alignment(), m.strict(), m.images());
    }

    private String metricsMarkdown(Result r, String ph, List<String> ps, List<Integer> measurable, int res) {
        StringBuilder sb = new StringBuilder();
        sb.append("## ").append(ph).append(" — Perfusion demo\n\n");
        sb.append(String.format(Locale.ROOT, "Model `%s` (%dx%d). Training: %d optimizer steps × batch %d × "
                        + "accumulation %d, %s. Concept file `%s`: %,d bytes. Sampling: %s, %d steps, guidance %s, "
                        + "seeds %s. Grid β %.2f. Wall time %.0f s.%n%n", model.getFileName(), res, res, trainSteps,
                batchSize, gradientAccumulation, concept != null && images == null ? "toy images with exact masks"
                        : "images " + images, r.conceptFile().getFileName(), r.conceptBytes(),
                sampler == null ? "model default" : sampler, samplingSteps, guidance, seeds, r.defaultBeta(),
                r.seconds()));
        sb.append("Prompts (grid rows):\n\n");
        for (String p : ps) {
            sb.append("- ").append(p).append('\n');
        }
        if (r.metrics().isEmpty()) {
            sb.append("\nNo metrics: they need the toy world's checker (a 32x32 toy model, a toy concept and "
                    + "toy-grammar prompts naming it).\n");
            return sb.toString();
        }
        sb.append(String.format(Locale.ROOT, "%nMetrics over %d prompts × %d seeds. Fidelity = 1 − mean |ΔRGB|/255 "
                + "between the image and the concept rendered at its prompted position (best of ±2 px); alignment = "
                + "fraction of checker checks passed (other object's colour, shape, size, position; background; "
                + "concept present at its position); strict = all passed.%n%n", measurable.size(), seeds.size()));
        sb.append("| β | fidelity | alignment | strict | images |\n|---|---|---|---|---|\n");
        for (Metrics m : r.metrics()) {
            sb.append(String.format(Locale.ROOT, "| %.2f%s | %.4f | %.4f | %.3f | %d |%n", m.beta(),
                    m.beta() == r.defaultBeta() ? " (grid)" : "", m.fidelity(), m.alignment(), m.strict(), m.images()));
        }
        return sb.toString();
    }

    /**
     * Builds a {@link ToyDemo}. Toy defaults: concept {@code <ring>}, 6 images, 200 optimizer steps of batch 4 ×
     * accumulation 1, TrainConfig's learning rates, covariance from 2,048 grammar captions, the 4
     * {@link #defaultPrompts} over seeds 0 … 5, DDIM with 25 steps and guidance 4, mini-sweep β 0.6, 0.7, 0.8, the
     * concept's default β for the grid, batches of up to 64 images, the ND4J backend.
     *
     * <p>Budget on 2 CPU cores (measured while another training job ran, so an upper bound): about 0.45 s per
     * optimizer step (200 steps ≈ 1.5 min), about 1 s per sampled image (72 images ≈ 1.2 min), covariance and model
     * loading well under a minute: about 3–4 minutes in all, within the main command's 10.
     */
    public static final class Builder {
        private Path model;
        private Path output;
        private NovelConcept concept = NovelConcept.RING;
        private Path images;
        private Path masks;
        private String placeholder;
        private String superclass;
        private List<String> templates;
        private List<String> prompts = List.of();
        private List<Long> seeds = List.of(0L, 1L, 2L, 3L, 4L, 5L);
        private int imageCount = 6;
        private int trainSteps = 200;
        private int batchSize = 4;
        private int gradientAccumulation = 1;
        private double lrEmbedding = 6e-3;
        private double lrValues = 3e-2;
        private int resolution;
        private Path covariance;
        private int covarianceCaptions = 2048;
        private Double covarianceRidge;
        private List<Float> betas = List.of(0.6f, 0.7f, 0.8f);
        private Float beta;
        private int samplingSteps = 25;
        private float guidance = 4f;
        private String sampler = "ddim";
        private int maxBatch = 64;
        private long seed;
        private Backend backend;
        private ToyProgressListener listener = ToyProgressListener.NONE;

        private Builder() {
        }

        public Builder model(Path v) { model = v; return this; }
        public Builder output(Path v) { output = v; return this; }
        /** The toy concept, or null when training from {@link #images(Path)}. */
        public Builder concept(NovelConcept v) { concept = v; return this; }
        public Builder images(Path v) { images = v; return this; }
        public Builder masks(Path v) { masks = v; return this; }
        public Builder placeholder(String v) { placeholder = v; return this; }
        public Builder superclass(String v) { superclass = v; return this; }
        public Builder templates(List<String> v) { templates = v; return this; }
        public Builder prompts(List<String> v) { prompts = v; return this; }
        public Builder seeds(List<Long> v) { seeds = v; return this; }
        public Builder imageCount(int v) { imageCount = v; return this; }
        public Builder trainSteps(int v) { trainSteps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder gradientAccumulation(int v) { gradientAccumulation = v; return this; }
        public Builder lrEmbedding(double v) { lrEmbedding = v; return this; }
        public Builder lrValues(double v) { lrValues = v; return this; }
        public Builder resolution(int v) { resolution = v; return this; }
        public Builder covariance(Path v) { covariance = v; return this; }
        public Builder covarianceCaptions(int v) { covarianceCaptions = v; return this; }
        public Builder covarianceRidge(Double v) { covarianceRidge = v; return this; }
        public Builder betas(List<Float> v) { betas = v; return this; }
        public Builder beta(Float v) { beta = v; return this; }
        public Builder samplingSteps(int v) { samplingSteps = v; return this; }
        public Builder guidance(float v) { guidance = v; return this; }
        public Builder sampler(String v) { sampler = v; return this; }
        public Builder maxBatch(int v) { maxBatch = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder backend(Backend v) { backend = v; return this; }
        public Builder listener(ToyProgressListener v) { listener = v; return this; }

        /**
         * @throws IllegalArgumentException naming the first bad or missing setting
         */
        public ToyDemo build() {
            require(model != null, "model", "the model folder is required");
            require(output != null, "output", "the output folder is required");
            require(concept != null || images != null, "images",
                    "give training images, or a toy concept whose images are rendered");
            require(concept != null || (placeholder != null && superclass != null), "placeholder",
                    "a placeholder and a superclass word are required with your own images");
            require(concept != null || (prompts != null && !prompts.isEmpty()), "prompts",
                    "prompts are required with your own images (the defaults are toy compositions)");
            require(prompts != null, "prompts", "must not be null");
            require(seeds != null && !seeds.isEmpty(), "seeds", "one or more seeds are required");
            require(imageCount > 0, "imageCount", "must be > 0, got " + imageCount);
            require(trainSteps > 0, "trainSteps", "must be > 0, got " + trainSteps);
            require(batchSize > 0 && gradientAccumulation > 0, "batchSize",
                    "batch size and accumulation must be > 0, got " + batchSize + " and " + gradientAccumulation);
            require(resolution >= 0, "resolution", "must be 0 (the model's) or positive, got " + resolution);
            require(covariance != null || covarianceCaptions > 0, "covarianceCaptions", "must be > 0");
            require(betas != null && betas.stream().allMatch(b -> b != null && Float.isFinite(b)), "betas",
                    "finite β values are required, got " + betas);
            require(beta == null || Float.isFinite(beta), "beta", "must be finite, got " + beta);
            require(samplingSteps > 0, "samplingSteps", "must be > 0, got " + samplingSteps);
            require(guidance >= 0 && Float.isFinite(guidance), "guidance", "must be >= 0, got " + guidance);
            require(maxBatch > 0, "maxBatch", "must be > 0, got " + maxBatch);
            return new ToyDemo(model, output, concept, images, masks, placeholder, superclass, templates, prompts,
                    seeds, imageCount, trainSteps, batchSize, gradientAccumulation, lrEmbedding, lrValues, resolution,
                    covariance, covarianceCaptions, covarianceRidge, betas, beta, samplingSteps, guidance, sampler, maxBatch, seed,
                    backend == null ? new Nd4jBackend() : backend, listener);
        }

        private static void require(boolean ok, String what, String message) {
            if (!ok) {
                throw new IllegalArgumentException("ToyDemo." + what + ": " + message);
            }
        }
    }
}
