package dev.perfusion.toy;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.GenerationResult;
import dev.perfusion.pipeline.Images;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.vae.AutoencoderKL;
import dev.perfusion.vae.LatentDistribution;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;

/**
 * The base model's quality gate (issue 7): sample captions of fresh scenes ({@link ToyDataset#namedScene} at seeds
 * from {@link ToyDataset#GATE_SEED_BASE}, which training never draws) and read every image back with
 * {@link ToyChecker}. A one-object image is correct when the object's colour, shape, size and position and the
 * background are all right; a two-object image when both objects and the background are. Targets: ≥ 80 % and ≥ 50 %.
 */
public final class ToyQualityGate {
    /** Target share of one-object images with every attribute right. */
    public static final double SINGLE_TARGET = 0.80;
    /** Target share of two-object images with every attribute right. */
    public static final double TWO_TARGET = 0.50;

    /**
     * How the gate samples.
     *
     * @param scenes   scenes per kind (one object, two objects)
     * @param steps    DDIM steps
     * @param guidance classifier-free guidance scale
     * @param batch    prompts per pipeline call
     * @param seed     first sampling seed (a batch uses seed + the index of its first image)
     */
    public record Settings(int scenes, int steps, float guidance, int batch, long seed) {
        public Settings {
            if (scenes <= 0 || steps <= 0 || batch <= 0 || !(guidance >= 1)) {
                throw new IllegalArgumentException("scenes, steps and batch must be > 0 and guidance >= 1; got "
                        + scenes + ", " + steps + ", " + batch + ", " + guidance);
            }
        }

        /** 200 scenes of each kind, 25 DDIM steps, guidance 4. */
        public static Settings defaults() {
            return new Settings(200, 25, 4f, 50, 0);
        }
    }

    /**
     * The gate's numbers.
     *
     * @param single        one-object checks, in scene order
     * @param two           two-object checks, in scene order
     * @param singleImages  the one-object images (same order)
     * @param twoImages     the two-object images
     */
    public record Result(List<CheckResult> single, List<CheckResult> two, List<BufferedImage> singleImages,
                         List<BufferedImage> twoImages) {
        /** Share of one-object images with every attribute right. */
        public double singleRate() {
            return rate(single);
        }

        /** Share of two-object images with every attribute right. */
        public double twoRate() {
            return rate(two);
        }

        /** Whether both targets are met. */
        public boolean passes() {
            return singleRate() >= SINGLE_TARGET && twoRate() >= TWO_TARGET;
        }

        /** Per-attribute accuracy over every expected object of a list: colour, shape, size, position, background. */
        public static double[] attributeRates(List<CheckResult> checks) {
            double[] hits = new double[5];
            int objects = 0;
            for (CheckResult c : checks) {
                for (ObjectCheck o : c.objects()) {
                    hits[0] += o.colorCorrect() ? 1 : 0;
                    hits[1] += o.shapeCorrect() ? 1 : 0;
                    hits[2] += o.sizeCorrect() ? 1 : 0;
                    hits[3] += o.positionCorrect() ? 1 : 0;
                    objects++;
                }
                hits[4] += c.backgroundCorrect() ? 1 : 0;
            }
            for (int i = 0; i < 4; i++) {
                hits[i] /= Math.max(1, objects);
            }
            hits[4] /= Math.max(1, checks.size());
            return hits;
        }

        /** A markdown table of the gate. */
        public String markdown() {
            StringBuilder sb = new StringBuilder();
            sb.append("| prompts | images | all attributes right | target | colour | shape | size | position | background |\n");
            sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            row(sb, "one object", single, SINGLE_TARGET);
            row(sb, "two objects", two, TWO_TARGET);
            return sb.toString();
        }

        private static void row(StringBuilder sb, String what, List<CheckResult> checks, double target) {
            double[] a = attributeRates(checks);
            sb.append(String.format(Locale.ROOT, "| %s | %d | **%.1f %%** | %.0f %% | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.1f %% |%n",
                    what, checks.size(), 100 * rate(checks), 100 * target, 100 * a[0], 100 * a[1], 100 * a[2],
                    100 * a[3], 100 * a[4]));
        }

        private static double rate(List<CheckResult> checks) {
            return checks.stream().filter(CheckResult::allCorrect).count() / (double) Math.max(1, checks.size());
        }
    }

    private ToyQualityGate() {
    }

    /**
     * The gate's scenes as the VAE alone reproduces them: each clean render encoded (latent mean) and decoded, then
     * checked like a sample. No denoiser can score above this on the same VAE, so it separates "the VAE blurs small
     * shapes" from "the denoiser draws the wrong thing".
     *
     * @param scenes scenes per kind, the same seeds as {@link #run}
     */
    public static Result reconstructionCeiling(AutoencoderKL vae, int scenes) {
        if (scenes <= 0) {
            throw new IllegalArgumentException("scenes must be > 0, got " + scenes);
        }
        List<Scene> singles = gateScenes(scenes, 1);
        List<Scene> twos = gateScenes(scenes, 2);
        List<BufferedImage> singleImages = reconstruct(vae, singles);
        List<BufferedImage> twoImages = reconstruct(vae, twos);
        List<CheckResult> single = new ArrayList<>();
        List<CheckResult> two = new ArrayList<>();
        for (int i = 0; i < scenes; i++) {
            single.add(ToyChecker.check(singles.get(i), singleImages.get(i)));
            two.add(ToyChecker.check(twos.get(i), twoImages.get(i)));
        }
        return new Result(single, two, singleImages, twoImages);
    }

    /** The gate's scenes of {@code objects} objects: seeds from {@link ToyDataset#GATE_SEED_BASE}, never trained on. */
    private static List<Scene> gateScenes(int n, int objects) {
        List<Scene> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(ToyDataset.namedScene(ToyDataset.GATE_SEED_BASE + i, objects));
        }
        return out;
    }

    /** Each scene rendered, encoded to its latent mean and decoded, in chunks of 50. */
    static List<BufferedImage> reconstruct(AutoencoderKL vae, List<Scene> scenes) {
        Backend be = vae.backend();
        int side = ToyWorld.SIZE;
        int hw = side * side;
        List<BufferedImage> out = new ArrayList<>();
        int chunk = 50;
        for (int start = 0; start < scenes.size(); start += chunk) {
            int n = Math.min(chunk, scenes.size() - start);
            float[] x = new float[n * 3 * hw];
            for (int i = 0; i < n; i++) {
                System.arraycopy(ToyRenderer.toCHW(ToyRenderer.render(scenes.get(start + i))), 0, x, i * 3 * hw, 3 * hw);
            }
            try (AutoCloseable ng = Autograd.noGrad(); TensorScope scope = TensorScope.open()) {
                Tensor img = be.fromArray(x, Shape.of(n, 3, side, side));               // [N, 3, 32, 32]
                try (LatentDistribution q = vae.encode(img)) {
                    out.addAll(Images.toImages(vae.decode(q.mean())));                  // decoded [N, 3, 32, 32]
                }
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    /**
     * Samples and checks {@code settings.scenes()} one-object and as many two-object scenes.
     *
     * @param progress receives (images done, images in all) after each pipeline call; may be null
     */
    public static Result run(StableDiffusionPipeline model, Settings settings, BiConsumer<Integer, Integer> progress) {
        List<Scene> singles = gateScenes(settings.scenes(), 1);
        List<Scene> twos = gateScenes(settings.scenes(), 2);
        int total = 2 * settings.scenes();
        List<BufferedImage> singleImages = sample(model, singles, settings, 0, total, progress);
        List<BufferedImage> twoImages = sample(model, twos, settings, settings.scenes(), total, progress);
        List<CheckResult> single = new ArrayList<>();
        List<CheckResult> two = new ArrayList<>();
        for (int i = 0; i < singles.size(); i++) {
            single.add(ToyChecker.check(singles.get(i), singleImages.get(i)));
            two.add(ToyChecker.check(twos.get(i), twoImages.get(i)));
        }
        return new Result(single, two, singleImages, twoImages);
    }

    private static List<BufferedImage> sample(StableDiffusionPipeline model, List<Scene> scenes, Settings s, int done,
                                              int total, BiConsumer<Integer, Integer> progress) {
        List<BufferedImage> out = new ArrayList<>();
        for (int start = 0; start < scenes.size(); start += s.batch()) {
            List<String> prompts = new ArrayList<>();
            for (Scene sc : scenes.subList(start, Math.min(scenes.size(), start + s.batch()))) {
                prompts.add(sc.caption());
            }
            GenerationRequest req = GenerationRequest.builder(prompts).steps(s.steps()).guidanceScale(s.guidance())
                    .sampler("ddim").size(ToyWorld.SIZE, ToyWorld.SIZE).seed(s.seed() + done + start).build();
            GenerationResult r = model.generate(req);
            out.addAll(r.images());
            if (progress != null) {
                progress.accept(done + out.size(), total);
            }
        }
        return out;
    }

    /** A contact sheet of images, {@code columns} wide, each scaled up by {@code zoom} (nearest neighbour). */
    public static BufferedImage grid(List<BufferedImage> images, int columns, int zoom) {
        int n = images.size();
        int side = images.isEmpty() ? ToyWorld.SIZE : images.get(0).getWidth();
        int rows = (n + columns - 1) / columns;
        int cell = side * zoom + 2;
        BufferedImage g = new BufferedImage(Math.max(1, columns * cell), Math.max(1, rows * cell), BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D gr = g.createGraphics();
        gr.setColor(java.awt.Color.GRAY);
        gr.fillRect(0, 0, g.getWidth(), g.getHeight());
        gr.setRenderingHint(java.awt.RenderingHints.KEY_INTERPOLATION,
                java.awt.RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
        for (int i = 0; i < n; i++) {
            gr.drawImage(images.get(i), (i % columns) * cell + 1, (i / columns) * cell + 1, side * zoom, side * zoom, null);
        }
        gr.dispose();
        return g;
    }
}
