package dev.perfusion.perfusion;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings of one Perfusion training run (DESIGN §4, reference/perfusion-method.md §2). Build with
 * {@link #builder()}; the defaults are the method's ([C] {@code configs/perfusion_teddy.yaml}, method §2.2):
 * 400 optimizer steps of batch 4 × gradient accumulation 4, AdamW with learning rates 6e-3 (concept embedding) and
 * 3e-2 (value targets o*_V), weight decay 0.01, training gate β 0.75 and τ 0.1, i* EMA decay 0.99, horizontal flips,
 * resize without crop, {@link TrainMode#PERFUSION}.
 *
 * @param images                 folder of the concept's images (png, jpg, jpeg)
 * @param placeholder            the new prompt token, e.g. {@code <teddy>} (must not be a vocabulary word)
 * @param superclass             the super-category word, e.g. {@code teddy} (exactly one CLIP token)
 * @param masks                  optional folder of soft masks named like the images (any of png/jpg/jpeg; white =
 *                               concept), or null for the plain loss
 * @param covariance             the covariance file (C⁻¹, {@link Covariance#read}) of the base model's text encoder
 * @param output                 where the final concept file ({@code *.perfusion}) is written
 * @param checkpointDir          folder for checkpoints, or null for none
 * @param resolution             training image side in pixels, or 0 for the model's (UNet sample_size × the VAE's
 *                               downsample factor); the trainer checks it against the model's factors
 * @param centerCrop             crop the central square before resizing (false: resize the whole image, as [C])
 * @param flip                   horizontal flip augmentation with p = 0.5 ([C]; turn off for asymmetric concepts)
 * @param templates              prompt templates, each with one {@code {}} where the placeholder goes
 * @param steps                  optimizer steps
 * @param batchSize              images per micro-batch
 * @param gradientAccumulation   micro-batches per optimizer step
 * @param lrEmbedding            AdamW learning rate of the concept embedding v*
 * @param lrValues               AdamW learning rate of the 16 value targets o*_V (and of the key targets o*_K
 *                               with {@link TrainMode#NO_KEY_LOCKING})
 * @param weightDecay            AdamW decoupled weight decay λ
 * @param beta                   gate bias β during training
 * @param tau                    gate temperature τ during training
 * @param emaDecay               decay of i*'s exponential moving average
 * @param seed                   seed of every random choice (images, flips, templates, timesteps, noise)
 * @param checkpointEvery        write a checkpoint every N optimizer steps (0: never; needs checkpointDir)
 * @param validationEvery        call {@link TrainListener#onValidation} every N optimizer steps (0: never)
 * @param mode                   what is learned: {@link TrainMode#PERFUSION} (the method) or an ablation
 *                               ({@link TrainMode#NO_KEY_LOCKING}: key targets learned like the values, with
 *                               {@code lrValues}; {@link TrainMode#EMBEDDING_ONLY}: only v*, textual inversion)
 */
public record TrainConfig(Path images, String placeholder, String superclass, Path masks, Path covariance, Path output,
                          Path checkpointDir, int resolution, boolean centerCrop, boolean flip, List<String> templates,
                          int steps, int batchSize, int gradientAccumulation, double lrEmbedding, double lrValues,
                          double weightDecay, double beta, double tau, double emaDecay, long seed, int checkpointEvery,
                          int validationEvery, TrainMode mode) {

    /**
     * Textual inversion's object templates ({@code imagenet_templates_small} of rinongal/textual_inversion
     * {@code ldm/data/personalized.py}, also in diffusers' {@code examples/textual_inversion/textual_inversion.py}):
     * the usual prompts for learning an object token. [C] uses 9 similar fixed templates (method §2.2).
     */
    public static final List<String> DEFAULT_TEMPLATES = List.of(
            "a photo of a {}", "a rendering of a {}", "a cropped photo of the {}", "the photo of a {}",
            "a photo of a clean {}", "a photo of a dirty {}", "a dark photo of the {}", "a photo of my {}",
            "a photo of the cool {}", "a close-up photo of a {}", "a bright photo of the {}", "a cropped photo of a {}",
            "a photo of the {}", "a good photo of the {}", "a photo of one {}", "a close-up photo of the {}",
            "a rendition of the {}", "a photo of the clean {}", "a rendition of a {}", "a photo of a nice {}",
            "a good photo of a {}", "a photo of the nice {}", "a photo of the small {}", "a photo of the weird {}",
            "a photo of the large {}", "a photo of a cool {}", "a photo of a small {}");

    public TrainConfig {
        templates = templates == null ? null : List.copyOf(templates);
    }

    /** A builder with the method's defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.images = images;
        b.placeholder = placeholder;
        b.superclass = superclass;
        b.masks = masks;
        b.covariance = covariance;
        b.output = output;
        b.checkpointDir = checkpointDir;
        b.resolution = resolution;
        b.centerCrop = centerCrop;
        b.flip = flip;
        b.templates = templates;
        b.steps = steps;
        b.batchSize = batchSize;
        b.gradientAccumulation = gradientAccumulation;
        b.lrEmbedding = lrEmbedding;
        b.lrValues = lrValues;
        b.weightDecay = weightDecay;
        b.beta = beta;
        b.tau = tau;
        b.emaDecay = emaDecay;
        b.seed = seed;
        b.checkpointEvery = checkpointEvery;
        b.validationEvery = validationEvery;
        b.mode = mode;
        return b;
    }

    /** The prompt for template {@code t} with {@code word} in place of {@code {}}. */
    public String prompt(int t, String word) {
        return templates.get(t).replace("{}", word);
    }

    /** The settings that determine the numbers, as a JSON-ready map (stored in concept files and checkpoints). */
    public Map<String, Object> settings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("placeholder", placeholder);
        m.put("superclass", superclass);
        m.put("resolution", (long) resolution);
        m.put("center_crop", centerCrop);
        m.put("flip", flip);
        m.put("masks", masks != null);
        m.put("templates", templates);
        m.put("steps", (long) steps);
        m.put("batch_size", (long) batchSize);
        m.put("gradient_accumulation", (long) gradientAccumulation);
        m.put("lr_embedding", lrEmbedding);
        m.put("lr_values", lrValues);
        m.put("weight_decay", weightDecay);
        m.put("beta", beta);
        m.put("tau", tau);
        m.put("ema_decay", emaDecay);
        m.put("seed", seed);
        m.put("mode", mode.name());
        return m;
    }

    /** Builds {@link TrainConfig}s; {@link #build()} checks every value. */
    public static final class Builder {
        private Path images;
        private String placeholder;
        private String superclass;
        private Path masks;
        private Path covariance;
        private Path output;
        private Path checkpointDir;
        private int resolution;
        private boolean centerCrop;
        private boolean flip = true;
        private List<String> templates = DEFAULT_TEMPLATES;
        private int steps = 400;
        private int batchSize = 4;
        private int gradientAccumulation = 4;
        private double lrEmbedding = 6e-3;
        private double lrValues = 3e-2;
        private double weightDecay = 0.01;
        private double beta = KeyLockedEdit.TRAIN_BETA;
        private double tau = KeyLockedEdit.TRAIN_TAU;
        private double emaDecay = 0.99;
        private long seed;
        private int checkpointEvery = 50;
        private int validationEvery;
        private TrainMode mode = TrainMode.PERFUSION;

        private Builder() {
        }

        public Builder images(Path v) { images = v; return this; }
        public Builder placeholder(String v) { placeholder = v; return this; }
        public Builder superclass(String v) { superclass = v; return this; }
        public Builder masks(Path v) { masks = v; return this; }
        public Builder covariance(Path v) { covariance = v; return this; }
        public Builder output(Path v) { output = v; return this; }
        public Builder checkpointDir(Path v) { checkpointDir = v; return this; }
        public Builder resolution(int v) { resolution = v; return this; }
        public Builder centerCrop(boolean v) { centerCrop = v; return this; }
        public Builder flip(boolean v) { flip = v; return this; }
        public Builder templates(List<String> v) { templates = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder gradientAccumulation(int v) { gradientAccumulation = v; return this; }
        public Builder lrEmbedding(double v) { lrEmbedding = v; return this; }
        public Builder lrValues(double v) { lrValues = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder beta(double v) { beta = v; return this; }
        public Builder tau(double v) { tau = v; return this; }
        public Builder emaDecay(double v) { emaDecay = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder validationEvery(int v) { validationEvery = v; return this; }
        public Builder mode(TrainMode v) { mode = v; return this; }

        /**
         * @throws IllegalArgumentException naming the first bad setting (missing path or word, non-positive counts
         *                                  or rates, β or decay out of range, a template without exactly one {})
         */
        public TrainConfig build() {
            require(images != null, "images", "the folder of training images is required");
            require(covariance != null, "covariance", "the covariance file (C⁻¹) is required");
            require(output != null, "output", "the concept file to write is required");
            require(placeholder != null && !placeholder.isBlank() && placeholder.strip().equals(placeholder)
                    && placeholder.chars().noneMatch(Character::isWhitespace), "placeholder",
                    "a non-empty word without spaces is required, e.g. <teddy>; got '" + placeholder + "'");
            require(superclass != null && !superclass.isBlank(), "superclass",
                    "the super-category word is required, e.g. teddy");
            require(!placeholder.equals(superclass.strip()), "placeholder", "must differ from the superclass word");
            require(resolution >= 0, "resolution", "must be 0 (the model's) or positive, got " + resolution);
            require(mode != null, "mode", "is required (PERFUSION, NO_KEY_LOCKING or EMBEDDING_ONLY)");
            require(templates != null && !templates.isEmpty(), "templates", "at least one prompt template is required");
            for (String t : templates) {
                require(t != null && t.indexOf("{}") >= 0 && t.indexOf("{}") == t.lastIndexOf("{}"), "templates",
                        "each template needs exactly one {} where the placeholder goes; got '" + t + "'");
            }
            require(steps > 0, "steps", "must be > 0, got " + steps);
            require(batchSize > 0, "batchSize", "must be > 0, got " + batchSize);
            require(gradientAccumulation > 0, "gradientAccumulation", "must be > 0, got " + gradientAccumulation);
            require(lrEmbedding > 0 && Double.isFinite(lrEmbedding), "lrEmbedding", "must be > 0, got " + lrEmbedding);
            require(lrValues > 0 && Double.isFinite(lrValues), "lrValues", "must be > 0, got " + lrValues);
            require(weightDecay >= 0 && Double.isFinite(weightDecay), "weightDecay", "must be >= 0, got " + weightDecay);
            require(Double.isFinite(beta), "beta", "must be finite, got " + beta);
            require(tau > 0 && Double.isFinite(tau), "tau", "must be > 0, got " + tau);
            require(emaDecay >= 0 && emaDecay < 1, "emaDecay", "must be in [0, 1), got " + emaDecay);
            require(checkpointEvery >= 0, "checkpointEvery", "must be >= 0, got " + checkpointEvery);
            require(checkpointEvery == 0 || checkpointDir != null, "checkpointDir",
                    "is required when checkpointEvery > 0 (or set checkpointEvery(0))");
            require(validationEvery >= 0, "validationEvery", "must be >= 0, got " + validationEvery);
            return new TrainConfig(images, placeholder, superclass.strip(), masks, covariance, output, checkpointDir,
                    resolution, centerCrop, flip, templates, steps, batchSize, gradientAccumulation, lrEmbedding,
                    lrValues, weightDecay, beta, tau, emaDecay, seed, checkpointEvery, validationEvery, mode);
        }

        private static void require(boolean ok, String what, String message) {
            if (!ok) {
                throw new IllegalArgumentException("TrainConfig." + what + ": " + message);
            }
        }
    }
}
