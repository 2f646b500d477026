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
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The engine of {@code perfusion eval} (issue 7): trains the toy world's novel concepts in every {@link TrainMode}
 * at one training budget, samples fixed prompts over fixed seeds across a β sweep, measures fidelity and text
 * alignment with the analytic checker, composes two separately trained concepts, and writes the results.
 *
 * <ol>
 *   <li>Covariance: C⁻¹ of the text encoder over {@code covarianceCaptions} toy-grammar captions
 *       ({@link ToyDataset#trainingScene}), estimated once ({@code toy.cov}).</li>
 *   <li>Per concept: its {@code imagesPerConcept} images and exact masks ({@link ToyConceptImages}); per mode, a
 *       Perfusion training run of {@code trainSteps} optimizer steps of {@code batchSize} × {@code gradientAccumulation}
 *       (the same for every mode), superclass = the concept's grammar shape, templates {@link #TEMPLATES}, masked
 *       loss; the concept file is kept.</li>
 *   <li>Per concept, mode and β of {@code betas} (one point without β for {@link TrainMode#EMBEDDING_ONLY}, which has
 *       no gate): the prompts of {@link #prompts} over {@code seeds}, each image scored by {@link ToyImageScore}
 *       (fidelity = {@link ToyFidelity} at the concept's prompted position; alignment = fraction of checker checks
 *       passed; strict = all passed).</li>
 *   <li>Composition: both {@link TrainMode#PERFUSION} concepts of the first two {@code concepts} in one prompt
 *       ({@link #compositionPrompts}), at their default β; success = both present at their prompted positions.</li>
 *   <li>Output folder: {@code results.csv}, {@code sweep.png}, {@code grids/*.png} (×4 nearest-neighbour),
 *       {@code composition.png}, {@code concepts/*.perfusion} with the training images, {@code toy.cov},
 *       {@code summary.md} (tables for docs/EVALUATION.md). Written in a temporary folder beside it and moved into
 *       place at the end.</li>
 * </ol>
 *
 * <p>Build with {@link #builder()}; {@link #run()} returns the same numbers as {@link Result}.
 *
 * @param model                the toy model folder (diffusers layout)
 * @param output               the output folder (must not exist, or be empty)
 * @param concepts             the concepts to evaluate (composition needs two)
 * @param imagesPerConcept     training images per concept
 * @param trainSteps           optimizer steps per training run (the budget, the same for every mode)
 * @param batchSize            images per micro-batch
 * @param gradientAccumulation micro-batches per optimizer step
 * @param lrEmbedding          AdamW learning rate of v*
 * @param lrValues             AdamW learning rate of o*_V (and o*_K without key-locking)
 * @param masks                train with the concept images' exact masks (masked loss)
 * @param betas                β values of the sweep
 * @param tau                  τ at sampling, or null for each concept's own
 * @param seeds                evaluation seeds
 * @param samplingSteps        denoising steps
 * @param guidance             classifier-free guidance scale
 * @param sampler              sampler name ({@code ddim}), or null for the model's
 * @param covarianceCaptions   grammar captions for the covariance estimate
 * @param covarianceRidge      ridge λ of C⁻¹, or null for the smallest that works ({@link ToyCovariance})
 * @param seed                 seed of the concept images and of training
 * @param maxBatch             most images per pipeline call
 * @param backend              the tensor backend
 * @param listener             progress
 */
public record ToyEvaluation(Path model, Path output, List<NovelConcept> concepts, int imagesPerConcept, int trainSteps,
                            int batchSize, int gradientAccumulation, double lrEmbedding, double lrValues,
                            boolean masks, List<Float> betas, Float tau, List<Long> seeds, int samplingSteps,
                            float guidance, String sampler, int covarianceCaptions, Double covarianceRidge, long seed,
                            int maxBatch,
                            Backend backend, ToyProgressListener listener) {

    /**
     * Training prompt templates: the layout of the concept images (one large object in the centre, on white or
     * black; the masked loss ignores the background, so either background word fits every image) and some variety.
     */
    public static final List<String> TEMPLATES = List.of(
            "a large {} in the center, on a white background",
            "a large {} in the center, on a black background",
            "a large {} in the center",
            "a {} in the center, on a white background",
            "a {} in the center, on a black background",
            "a large {}");

    /** Size of the prompted concepts (the concept images are large). */
    public static final ToyWorld.Size CONCEPT_SIZE = ToyWorld.Size.LARGE;

    public ToyEvaluation {
        concepts = List.copyOf(concepts);
        betas = List.copyOf(betas);
        seeds = List.copyOf(seeds);
        listener = listener == null ? ToyProgressListener.NONE : listener;
    }

    /** A builder with the defaults (see {@link Builder}). */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * One measured point: a concept (or the mean over concepts) in one mode at one β.
     *
     * @param mode      the training mode
     * @param concept   the concept, or null for the mean over all evaluated concepts
     * @param beta      the gate bias β, or null for {@link TrainMode#EMBEDDING_ONLY} (no gate)
     * @param fidelity  mean {@link ToyFidelity} similarity over the images
     * @param alignment mean fraction of checker checks passed
     * @param strict    fraction of images with every check passed
     * @param images    images measured
     */
    public record Point(TrainMode mode, NovelConcept concept, Float beta, double fidelity, double alignment,
                        double strict, int images) {
        /** The concept's placeholder, or "mean". */
        public String conceptLabel() {
            return concept == null ? "mean" : concept.placeholder();
        }
    }

    /**
     * What {@link #run()} measured.
     *
     * @param output               the output folder
     * @param points               every (mode, concept, β) point, then the means over concepts (concept null)
     * @param defaultBeta          the concepts' default inference β (the "at default β" rows)
     * @param dominates            per ablation mode: PERFUSION's mean curve dominates it (see
     *                             {@link ToyEvaluationReport#dominated})
     * @param compositionSuccesses two-concept images with both concepts present at their positions
     * @param compositionTotal     two-concept images (0 when fewer than two concepts were evaluated)
     * @param conceptFileBytes     size of each concept file written, by file name
     * @param sd15TensorBytes      a PERFUSION concept file's tensor data at SD v1.5 widths (D 768, Σd 12,480)
     *                             by {@link dev.perfusion.perfusion.ConceptFile#tensorBytes}
     * @param sd15FileBytes        size of a whole PERFUSION concept file at SD v1.5 widths (16 layers, this run's
     *                             metadata), written and measured
     * @param covarianceRidge      the ridge λ of the covariance's inverse
     * @param seconds              wall time of the run
     */
    public record Result(Path output, List<Point> points, float defaultBeta, Map<TrainMode, Boolean> dominates,
                         int compositionSuccesses, int compositionTotal, Map<String, Long> conceptFileBytes,
                         long sd15TensorBytes, long sd15FileBytes, double covarianceRidge, double seconds) {
        /** Two-concept success rate, NaN when no composition was run. */
        public double compositionRate() {
            return compositionTotal == 0 ? Double.NaN : compositionSuccesses / (double) compositionTotal;
        }

        /** The points of one mode and concept (null: the means), in β order. */
        public List<Point> curve(TrainMode mode, NovelConcept concept) {
            return points.stream().filter(p -> p.mode() == mode && p.concept() == concept).toList();
        }
    }

    /**
     * The fixed evaluation scenes of a concept (prompt = caption): the concept alone at a prompted position, and
     * beside a grammar object (several objects, both sides, both orders, both backgrounds).
     */
    public static List<Scene> prompts(NovelConcept c) {
        ToyWorld.Position left = ToyWorld.Position.LEFT;
        ToyWorld.Position right = ToyWorld.Position.RIGHT;
        ToyWorld.Background white = ToyWorld.Background.WHITE;
        ToyWorld.Background black = ToyWorld.Background.BLACK;
        SceneObject cl = SceneObject.concept(c, CONCEPT_SIZE, left);
        SceneObject cr = SceneObject.concept(c, CONCEPT_SIZE, right);
        return List.of(
                Scene.of(black, cr),
                Scene.of(white, cl),
                Scene.of(white, cl, SceneObject.named(ToyWorld.Shape.SQUARE, ToyWorld.Color.RED, ToyWorld.Size.SMALL,
                        right)),
                Scene.of(black, SceneObject.named(ToyWorld.Shape.TRIANGLE, ToyWorld.Color.BLUE, ToyWorld.Size.SMALL,
                        left), cr),
                Scene.of(white, cr, SceneObject.named(ToyWorld.Shape.CIRCLE, ToyWorld.Color.YELLOW,
                        ToyWorld.Size.SMALL, left)),
                Scene.of(black, SceneObject.named(ToyWorld.Shape.TRIANGLE, ToyWorld.Color.GREEN, ToyWorld.Size.LARGE,
                        right), cl));
    }

    /** Two concepts in one prompt: {@code a} left and {@code b} right and swapped, on white and on black. */
    public static List<Scene> compositionPrompts(NovelConcept a, NovelConcept b) {
        List<Scene> out = new ArrayList<>();
        for (ToyWorld.Background bg : ToyWorld.Background.values()) {
            out.add(Scene.of(bg, SceneObject.concept(a, CONCEPT_SIZE, ToyWorld.Position.LEFT),
                    SceneObject.concept(b, CONCEPT_SIZE, ToyWorld.Position.RIGHT)));
            out.add(Scene.of(bg, SceneObject.concept(b, CONCEPT_SIZE, ToyWorld.Position.LEFT),
                    SceneObject.concept(a, CONCEPT_SIZE, ToyWorld.Position.RIGHT)));
        }
        return out;
    }

    /** The modes in evaluation order. */
    public static List<TrainMode> modes() {
        return List.of(TrainMode.PERFUSION, TrainMode.NO_KEY_LOCKING, TrainMode.EMBEDDING_ONLY);
    }

    /**
     * Runs the evaluation (see the class comment).
     *
     * @throws IllegalArgumentException when the output folder exists and is not empty, or a setting is bad
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
        Result result;
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, backend)) {
            result = evaluate(pipe, tmp, out, start);
        } catch (IOException | RuntimeException e) {
            listener.onMessage("evaluation failed; partial results are in " + tmp);
            throw e;
        }
        if (Files.isDirectory(out)) {
            Files.delete(out); // empty, checked above
        }
        Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
        listener.onMessage(String.format(Locale.ROOT, "evaluation written to %s in %.0f s", out, result.seconds()));
        return result;
    }

    private Result evaluate(StableDiffusionPipeline pipe, Path dir, Path finalDir, long start) throws IOException {
        int res = PerfusionTrainer.modelResolution(model);
        ToySampling sampling = new ToySampling(res, res, samplingSteps, guidance, sampler, maxBatch);
        // 1. covariance over the grammar's captions
        Path covFile = dir.resolve("toy.cov");
        double ridge = ToyCovariance.estimate(pipe, covarianceCaptions, covarianceRidge, listener, covFile);
        Covariance.InverseFile cInv = Covariance.read(covFile);
        Map<String, Double> timings = new LinkedHashMap<>();
        timings.put("covariance", seconds(start));
        listener.onMessage(String.format(Locale.ROOT, "covariance over %d captions, ridge %s", covarianceCaptions, ridge));

        // 2. training
        Map<NovelConcept, Map<TrainMode, Concept>> trained = new LinkedHashMap<>();
        Map<String, Long> fileBytes = new LinkedHashMap<>();
        for (NovelConcept c : concepts) {
            String name = c.name().toLowerCase(Locale.ROOT);
            Path cdir = dir.resolve("concepts");
            Path images = cdir.resolve(name + "-images");
            Path maskDir = masks ? cdir.resolve(name + "-masks") : null;
            ToyConceptImages.write(c, imagesPerConcept, seed, images, maskDir);
            Map<TrainMode, Concept> byMode = new EnumMap<>(TrainMode.class);
            for (TrainMode mode : modes()) {
                long t0 = System.nanoTime();
                String file = name + "-" + mode.name().toLowerCase(Locale.ROOT).replace('_', '-') + ".perfusion";
                TrainConfig cfg = TrainConfig.builder().images(images).masks(maskDir).placeholder(c.placeholder())
                        .superclass(c.superclass().word()).covariance(covFile).output(cdir.resolve(file))
                        .templates(TEMPLATES).flip(false).steps(trainSteps).batchSize(batchSize)
                        .gradientAccumulation(gradientAccumulation).lrEmbedding(lrEmbedding).lrValues(lrValues)
                        .seed(seed).checkpointEvery(0).mode(mode).build();
                String task = "train " + c.placeholder() + " " + mode;
                PerfusionTrainer.TrainResult tr = Perfusion.train(pipe, cfg, res, trainListener(task));
                byMode.put(mode, tr.concept());
                fileBytes.put(file, Files.size(cfg.output()));
                timings.put(task, seconds(t0));
            }
            trained.put(c, byMode);
        }

        // 3. sampling and measuring
        List<Point> points = new ArrayList<>();
        Map<String, BufferedImage> grids = new LinkedHashMap<>();
        float defaultBeta = trained.values().iterator().next().get(TrainMode.PERFUSION).beta();
        for (NovelConcept c : concepts) {
            List<Scene> scenes = prompts(c);
            List<String> prompts = scenes.stream().map(Scene::caption).toList();
            for (TrainMode mode : modes()) {
                long t0 = System.nanoTime();
                Concept concept = trained.get(c).get(mode);
                List<Float> sweep = mode.editsAttention() ? betas : java.util.Collections.singletonList(null);
                List<List<BufferedImage>> rows = new ArrayList<>();
                List<String> labels = new ArrayList<>();
                for (Float beta : sweep) {
                    String task = "sample " + c.placeholder() + " " + mode + (beta == null ? ""
                            : String.format(Locale.ROOT, " β %.2f", beta));
                    Map<String, Float> b = beta == null ? Map.of() : Map.of(c.placeholder(), beta);
                    Map<String, Float> t = tau == null ? Map.of() : Map.of(c.placeholder(), tau);
                    List<List<BufferedImage>> imgs = sampling.sample(pipe, List.of(concept), cInv, prompts, seeds, b, t,
                            listener, task);
                    points.add(measure(mode, c, beta, scenes, imgs));
                    for (int pi = 0; pi < prompts.size(); pi++) {
                        List<BufferedImage> row = new ArrayList<>();
                        for (List<BufferedImage> perSeed : imgs) {
                            row.add(perSeed.get(pi));
                        }
                        rows.add(row);
                        labels.add((beta == null ? "no gate" : String.format(Locale.ROOT, "β %.2f", beta)) + "  "
                                + prompts.get(pi));
                    }
                }
                String gridName = "grids/" + c.name().toLowerCase(Locale.ROOT) + "-"
                        + mode.name().toLowerCase(Locale.ROOT).replace('_', '-') + ".png";
                grids.put(gridName, ToyImageGrid.draw(rows, labels, seedLabels(), 4));
                timings.put("sample " + c.placeholder() + " " + mode, seconds(t0));
            }
        }
        points.addAll(means(points));

        // 4. two concepts composed
        int successes = 0;
        int total = 0;
        if (concepts.size() >= 2) {
            long t0 = System.nanoTime();
            NovelConcept a = concepts.get(0);
            NovelConcept b = concepts.get(1);
            List<Scene> scenes = compositionPrompts(a, b);
            List<String> prompts = scenes.stream().map(Scene::caption).toList();
            List<Concept> both = List.of(trained.get(a).get(TrainMode.PERFUSION), trained.get(b).get(TrainMode.PERFUSION));
            Map<String, Float> t = tau == null ? Map.of() : Map.of(a.placeholder(), tau, b.placeholder(), tau);
            List<List<BufferedImage>> imgs = sampling.sample(pipe, both, cInv, prompts, seeds, Map.of(), t, listener,
                    "compose " + a.placeholder() + " + " + b.placeholder());
            List<List<BufferedImage>> rows = new ArrayList<>();
            for (int pi = 0; pi < scenes.size(); pi++) {
                List<BufferedImage> row = new ArrayList<>();
                for (List<BufferedImage> perSeed : imgs) {
                    BufferedImage img = perSeed.get(pi);
                    row.add(img);
                    if (ToyImageScore.of(scenes.get(pi), img).conceptsPresent()) {
                        successes++;
                    }
                    total++;
                }
                rows.add(row);
            }
            grids.put("composition.png", ToyImageGrid.draw(rows, prompts, seedLabels(), 4));
            timings.put("compose", seconds(t0));
        }

        // 5. outputs
        for (Map.Entry<String, BufferedImage> g : grids.entrySet()) {
            Images.writePng(g.getValue(), Map.of("Software", "perfusion-java toy evaluation"), dir.resolve(g.getKey()));
        }
        Map<TrainMode, Boolean> dominates = new EnumMap<>(TrainMode.class);
        List<Point> perfusionMean = curve(points, TrainMode.PERFUSION, null);
        for (TrainMode m : modes()) {
            if (m != TrainMode.PERFUSION) {
                List<Point> ablation = curve(points, m, null);
                dominates.put(m, ToyEvaluationReport.dominated(perfusionMean, ablation) == ablation.size());
            }
        }
        Concept sample = trained.values().iterator().next().get(TrainMode.PERFUSION);
        long[] sd15 = ToyEvaluationReport.sd15ConceptBytes(sample, dir);
        timings.put("total", seconds(start));
        Result result = new Result(finalDir, List.copyOf(points), defaultBeta, dominates, successes, total,
                fileBytes, sd15[0], sd15[1], ridge, seconds(start));
        ToyEvaluationReport.writeCsv(result, dir.resolve("results.csv"));
        Images.writePng(ToyEvaluationReport.plot(result), Map.of("Software", "perfusion-java toy evaluation"),
                dir.resolve("sweep.png"));
        ToyEvaluationReport.writeSummary(this, result, timings, dir.resolve("summary.md"));
        return result;
    }

    private TrainListener trainListener(String task) {
        return new TrainListener() {
            @Override
            public void onStep(int step, double loss, double[] lrs, double etaSeconds) {
                listener.onProgress(task, step, trainSteps, String.format(Locale.ROOT, "loss %.4f", loss));
            }
        };
    }

    private List<String> seedLabels() {
        return seeds.stream().map(s -> "seed " + s).toList();
    }

    private static Point measure(TrainMode mode, NovelConcept c, Float beta, List<Scene> scenes,
                                 List<List<BufferedImage>> images) {
        ToyImageScore.Mean m = ToyImageScore.mean(scenes, images);
        return new Point(mode, c, beta, m.fidelity(), m.alignment(), m.strict(), m.images());
    }

    /** Per mode and β, the mean of the concepts' points (concept null). */
    private List<Point> means(List<Point> points) {
        List<Point> out = new ArrayList<>();
        for (TrainMode mode : modes()) {
            List<Float> sweep = mode.editsAttention() ? betas : java.util.Collections.singletonList(null);
            for (Float beta : sweep) {
                List<Point> same = points.stream().filter(p -> p.mode() == mode && java.util.Objects.equals(p.beta(),
                        beta)).toList();
                if (same.isEmpty()) {
                    continue;
                }
                out.add(new Point(mode, null, beta, same.stream().mapToDouble(Point::fidelity).average().orElseThrow(),
                        same.stream().mapToDouble(Point::alignment).average().orElseThrow(),
                        same.stream().mapToDouble(Point::strict).average().orElseThrow(),
                        same.stream().mapToInt(Point::images).sum()));
            }
        }
        return out;
    }

    static List<Point> curve(List<Point> points, TrainMode mode, NovelConcept concept) {
        return points.stream().filter(p -> p.mode() == mode && p.concept() == concept).toList();
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    /**
     * Builds a {@link ToyEvaluation}. Defaults: concepts RING and DIAMOND, 6 images each, 150 optimizer steps of
     * batch 4 × accumulation 1, TrainConfig's learning rates, masked loss, β sweep 0.5 … 0.9 with each concept's τ,
     * 8 seeds (0 … 7), DDIM with 20 steps and guidance 4, 4,096 covariance captions, seed 0, batches of up to 64
     * images, the ND4J backend.
     *
     * <p>Budget (measured on the 2-core development machine while another training job ran, so an upper bound):
     * an optimizer step of batch 4 takes about 0.45 s (150 steps ≈ 65 s, × 6 runs ≈ 6.5 min) and a sampled image
     * about 0.8–1 s at 20 DDIM steps with guidance (1,088 images ≈ 15 min); the whole evaluation ≈ 20 min or less.
     */
    public static final class Builder {
        private Path model;
        private Path output;
        private List<NovelConcept> concepts = List.of(NovelConcept.RING, NovelConcept.DIAMOND);
        private int imagesPerConcept = 6;
        private int trainSteps = 150;
        private int batchSize = 4;
        private int gradientAccumulation = 1;
        private double lrEmbedding = 6e-3;
        private double lrValues = 3e-2;
        private boolean masks = true;
        private List<Float> betas = List.of(0.5f, 0.6f, 0.7f, 0.8f, 0.9f);
        private Float tau;
        private List<Long> seeds = List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L);
        private int samplingSteps = 20;
        private float guidance = 4f;
        private String sampler = "ddim";
        private int covarianceCaptions = 4096;
        private Double covarianceRidge;
        private long seed;
        private int maxBatch = 64;
        private Backend backend;
        private ToyProgressListener listener = ToyProgressListener.NONE;

        private Builder() {
        }

        public Builder model(Path v) { model = v; return this; }
        public Builder output(Path v) { output = v; return this; }
        public Builder concepts(List<NovelConcept> v) { concepts = v; return this; }
        public Builder imagesPerConcept(int v) { imagesPerConcept = v; return this; }
        public Builder trainSteps(int v) { trainSteps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder gradientAccumulation(int v) { gradientAccumulation = v; return this; }
        public Builder lrEmbedding(double v) { lrEmbedding = v; return this; }
        public Builder lrValues(double v) { lrValues = v; return this; }
        public Builder masks(boolean v) { masks = v; return this; }
        public Builder betas(List<Float> v) { betas = v; return this; }
        public Builder tau(Float v) { tau = v; return this; }
        public Builder seeds(List<Long> v) { seeds = v; return this; }
        public Builder samplingSteps(int v) { samplingSteps = v; return this; }
        public Builder guidance(float v) { guidance = v; return this; }
        public Builder sampler(String v) { sampler = v; return this; }
        public Builder covarianceCaptions(int v) { covarianceCaptions = v; return this; }
        public Builder covarianceRidge(Double v) { covarianceRidge = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder maxBatch(int v) { maxBatch = v; return this; }
        public Builder backend(Backend v) { backend = v; return this; }
        public Builder listener(ToyProgressListener v) { listener = v; return this; }

        /**
         * @throws IllegalArgumentException naming the first bad setting
         */
        public ToyEvaluation build() {
            require(model != null, "model", "the toy model folder is required");
            require(output != null, "output", "the output folder is required");
            require(concepts != null && !concepts.isEmpty() && concepts.stream().distinct().count() == concepts.size(),
                    "concepts", "one or more distinct concepts are required, got " + concepts);
            require(imagesPerConcept > 0, "imagesPerConcept", "must be > 0, got " + imagesPerConcept);
            require(trainSteps > 0, "trainSteps", "must be > 0, got " + trainSteps);
            require(batchSize > 0, "batchSize", "must be > 0, got " + batchSize);
            require(gradientAccumulation > 0, "gradientAccumulation", "must be > 0, got " + gradientAccumulation);
            require(betas != null && !betas.isEmpty() && betas.stream().allMatch(b -> b != null && Float.isFinite(b)),
                    "betas", "one or more finite β values are required, got " + betas);
            require(tau == null || (tau > 0 && Float.isFinite(tau)), "tau", "must be > 0, got " + tau);
            require(seeds != null && !seeds.isEmpty(), "seeds", "one or more seeds are required");
            require(samplingSteps > 0, "samplingSteps", "must be > 0, got " + samplingSteps);
            require(guidance >= 0 && Float.isFinite(guidance), "guidance", "must be >= 0, got " + guidance);
            require(covarianceCaptions > 0, "covarianceCaptions", "must be > 0, got " + covarianceCaptions);
            require(maxBatch > 0, "maxBatch", "must be > 0, got " + maxBatch);
            return new ToyEvaluation(model, output, concepts, imagesPerConcept, trainSteps, batchSize,
                    gradientAccumulation, lrEmbedding, lrValues, masks, betas, tau, seeds, samplingSteps, guidance,
                    sampler, covarianceCaptions, covarianceRidge, seed, maxBatch, backend == null ? new Nd4jBackend() : backend,
                    listener);
        }

        private static void require(boolean ok, String what, String message) {
            if (!ok) {
                throw new IllegalArgumentException("ToyEvaluation." + what + ": " + message);
            }
        }
    }
}
