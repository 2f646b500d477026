package dev.perfusion.perfusion;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTextOutput;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.io.JsonWriter;
import dev.perfusion.optim.AdamW;
import dev.perfusion.pipeline.Images;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.schedulers.DDPMScheduler;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.unet.CrossAttentionLayer;
import dev.perfusion.unet.UNet2DConditionModel;
import dev.perfusion.vae.AutoencoderKL;
import dev.perfusion.vae.AutoencoderKLConfig;
import dev.perfusion.vae.LatentDistribution;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.function.IntPredicate;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Trains one Perfusion concept (DESIGN §4, reference/perfusion-method.md §2) on a loaded Stable Diffusion model.
 *
 * <p>What is trained: the placeholder's embedding v* (initialised to the super-class word's embedding) and the 16
 * value targets o*_V (initialised to W_V·ē_super), with {@link AdamW} in two groups (v*: lr 6e-3, o*_V: lr 3e-2,
 * λ 0.01). Frozen: the UNet, VAE and text encoder (gradients reach v* through the frozen CLIP), and the key targets
 * o*_K = W_K·ē_super fixed from the first micro-batch (key locking, as [C]; [L]'s further EMA of o*_K is not used),
 * ē_super being the mean over the batch of the super-class prompts' encodings at the concept position. i* is a
 * host buffer without gradient ([C]): i* = ē_super at the first micro-batch (equal to [L]'s ē_concept there, since
 * v* starts as the super-class embedding), then i* ← d·i* + (1−d)·ē_concept on every later micro-batch, d = 0.99.
 *
 * <p>Per micro-batch of B images: z₀ from the latent cache, t ~ U{0..N−1}, ε ~ N(0, I), z_t = √ᾱ_t z₀ + √(1−ᾱ_t) ε
 * (DDPM {@code add_noise}); E = CLIP(prompt with the placeholder) with the gated edit (training β 0.75, τ 0.1, the
 * current i*) on every {@code attn2}; loss = mean((ε̂ − target)²) or, with masks, mean(m·(ε̂ − target)²) (the mask
 * weighs once, not m² as [C]; method §6 #8). Gradients of {@code accumulation} micro-batches (each loss scaled by
 * 1/accumulation, i.e. their mean) make one optimizer step.
 *
 * <p>Latent cache: each image and its horizontal flip are VAE-encoded once, keeping the posterior mean·scaling
 * factor. The mean, not a sample: with a cache, one sample would freeze a single draw of the posterior noise for the
 * whole run (no more faithful than the mean, and dependent on the seed); the posterior σ of SD's VAE is tiny, so the
 * mean is what a per-step sample scatters around.
 *
 * <p>Reproducibility: every random choice of micro-batch k (images, flips, templates, timesteps, noise seed) comes
 * from a {@link SplittableRandom} seeded by (seed, k), so the RNG state is the micro-batch counter and a resumed run
 * continues bit-identically. Checkpoints ({@link TrainCheckpoint}) hold all state and are written atomically.
 *
 * <p>Ablations ({@link TrainConfig#mode()}, the evaluation's same-budget comparisons): {@link TrainMode#NO_KEY_LOCKING}
 * also learns the 16 key targets o*_K, initialised like the value targets (W_K·ē_super at the first micro-batch)
 * and optimised in a third AdamW group with the values' learning rate; {@link TrainMode#EMBEDDING_ONLY} learns v*
 * only and installs no edit (textual inversion: ε̂ = UNet(z_t, t, E)); i* is still tracked, for inspection.
 * Everything else (data, schedule, RNG, loss) is the same in every mode.
 *
 * <p>Sizes: the latent side is resolution / f, f the VAE's {@linkplain dev.perfusion.vae.AutoencoderKLConfig#downsampleFactor
 * downsample factor} (8 for SD, 4 for a 3-level VAE), and the resolution must be a multiple of f·2^(UNet down
 * blocks − 1) so that every UNet level has whole latents.
 */
public final class PerfusionTrainer {
    private static final String[] IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg"};

    /** Thrown when the listener cancels; checkpoints written so far stay. */
    public static final class TrainingCancelledException extends CancellationException {
        private static final long serialVersionUID = 1L;

        public TrainingCancelledException(int step, int total) {
            super("training cancelled after step " + step + " of " + total);
        }
    }

    /** The result of a run: the concept (also written to the config's output) and the loss of every step. */
    public record TrainResult(Concept concept, double[] losses) {
    }

    private final StableDiffusionPipeline pipe;
    private final TrainConfig cfg;
    private final Backend be;
    private final CLIPTokenizer tok;
    private final CLIPTextModel te;
    private final UNet2DConditionModel unet;
    private final AutoencoderKL vae;
    private final DDPMScheduler ddpm;
    private final List<CrossAttentionLayer> layers;
    private final Covariance.InverseFile cInv;
    private final int dim;
    private final int resolution;
    private final int latentSide;
    private final int latentChannels;
    private final int placeholderId;
    private final int[] placeholderPositions;
    private final List<Path> imageFiles;
    private final float[][][] latents;  // [image][flip] → [4·h·w]
    private final float[][][] masks;    // [image][flip] → [h·w], or null
    private IntPredicate poison = k -> false; // test seam: make micro-batch k's loss NaN

    private PerfusionTrainer(StableDiffusionPipeline pipe, TrainConfig cfg, int resolution, Covariance.InverseFile cInv,
                             List<Path> imageFiles, List<BufferedImage> images, List<BufferedImage> maskImages,
                             int[] positions) {
        this.pipe = pipe;
        this.cfg = cfg;
        this.be = pipe.backend();
        this.tok = pipe.tokenizer();
        this.te = pipe.textEncoder();
        this.unet = pipe.unet();
        this.vae = pipe.vae();
        this.ddpm = new DDPMScheduler(pipe.schedulerConfig());
        this.layers = unet.crossAttentionLayers();
        this.cInv = cInv;
        this.dim = te.config().hiddenSize();
        this.resolution = resolution;
        this.latentSide = resolution / vae.config().downsampleFactor();
        this.latentChannels = vae.config().latentChannels();
        this.imageFiles = imageFiles;
        this.placeholderPositions = positions;
        this.placeholderId = tok.addToken(cfg.placeholder());
        this.latents = encodeLatents(images);
        this.masks = maskImages == null ? null : maskLatents(maskImages);
    }

    /**
     * The model's training resolution: {@code sample_size} from {@code unet/config.json} of a diffusers folder times
     * the VAE's downsample factor 2^(levels − 1) from {@code vae/config.json} (64 × 8 = 512 for SD v1.x; 8 when
     * there is no VAE config), or 512 when there is no UNet config (single-file checkpoints are SD v1.x).
     */
    public static int modelResolution(Path modelDir) throws IOException {
        Path c = modelDir.resolve("unet").resolve("config.json");
        if (!Files.isRegularFile(c)) {
            return 512;
        }
        Path v = modelDir.resolve("vae").resolve("config.json");
        int factor = Files.isRegularFile(v) ? AutoencoderKLConfig.read(v).downsampleFactor() : 8;
        return DiffusersConfig.read(c).intValue("sample_size", 64) * factor;
    }

    /**
     * Checks every input and prepares a run (nothing is written to disk here): reads the covariance and images,
     * checks the placeholder, super-class word and templates against the tokenizer, registers the placeholder and
     * VAE-encodes the images and their flips once.
     *
     * @param resolution the training resolution when {@code cfg.resolution()} is 0 ({@link #modelResolution})
     * @throws IllegalArgumentException naming the bad input (no images, an unreadable image or mask, a placeholder
     *                                  that is a vocabulary word, a super-class word of several tokens, a covariance
     *                                  of another width, a resolution the UNet cannot take)
     */
    public static PerfusionTrainer create(StableDiffusionPipeline pipe, TrainConfig cfg, int resolution) throws IOException {
        int res = cfg.resolution() > 0 ? cfg.resolution() : resolution;
        int factor = pipe.vae().config().downsampleFactor();
        int down = 1 << (pipe.unet().config().blockOutChannels().size() - 1);
        if (res <= 0) {
            throw new IllegalArgumentException("training resolution must be positive, got " + res);
        }
        if (res % factor != 0) {
            throw new IllegalArgumentException("training resolution " + res + " is not a multiple of the VAE's "
                    + "downsample factor " + factor);
        }
        if (res % (factor * down) != 0) {
            throw new IllegalArgumentException("training resolution " + res + " must be a multiple of " + factor * down
                    + " for this model (the VAE's downsample factor " + factor + " × 2^(UNet down blocks − 1) = "
                    + down + ")");
        }
        int d = pipe.textEncoder().config().hiddenSize();
        if (!Files.isRegularFile(cfg.covariance())) {
            throw new IllegalArgumentException("covariance file " + cfg.covariance() + " does not exist");
        }
        Covariance.InverseFile cInv = Covariance.read(cfg.covariance());
        if (cInv.dim() != d) {
            throw new IllegalArgumentException("covariance " + cfg.covariance() + " is " + cInv.dim() + "×" + cInv.dim()
                    + " but the text encoder is " + d + " wide: it was made for another model");
        }
        CLIPTokenizer tok = pipe.tokenizer();
        ConceptFile.checkPlaceholder(tok, cfg.placeholder());
        List<String> superTokens = tok.tokenize(cfg.superclass());
        if (superTokens.size() != 1) {
            throw new IllegalArgumentException("super-class word '" + cfg.superclass() + "' is " + superTokens.size()
                    + " CLIP tokens " + superTokens + "; Perfusion needs a single-token super-category word");
        }
        int superId = tok.tokenId(superTokens.get(0));
        int[] positions = new int[cfg.templates().size()];
        for (int t = 0; t < positions.length; t++) {
            int[] ids = tok.encode(cfg.prompt(t, cfg.superclass()));
            positions[t] = indexOf(ids, superId);
            if (positions[t] < 0) {
                throw new IllegalArgumentException("template '" + cfg.templates().get(t) + "' does not keep the "
                        + "super-class word as a token (or the prompt is longer than 77 tokens)");
            }
        }
        List<Path> files = listImages(cfg.images());
        List<BufferedImage> images = new ArrayList<>();
        for (Path f : files) {
            images.add(resize(read(f, "image"), res, cfg.centerCrop()));
        }
        List<BufferedImage> maskImages = null;
        if (cfg.masks() != null) {
            maskImages = new ArrayList<>();
            for (Path f : files) {
                Path m = maskFile(cfg.masks(), f);
                maskImages.add(resize(read(m, "mask"), res, cfg.centerCrop()));
            }
        }
        PerfusionTrainer tr = new PerfusionTrainer(pipe, cfg, res, cInv, files, images, maskImages, positions);
        for (int t = 0; t < positions.length; t++) {
            int[] ids = tok.encode(cfg.prompt(t, cfg.placeholder()));
            if (indexOf(ids, tr.placeholderId) != positions[t]) {
                throw new IllegalArgumentException("template '" + cfg.templates().get(t) + "' puts the placeholder at "
                        + "another token position than the super-class word");
            }
        }
        return tr;
    }

    /** Test seam: micro-batches for which {@code p} is true get a NaN loss. */
    void poisonLoss(IntPredicate p) {
        poison = p;
    }

    /** The training resolution in pixels. */
    public int resolution() {
        return resolution;
    }

    /** The image files used, sorted by name. */
    public List<Path> imageFiles() {
        return imageFiles;
    }

    /** Trains from the start. */
    public TrainResult train(TrainListener listener) throws IOException {
        try (TrainState s = TrainState.fresh(be, superEmbedding(), layers, cfg)) {
            return run(s, listener);
        }
    }

    /**
     * Continues the run saved in {@code checkpoint} (same images, model, covariance and settings except the step
     * count); the result is bit-identical to an uninterrupted run.
     */
    public TrainResult resume(Path checkpoint, TrainListener listener) throws IOException {
        TrainCheckpoint ck = TrainCheckpoint.read(checkpoint);
        ck.checkCompatible(cfg, Fingerprints.baseModel(te, unet), cInv.fingerprint(), checkpoint);
        try (TrainState s = TrainState.fresh(be, superEmbedding(), layers, cfg)) {
            s.restore(ck);
            return run(s, listener);
        }
    }

    private TrainResult run(TrainState s, TrainListener listener) throws IOException {
        listener = listener == null ? TrainListener.NONE : listener;
        String baseModel = Fingerprints.baseModel(te, unet);
        Path lastCheckpoint = null;
        long start = System.nanoTime();
        int startStep = s.step;
        while (s.step < cfg.steps()) {
            if (listener.isCancelled()) {
                throw new TrainingCancelledException(s.step, cfg.steps());
            }
            double sum = 0;
            boolean validate = cfg.validationEvery() > 0 && (s.step + 1) % cfg.validationEvery() == 0;
            List<BufferedImage> previews = null;
            for (int a = 0; a < cfg.gradientAccumulation(); a++) {
                boolean last = a == cfg.gradientAccumulation() - 1;
                double loss = microStep(s, validate && last);
                if (!Double.isFinite(loss)) {
                    s.opt.zeroGrad();
                    throw new IllegalStateException("training diverged: loss is " + loss + " at step " + (s.step + 1)
                            + " (micro-batch " + s.micro + "); nothing was saved for this step"
                            + (lastCheckpoint != null ? "; the last good checkpoint is " + lastCheckpoint : "")
                            + ". Lower the learning rates or resume from a checkpoint");
                }
                sum += loss;
                s.micro++;
                if (validate && last) {
                    previews = s.previews;
                    s.previews = null;
                }
            }
            s.opt.step();
            s.opt.zeroGrad();
            s.step++;
            double mean = sum / cfg.gradientAccumulation();
            s.losses.add(mean);
            double perStep = (System.nanoTime() - start) / 1e9 / (s.step - startStep);
            listener.onStep(s.step, mean, s.learningRates(), perStep * (cfg.steps() - s.step));
            if (previews != null) {
                listener.onValidation(s.step, previews);
            }
            if (cfg.checkpointEvery() > 0 && s.step % cfg.checkpointEvery() == 0) {
                lastCheckpoint = cfg.checkpointDir().resolve(String.format(Locale.ROOT, "checkpoint-%06d.pft", s.step));
                s.checkpoint(cfg, baseModel, cInv.fingerprint()).write(lastCheckpoint);
                listener.onCheckpoint(lastCheckpoint);
            }
        }
        Concept concept = s.concept(cfg, layers, baseModel, cInv.fingerprint());
        Path parent = cfg.output().toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        ConceptFile.write(cfg.output(), concept);
        return new TrainResult(concept, s.losses.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** One micro-batch: forward with the edit, loss, backward (gradients accumulate). Returns the unscaled loss. */
    private double microStep(TrainState s, boolean keepPreview) {
        int b = cfg.batchSize();
        int h = latentSide;
        int plane = latentChannels * h * h;
        SplittableRandom r = new SplittableRandom(cfg.seed() * 0x9E3779B97F4A7C15L + s.micro);
        float[] z0 = new float[b * plane];
        float[] mask = masks == null ? null : new float[b * h * h];
        long[] ids = new long[b * CLIPTokenizer.CONTEXT_LENGTH];
        long[] superIds = new long[b * CLIPTokenizer.CONTEXT_LENGTH];
        int[] pos = new int[b];
        int[] ts = new int[b];
        int n = cfg.templates().size();
        int numTrain = ddpm.noiseSchedule().numTrainTimesteps();
        for (int i = 0; i < b; i++) {
            int img = r.nextInt(latents.length);
            int flip = cfg.flip() && r.nextBoolean() ? 1 : 0;
            int t = r.nextInt(n);
            ts[i] = r.nextInt(numTrain);
            System.arraycopy(latents[img][flip], 0, z0, i * plane, plane);
            if (mask != null) {
                System.arraycopy(masks[img][flip], 0, mask, i * h * h, h * h);
            }
            int[] p = tok.encode(cfg.prompt(t, cfg.placeholder()));
            int[] q = tok.encode(cfg.prompt(t, cfg.superclass()));
            for (int j = 0; j < CLIPTokenizer.CONTEXT_LENGTH; j++) {
                ids[i * CLIPTokenizer.CONTEXT_LENGTH + j] = p[j];
                superIds[i * CLIPTokenizer.CONTEXT_LENGTH + j] = q[j];
            }
            pos[i] = placeholderPositions[t];
        }
        float[] noise = HostRandom.normal(r.nextLong(), b * plane);
        boolean poisoned = poison.test((int) s.micro);
        try (TensorScope scope = TensorScope.open()) {
            Shape latentShape = Shape.of(b, latentChannels, h, h);
            Tensor x0 = be.fromArray(z0, latentShape);                              // [B, 4, h, w]
            Tensor eps = be.fromArray(noise, latentShape);                          // [B, 4, h, w]
            Tensor zt = ddpm.addNoise(x0, eps, ts);                                 // [B, 4, h, w]
            Tensor target = ddpm.trainingTarget(x0, eps, ts);                       // [B, 4, h, w]
            long[] tl = new long[b];
            for (int i = 0; i < b; i++) {
                tl[i] = ts[i];
            }
            Tensor tT = be.fromArray(tl, Shape.of(b));                              // [B]
            Tensor idT = be.fromArray(ids, Shape.of(b, CLIPTokenizer.CONTEXT_LENGTH)); // [B, 77]
            Tensor embeds = te.embed(idT, extraRows(s));                            // [B, 77, D]
            CLIPTextOutput out = te.forwardEmbeds(embeds, idT);
            Tensor e = out.lastHiddenState();                                       // [B, 77, D]
            double[] eC = meanAt(e.toFloatArray(), pos);
            if (!s.initialized) {
                double[] eS;
                try (AutoCloseable ng = Autograd.noGrad()) {
                    Tensor sIds = be.fromArray(superIds, Shape.of(b, CLIPTokenizer.CONTEXT_LENGTH)); // [B, 77]
                    eS = meanAt(te.forward(sIds).lastHiddenState().toFloatArray(), pos);
                }
                s.initialize(eS, layers);
            } else {
                for (int c = 0; c < dim; c++) {
                    s.iStar[c] = cfg.emaDecay() * s.iStar[c] + (1 - cfg.emaDecay()) * eC[c];
                }
            }
            KeyLockedEdit edit = null;
            EditContext ctx = null;
            try {
                Tensor pred;
                if (cfg.mode().editsAttention()) {
                    edit = KeyLockedEdit.of(be, cInv.cInv(), dim, List.of(toFloat(s.iStar)),
                            new float[] {(float) cfg.beta()}, new float[] {(float) cfg.tau()});
                    ctx = EditContext.local(edit, e);
                    List<Tensor[]> targets = new ArrayList<>();
                    for (int l = 0; l < layers.size(); l++) {
                        targets.add(new Tensor[] {s.keyTarget(be, l, layers.get(l).width()), s.values.get(l).value()});
                    }
                    try (PerfusionInstallation inst = PerfusionInstallation.install(layers, targets, ctx)) {
                        pred = unet.forward(zt, tT, e);                             // [B, 4, h, w]
                    }
                } else {
                    pred = unet.forward(zt, tT, e);                                 // [B, 4, h, w] textual inversion: no edit
                }
                Tensor diff = Ops.sub(pred, target);                               // [B, 4, h, w]
                Tensor sq = Ops.square(diff);                                      // [B, 4, h, w]
                if (mask != null) {
                    Tensor m = be.fromArray(mask, Shape.of(b, 1, h, h));            // [B, 1, h, w]
                    sq = Ops.mul(sq, m);                                           // [B, 4, h, w]
                }
                Tensor loss = Ops.mean(sq, new int[0], false);                     // []
                double value = poisoned ? Double.NaN : loss.item();
                if (!Double.isFinite(value)) {
                    return value;
                }
                Autograd.backward(Ops.scale(loss, 1f / cfg.gradientAccumulation()));
                if (keepPreview) {
                    s.previews = preview(zt.toFloatArray(), pred.toFloatArray(), ts);
                }
                return value;
            } finally {
                if (ctx != null) {
                    ctx.close();
                }
                if (edit != null) {
                    edit.close();
                }
            }
        } catch (RuntimeException | Error ex) {
            throw ex;
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** The extended embedding rows for ids ≥ V: zeros for other added tokens, v* at the placeholder's row. */
    private Tensor extraRows(TrainState s) {
        int k = placeholderId - tok.vocabSize();
        Tensor v = s.embedding.value();                                            // [1, D]
        if (k == 0) {
            return v;
        }
        Tensor zeros = be.full(Shape.of(k, dim), 0f);                             // [k, D]
        return Ops.concat(List.of(zeros, v), 0);                                   // [k+1, D]
    }

    /** Decoded one-step estimates x̂₀ = (z_t − √(1−ᾱ)ε̂)/√ᾱ of a micro-batch. */
    private List<BufferedImage> preview(float[] zt, float[] eps, int[] ts) throws Exception {
        int plane = zt.length / ts.length;
        float[] x0 = new float[zt.length];
        for (int i = 0; i < ts.length; i++) {
            double ab = ddpm.noiseSchedule().alphaCumprod(ts[i]);
            for (int j = 0; j < plane; j++) {
                int k = i * plane + j;
                x0[k] = (float) ((zt[k] - Math.sqrt(1 - ab) * eps[k]) / Math.sqrt(ab) / vae.scalingFactor());
            }
        }
        try (AutoCloseable ng = Autograd.noGrad(); TensorScope scope = TensorScope.open()) {
            Tensor lat = be.fromArray(x0, Shape.of(ts.length, latentChannels, latentSide, latentSide)); // [B, 4, h, w]
            return Images.toImages(vae.decode(lat));                                    // [B, 3, H, W]
        }
    }

    private double[] meanAt(float[] e, int[] pos) {
        double[] m = new double[dim];
        for (int b = 0; b < pos.length; b++) {
            int off = (b * CLIPTokenizer.CONTEXT_LENGTH + pos[b]) * dim;
            for (int c = 0; c < dim; c++) {
                m[c] += e[off + c];
            }
        }
        for (int c = 0; c < dim; c++) {
            m[c] /= pos.length;
        }
        return m;
    }

    static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    private static int indexOf(int[] ids, int id) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == id) {
                return i;
            }
        }
        return -1;
    }

    // ------------------------------------------------------------------ images

    private static List<Path> listImages(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("images folder " + dir + " does not exist");
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> hasImageExtension(p)).sorted().toList();
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("images folder " + dir + " has no .png/.jpg/.jpeg images");
        }
        return files;
    }

    private static boolean hasImageExtension(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        for (String e : IMAGE_EXTENSIONS) {
            if (n.endsWith(e)) {
                return true;
            }
        }
        return false;
    }

    private static Path maskFile(Path maskDir, Path image) {
        String n = image.getFileName().toString();
        String stem = n.substring(0, n.lastIndexOf('.'));
        for (String e : IMAGE_EXTENSIONS) {
            Path m = maskDir.resolve(stem + e);
            if (Files.isRegularFile(m)) {
                return m;
            }
        }
        throw new IllegalArgumentException("no mask for image " + image + " in " + maskDir + " (expected " + stem
                + ".png, .jpg or .jpeg)");
    }

    private static BufferedImage read(Path f, String what) {
        BufferedImage img;
        try {
            img = ImageIO.read(f.toFile());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot read " + what + " " + f + ": " + e.getMessage(), e);
        }
        if (img == null) {
            throw new IllegalArgumentException("cannot read " + what + " " + f + ": not a PNG or JPEG image");
        }
        return img;
    }

    /** Resizes to side×side (bicubic), after cropping the central square when {@code centerCrop}. */
    static BufferedImage resize(BufferedImage src, int side, boolean centerCrop) {
        int x = 0;
        int y = 0;
        int w = src.getWidth();
        int h = src.getHeight();
        if (centerCrop) {
            int s = Math.min(w, h);
            x = (w - s) / 2;
            y = (h - s) / 2;
            w = s;
            h = s;
        }
        BufferedImage out = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
            g.drawImage(src, 0, 0, side, side, x, y, x + w, y + h, null);
        } finally {
            g.dispose();
        }
        return out;
    }

    private static BufferedImage flipped(BufferedImage img) {
        int w = img.getWidth();
        BufferedImage out = new BufferedImage(w, img.getHeight(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < w; x++) {
                out.setRGB(w - 1 - x, y, img.getRGB(x, y));
            }
        }
        return out;
    }

    /** Posterior mean·scaling factor of each image and of its flip, encoded once. */
    private float[][][] encodeLatents(List<BufferedImage> images) {
        float[][][] out = new float[images.size()][2][];
        try (AutoCloseable ng = Autograd.noGrad()) {
            for (int i = 0; i < images.size(); i++) {
                for (int f = 0; f < 2; f++) {
                    try (TensorScope scope = TensorScope.open()) {
                        BufferedImage img = f == 0 ? images.get(i) : flipped(images.get(i));
                        Tensor x = Images.fromImage(img, be);                      // [1, 3, H, W]
                        LatentDistribution d = vae.encode(x);
                        Tensor z = Ops.scale(d.mode(), vae.scalingFactor());       // [1, 4, H/f, W/f]
                        out[i][f] = z.toFloatArray();
                    }
                }
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** Masks at latent resolution (bilinear), gray level in [0, 1] normalised by its maximum (method §2.3). */
    private float[][][] maskLatents(List<BufferedImage> maskImages) {
        int h = latentSide;
        float[][][] out = new float[maskImages.size()][2][];
        for (int i = 0; i < maskImages.size(); i++) {
            BufferedImage small = new BufferedImage(h, h, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = small.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(maskImages.get(i), 0, 0, h, h, null);
            g.dispose();
            float[] m = new float[h * h];
            float max = 0;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < h; x++) {
                    int rgb = small.getRGB(x, y);
                    float v = (((rgb >> 16) & 0xff) + ((rgb >> 8) & 0xff) + (rgb & 0xff)) / (3f * 255f);
                    m[y * h + x] = v;
                    max = Math.max(max, v);
                }
            }
            if (max <= 0) {
                throw new IllegalArgumentException("mask for " + imageFiles.get(i) + " is all black: nothing would be learned");
            }
            float[] fl = new float[h * h];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < h; x++) {
                    m[y * h + x] /= max;
                }
            }
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < h; x++) {
                    fl[y * h + (h - 1 - x)] = m[y * h + x];
                }
            }
            out[i][0] = m;
            out[i][1] = fl;
        }
        return out;
    }

    /** JSON of the settings, for concept files. */
    static String settingsJson(TrainConfig cfg) {
        return JsonWriter.write(cfg.settings());
    }
    /** The super-class word's row of the frozen token-embedding table: v*'s initial value. */
    private float[] superEmbedding() {
        int superId = tok.tokenId(tok.tokenize(cfg.superclass()).get(0));
        Tensor w = te.tokenEmbedding().weight().value();                           // [V, D]
        float[] all = w.toFloatArray();
        float[] row = new float[dim];
        System.arraycopy(all, superId * dim, row, 0, dim);
        return row;
    }

    /** The settings that must match for a resume: all but the step count. */
    static String comparableSettings(TrainConfig cfg) {
        java.util.Map<String, Object> m = cfg.settings();
        m.remove("steps");
        return JsonWriter.write(m);
    }
}
