package dev.perfusion.pipeline;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.clip.CLIPTextConfig;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTextOutput;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.io.SingleFileCheckpoint;
import dev.perfusion.nn.WeightStorage;
import dev.perfusion.schedulers.NoiseSchedule;
import dev.perfusion.schedulers.SamplingRun;
import dev.perfusion.schedulers.Scheduler;
import dev.perfusion.schedulers.SchedulerConfig;
import dev.perfusion.schedulers.Schedulers;
import dev.perfusion.schedulers.StepOutput;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.unet.UNet2DConditionConfig;
import dev.perfusion.unet.UNet2DConditionModel;
import dev.perfusion.vae.AutoencoderKL;
import dev.perfusion.vae.AutoencoderKLConfig;
import dev.perfusion.vae.LatentDistribution;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Text-to-image (and image-to-image) with Stable Diffusion v1.x, as diffusers' {@code StableDiffusionPipeline}
 * computes it: CLIP text encoding, classifier-free guidance with the batch ordered [unconditional…, text…], a
 * sampler loop, and VAE decoding of latents / 0.18215.
 *
 * <p>Notation: B images, h × w latent size (image size / f, f the VAE's downsample factor 2^(levels − 1): 8 for SD,
 * 4 for a 3-level VAE), g the guidance scale, ε the UNet's noise prediction.
 *
 * <p>The pipeline owns its models; {@link #close()} frees them. One generation runs at a time per pipeline
 * (the models are shared state of the backend, not thread-safe).
 */
public final class StableDiffusionPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StableDiffusionPipeline.class);
    private static final Map<String, String> SAMPLER_OF_CLASS = Map.of(
            "PNDMScheduler", "pndm", "DDIMScheduler", "ddim", "DDPMScheduler", "ddpm",
            "EulerDiscreteScheduler", "euler", "EulerAncestralDiscreteScheduler", "euler_a",
            "DPMSolverMultistepScheduler", "dpmpp_2m");

    private final Backend backend;
    private final CLIPTokenizer tokenizer;
    private final CLIPTextModel textEncoder;
    private final UNet2DConditionModel unet;
    private final AutoencoderKL vae;
    private final SchedulerConfig schedulerConfig;
    private final String defaultSampler;
    private final String modelName;

    /** Assembles a pipeline from loaded parts; it takes ownership of the models. */
    public StableDiffusionPipeline(Backend backend, CLIPTokenizer tokenizer, CLIPTextModel textEncoder,
                                   UNet2DConditionModel unet, AutoencoderKL vae, SchedulerConfig schedulerConfig,
                                   String defaultSampler, String modelName) {
        this.backend = backend;
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.unet = unet;
        this.vae = vae;
        this.schedulerConfig = schedulerConfig;
        this.defaultSampler = defaultSampler;
        this.modelName = modelName;
    }

    /**
     * Loads Stable Diffusion v1.x from a diffusers folder ({@code model_index.json}, {@code text_encoder/},
     * {@code tokenizer/}, {@code unet/}, {@code vae/}, {@code scheduler/}) or from a single-file original/LDM
     * {@code .safetensors} checkpoint (see {@link #loadSingleFile}).
     *
     * @throws IllegalArgumentException naming the missing or malformed part
     */
    public static StableDiffusionPipeline load(Path modelDir, Backend backend) throws IOException {
        if (Files.isRegularFile(modelDir)) {
            return loadSingleFile(modelDir, backend, 0);
        }
        if (!Files.isDirectory(modelDir)) {
            throw new IllegalArgumentException("model " + modelDir + " does not exist");
        }
        Path index = modelDir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            throw new IllegalArgumentException(modelDir + " has no model_index.json: not a diffusers pipeline folder");
        }
        for (String part : List.of("text_encoder", "tokenizer", "unet", "vae", "scheduler")) {
            if (!Files.isDirectory(modelDir.resolve(part))) {
                throw new IllegalArgumentException(modelDir + " lacks the '" + part + "' folder that a Stable Diffusion pipeline needs");
            }
        }
        String sampler = defaultSamplerOf(DiffusersConfig.read(index));
        long start = System.nanoTime();
        CLIPTokenizer tokenizer = CLIPTokenizer.fromFolder(modelDir.resolve("tokenizer"));
        SchedulerConfig sc = SchedulerConfig.load(modelDir.resolve("scheduler").resolve("scheduler_config.json"));
        CLIPTextModel text = null;
        UNet2DConditionModel unet = null;
        try {
            text = CLIPTextModel.load(modelDir.resolve("text_encoder"), backend);
            unet = UNet2DConditionModel.load(modelDir.resolve("unet"), backend);
            AutoencoderKL vae = AutoencoderKL.load(modelDir.resolve("vae"), backend);
            LOG.info("loaded {} in {} ms (default sampler {})", modelDir, (System.nanoTime() - start) / 1_000_000, sampler);
            return new StableDiffusionPipeline(backend, tokenizer, text, unet, vae, sc, sampler,
                    String.valueOf(modelDir.toAbsolutePath().normalize().getFileName()));
        } catch (IOException | RuntimeException e) {
            if (text != null) {
                text.close();
            }
            if (unet != null) {
                unet.close();
            }
            throw e;
        }
    }

    /**
     * Loads a single-file original/LDM SD v1.x checkpoint ({@code model.diffusion_model.…},
     * {@code cond_stage_model.transformer.…}, {@code first_stage_model.…}): keys are mapped by
     * {@link SingleFileCheckpoint}, configs are detected from tensor shapes, the tokenizer is CLIP's bundled
     * vocabulary and the scheduler SD v1.5's (PNDM, scaled-linear β 0.00085→0.012).
     *
     * @param textEncoderHeads the text encoder's attention heads, or 0 to take width/64 (12 for SD v1.x)
     */
    public static StableDiffusionPipeline loadSingleFile(Path file, Backend backend, int textEncoderHeads)
            throws IOException {
        long start = System.nanoTime();
        CLIPTextModel text = null;
        UNet2DConditionModel unet = null;
        AutoencoderKL vae = null;
        try (SingleFileCheckpoint ckpt = textEncoderHeads > 0 ? SingleFileCheckpoint.open(file, textEncoderHeads)
                : SingleFileCheckpoint.open(file)) {
            text = new CLIPTextModel(backend, CLIPTextConfig.from(ckpt.textEncoderConfig()));
            text.loadStateDict(ckpt.textEncoder(backend), true, WeightStorage.AS_STORED);
            unet = new UNet2DConditionModel(backend, UNet2DConditionConfig.from(ckpt.unetConfig()));
            unet.loadStateDict(ckpt.unet(backend), true, WeightStorage.AS_STORED);
            vae = new AutoencoderKL(backend, AutoencoderKLConfig.from(ckpt.vaeConfig()));
            vae.loadStateDict(ckpt.vae(backend), true, WeightStorage.AS_STORED);
        } catch (IOException | RuntimeException e) {
            for (AutoCloseable m : new AutoCloseable[] {text, unet, vae}) {
                if (m != null) {
                    try {
                        m.close();
                    } catch (Exception suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
            }
            if (e instanceof dev.perfusion.nn.StateDictException) {
                throw new IllegalArgumentException("cannot load " + file + ": " + e.getMessage(), e);
            }
            throw e;
        }
        LOG.info("loaded single-file checkpoint {} in {} ms", file, (System.nanoTime() - start) / 1_000_000);
        String name = String.valueOf(file.getFileName()).replaceFirst("\\.safetensors$", "");
        return new StableDiffusionPipeline(backend, CLIPTokenizer.bundled(), text, unet, vae, SchedulerConfig.sd15(),
                "pndm", name);
    }

    private static String defaultSamplerOf(DiffusersConfig index) {
        Object s = index.raw("scheduler");
        if (s instanceof List<?> l && l.size() == 2 && l.get(1) instanceof String cls) {
            String name = SAMPLER_OF_CLASS.get(cls);
            if (name != null) {
                return name;
            }
            LOG.warn("{}: scheduler class {} is not implemented; using pndm unless a sampler is chosen", index.source(), cls);
        }
        return "pndm";
    }

    public Backend backend() {
        return backend;
    }

    public CLIPTokenizer tokenizer() {
        return tokenizer;
    }

    public CLIPTextModel textEncoder() {
        return textEncoder;
    }

    public UNet2DConditionModel unet() {
        return unet;
    }

    public AutoencoderKL vae() {
        return vae;
    }

    public SchedulerConfig schedulerConfig() {
        return schedulerConfig;
    }

    /** The sampler used when a request names none (from the model's scheduler class). */
    public String defaultSampler() {
        return defaultSampler;
    }

    /** Token ids [B, 77] (INT64) of the prompts: BOS, ≤ 75 tokens, EOS, EOS padding. */
    public Tensor tokenize(List<String> prompts) {
        long[] ids = new long[prompts.size() * CLIPTokenizer.CONTEXT_LENGTH];
        for (int b = 0; b < prompts.size(); b++) {
            int[] one = tokenizer.encode(prompts.get(b));
            for (int i = 0; i < one.length; i++) {
                ids[b * CLIPTokenizer.CONTEXT_LENGTH + i] = one[i];
            }
        }
        return backend.fromArray(ids, Shape.of(prompts.size(), CLIPTokenizer.CONTEXT_LENGTH)); // [B, 77]
    }

    /** The text conditioning of the prompts: CLIP's last_hidden_state [B, 77, D]. */
    public Tensor encodePrompts(List<String> prompts) {
        Tensor ids = tokenize(prompts);                         // [B, 77]
        try (CLIPTextOutput out = textEncoder.forward(ids)) {
            return Ops.detach(out.lastHiddenState());           // [B, 77, D]
        } finally {
            ids.close();
        }
    }

    private Tensor encode(GenerationRequest req, List<String> prompts) {
        if (req.promptEncoder() == null) {
            return encodePrompts(prompts);                      // [B, 77, D]
        }
        Tensor t = req.promptEncoder().encode(prompts);         // [B, 77, D]
        int d = textEncoder.config().hiddenSize();
        if (t.rank() != 3 || t.dim(0) != prompts.size() || t.dim(1) != CLIPTokenizer.CONTEXT_LENGTH || t.dim(2) != d) {
            throw new IllegalArgumentException("the request's prompt encoder returned " + t.shape() + " for "
                    + prompts.size() + " prompts; expected [" + prompts.size() + ", " + CLIPTokenizer.CONTEXT_LENGTH
                    + ", " + d + "]");
        }
        return t;
    }

    /**
     * Generates images.
     *
     * @throws GenerationCancelledException when the listener cancels
     * @throws IllegalArgumentException     for a request this model cannot serve (a size that is not a multiple of the
     *                                      VAE's downsample factor, initial latents of the wrong shape)
     */
    public GenerationResult generate(GenerationRequest req) {
        long start = System.nanoTime();
        int f = latentFactor();
        checkMultiple("width", req.width(), f);
        checkMultiple("height", req.height(), f);
        String samplerName = req.sampler() != null ? req.sampler() : defaultSampler;
        Scheduler scheduler = Schedulers.create(samplerName, schedulerConfig);
        int b = req.batchSize();
        int h = req.height() / f;
        int w = req.width() / f;
        Shape latentShape = Shape.of(b, unet.config().inChannels(), h, w);
        List<BufferedImage> images;
        try (AutoCloseable ng = Autograd.noGrad(); TensorScope scope = TensorScope.open();
             SamplingRun run = scheduler.newRun(req.steps())) {
            boolean cfg = req.doClassifierFreeGuidance();
            List<String> textPrompts = repeat(req.prompts(), req.imagesPerPrompt());
            Tensor text = encode(req, textPrompts);                                            // [B, 77, D]
            Tensor context = text;
            List<String> batchPrompts = textPrompts;
            if (cfg) {
                List<String> neg = repeat(req.negativePrompts().isEmpty()
                        ? Collections.nCopies(req.prompts().size(), "") : req.negativePrompts(), req.imagesPerPrompt());
                Tensor uncond = encode(req, neg);                                              // [B, 77, D]
                context = Ops.concat(List.of(uncond, text), 0);                               // [2B, 77, D]
                batchPrompts = new ArrayList<>(neg);
                batchPrompts.addAll(textPrompts);
            }
            int first = 0;
            Tensor latents;
            if (req.initImage() != null) {
                // diffusers' img2img: run the last ⌊steps·strength⌋ steps of the schedule
                int initSteps = Math.min((int) (req.steps() * req.strength()), req.steps());
                first = Math.min(Math.max(req.steps() - initSteps, 0), run.size() - 1);
                latents = img2imgStart(req, run, first, latentShape);                           // [B, 4, h, w]
            } else {
                Tensor x = req.initialLatents() != null ? checkLatents(req.initialLatents(), latentShape)
                        : backend.randn(latentShape, req.seed());                              // [B, 4, h, w]
                latents = backend.affine(x, run.initNoiseSigma(), 0f);                        // [B, 4, h, w]
            }
            latents = TensorScope.detach(latents);
            AutoCloseable hooked = null;
            try {
                if (req.hook() != null) {
                    hooked = req.hook().beforeDenoising(List.copyOf(batchPrompts), context);
                }
                for (int i = first; i < run.size(); i++) {
                    if (req.listener().isCancelled()) {
                        throw new GenerationCancelledException(i - first, run.size() - first);
                    }
                    Tensor next = denoiseStep(req, run, i, first, latents, context, cfg);
                    latents.close();
                    latents = next;
                }
                if (hooked != null) {
                    AutoCloseable h0 = hooked;
                    hooked = null; // closed once, before decoding (the VAE has no cross-attention)
                    h0.close();
                }
                Tensor scaled = backend.affine(latents, 1f / vae.scalingFactor(), 0f);         // [B, 4, h, w]
                Tensor decoded = vae.decode(scaled);                                            // [B, 3, f·h, f·w]
                images = Images.toImages(decoded);
            } finally {
                latents.close();
                if (hooked != null) {
                    hooked.close();
                }
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        LOG.info("generated {} image(s) {}×{} in {} steps with {} in {} ms", b, req.width(), req.height(), req.steps(),
                samplerName, millis);
        return new GenerationResult(images, req, samplerName, modelName, millis);
    }

    /** One sampler step; returns x_{t−1}, owned by the caller. */
    private Tensor denoiseStep(GenerationRequest req, SamplingRun run, int i, int first, Tensor latents, Tensor context,
                               boolean cfg) {
        try (TensorScope step = TensorScope.open()) {
            Tensor modelIn = cfg ? Ops.concat(List.of(latents, latents), 0) : latents;      // [2B or B, 4, h, w]
            Tensor scaled = run.scaleModelInput(modelIn, i);                               // [2B or B, 4, h, w]
            Tensor t = backend.fromArray(new float[] {run.timestep(i)}, Shape.of());       // []
            Tensor eps = unet.forward(scaled, t, context);                                 // [2B or B, 4, h, w]
            Tensor guided = eps;
            if (cfg) {
                int b = latents.dim(0);
                Tensor uncond = Ops.slice(eps, 0, 0, b);                                   // [B, 4, h, w]
                Tensor textEps = Ops.slice(eps, 0, b, 2 * b);                              // [B, 4, h, w]
                guided = Ops.add(uncond, Ops.scale(Ops.sub(textEps, uncond), req.guidanceScale())); // [B, 4, h, w]
            }
            Tensor noise = run.needsNoise(i) ? backend.randn(latents.shape(), stepSeed(req.seed(), i)) : null;
            StepOutput out = run.step(guided, i, latents, noise);
            Tensor next = TensorScope.detach(out.prevSample());                            // [B, 4, h, w]
            GenerationListener.StepEvent event = new GenerationListener.StepEvent(i - first, run.size() - first,
                    run.timestep(i), scaled, eps, guided, latents, next, () -> LatentPreview.of(next));
            req.listener().onStep(event);
            return next;
        }
    }

    /** img2img: x = the init image's latents noised to the first timestep that runs. */
    private Tensor img2imgStart(GenerationRequest req, SamplingRun run, int first, Shape latentShape) {
        Tensor image = Images.fromImage(req.initImage(), backend);                         // [1, 3, H, W]
        LatentDistribution dist = vae.encode(image);
        Tensor eps = backend.randn(dist.mean().shape(), stepSeed(req.seed(), -2));        // [1, 4, h, w]
        Tensor z = backend.affine(dist.sample(eps), vae.scalingFactor(), 0f);             // [1, 4, h, w]
        Tensor z0 = z.dim(0) == latentShape.dim(0) ? z : backend.expand(z, latentShape);  // [B, 4, h, w]
        Tensor noise = backend.randn(latentShape, req.seed());                             // [B, 4, h, w]
        float sigmaInit = run.initNoiseSigma();
        if (sigmaInit > 1f) {
            // σ-parameterised samplers (Euler): x = x0 + σ_t·n
            return Ops.add(z0, Ops.scale(noise, run.schedule().sigma(first)));
        }
        float alphaBar;
        if (run.schedule().hasSigmas()) {
            float s = run.schedule().sigma(first);
            alphaBar = 1f / (s * s + 1f); // σ² = (1 − ᾱ)/ᾱ
        } else {
            alphaBar = NoiseSchedule.of(schedulerConfig).alphaCumprod(Math.round(run.timestep(first)));
        }
        // x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·n (DDPM forward process)
        return Ops.add(Ops.scale(z0, (float) Math.sqrt(alphaBar)), Ops.scale(noise, (float) Math.sqrt(1 - alphaBar)));
    }

    private Tensor checkLatents(Tensor given, Shape expected) {
        if (!given.shape().equals(expected)) {
            throw new IllegalArgumentException("initial latents " + given.shape() + " do not match the request's "
                    + expected + " (batch, channels, height/" + latentFactor() + ", width/" + latentFactor() + ")");
        }
        return given;
    }

    /**
     * How much smaller the latents are than the images per side: the VAE's downsample factor 2^(levels − 1)
     * (8 for SD v1.x).
     */
    public int latentFactor() {
        return vae.config().downsampleFactor();
    }

    private static void checkMultiple(String what, int size, int factor) {
        if (size % factor != 0) {
            throw new IllegalArgumentException(what + " " + size + " is not a multiple of the VAE's downsample factor "
                    + factor);
        }
    }

    /** Seeds for per-step sampler noise, distinct from the initial noise's seed. */
    static long stepSeed(long seed, int step) {
        long z = seed + 0x9E3779B97F4A7C15L * (step + 3L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static List<String> repeat(List<String> prompts, int n) {
        List<String> out = new ArrayList<>(prompts.size() * n);
        for (String p : prompts) {
            for (int i = 0; i < n; i++) {
                out.add(p);
            }
        }
        return out;
    }

    @Override
    public void close() {
        textEncoder.close();
        unet.close();
        vae.close();
    }
}
