package dev.perfusion.toy;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.clip.CLIPTextConfig;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.io.JsonWriter;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.nn.Module;
import dev.perfusion.nn.Parameter;
import dev.perfusion.optim.AdamW;
import dev.perfusion.schedulers.DDPMScheduler;
import dev.perfusion.schedulers.SchedulerConfig;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.unet.UNet2DConditionConfig;
import dev.perfusion.unet.UNet2DConditionModel;
import dev.perfusion.vae.AutoencoderKL;
import dev.perfusion.vae.AutoencoderKLConfig;
import dev.perfusion.vae.LatentDistribution;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Trains the toy world's base model from scratch (issue 7) with the library's own autograd and AdamW, in two stages,
 * and writes it as a diffusers-layout folder that {@code StableDiffusionPipeline.load} reads.
 *
 * <ol>
 *   <li><b>VAE</b>: {@link AutoencoderKL} on rendered training scenes, loss ‖D(z) − x‖² + λ_KL·KL(q(z|x) ‖ N(0, I)),
 *       z = μ + σ·ε (the reparameterised draw). The latent scaling factor is then measured as 1 / std of the
 *       latent means over 1,024 scenes, as SD's 0.18215 was.</li>
 *   <li><b>Denoiser</b>: the scenes' latents are encoded once (the VAE is frozen); the UNet and the text encoder are
 *       trained together on the ε-prediction loss ‖ε_θ(√ᾱ_t·z₀ + √(1−ᾱ_t)·ε, t, E(c)) − ε‖² (DDPM, Ho et al. 2020,
 *       eq. 14), t uniform over the 1,000 training steps, with the caption dropped (empty prompt) with probability
 *       {@code captionDropout} so classifier-free guidance works. Linear warm-up, cosine decay, and an exponential
 *       moving average of the weights (the EMA is what is saved).</li>
 * </ol>
 *
 * <p>Continuing a run: {@code initFrom} starts the denoiser from another toy model's weights (with
 * {@link ToyTrainSettings#unetSteps()} 0 they are copied unchanged), and {@code decoderSteps} continues only the VAE's
 * decoder ({@link #fineTuneDecoder}): the encoder, and so the latent space the denoiser was trained in, stays as it
 * is, which lets a sharper decoder replace the old one under an already trained denoiser.
 *
 * <p>Everything is a function of {@link ToyTrainSettings#seed()}: scenes are drawn by seed from
 * {@link ToyDataset#trainingScene}, noise and timesteps from a seeded generator.
 */
public final class ToyBaseTrainer {
    private final Backend backend;
    private final ToyTrainSettings settings;
    private final ToyTrainListener listener;

    public ToyBaseTrainer(Backend backend, ToyTrainSettings settings, ToyTrainListener listener) {
        this.backend = backend;
        this.settings = settings;
        this.listener = listener == null ? new ToyTrainListener() { } : listener;
    }

    /**
     * Runs both stages and writes the model folder {@code output} atomically (built beside it, then moved into
     * place; an existing folder is an error). With {@code existingVae} non-null the VAE stage is skipped and that
     * {@code vae/} folder is used.
     */
    public void train(Path output, Path existingVae) throws IOException {
        train(output, existingVae, null);
    }

    /**
     * As {@link #train(Path, Path)}, with the denoiser starting from the UNet and text encoder of the model folder
     * {@code initFrom} instead of a random initialisation (to continue a run with more steps); null for a fresh start.
     * Its weights must match the toy configuration (strict loading).
     */
    public void train(Path output, Path existingVae, Path initFrom) throws IOException {
        train(output, existingVae, initFrom, 0);
    }

    /**
     * As {@link #train(Path, Path, Path)}, with the decoder of {@code existingVae} then trained {@code decoderSteps}
     * more steps ({@link #fineTuneDecoder}) before it is written.
     *
     * @throws IllegalArgumentException when the output exists, {@code decoderSteps} is negative or positive without
     *                                  an {@code existingVae}, or {@code unetSteps} is 0 without {@code initFrom}
     */
    public void train(Path output, Path existingVae, Path initFrom, int decoderSteps) throws IOException {
        if (decoderSteps < 0 || (decoderSteps > 0 && existingVae == null)) {
            throw new IllegalArgumentException("decoder steps continue a trained VAE: need an existing vae/ folder and"
                    + " a count >= 0, got " + decoderSteps + (existingVae == null ? " without one" : ""));
        }
        if (settings.unetSteps() == 0 && initFrom == null) {
            throw new IllegalArgumentException("0 denoiser steps keeps the UNet and text encoder of the model to"
                    + " continue from: give one (--init)");
        }
        if (Files.exists(output)) {
            throw new IllegalArgumentException("output folder " + output + " already exists; choose a new one");
        }
        Path parent = output.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, output.getFileName() + ".partial-");
        try {
            Path vaeDir = tmp.resolve("vae");
            if (existingVae != null && decoderSteps > 0) {
                try (AutoencoderKL vae = AutoencoderKL.load(existingVae, backend)) {
                    fineTuneDecoder(vae, decoderSteps);
                    saveModule(vae, vaeDir, "diffusion_pytorch_model.safetensors",
                            ToyModelConfigs.vae(vae.scalingFactor()));
                }
                // the encoder and its latent scaling are unchanged: keep the config byte for byte (the
                // model reads the scaling factor as a float, which would round the stored double)
                Files.copy(existingVae.resolve("config.json"), vaeDir.resolve("config.json"),
                        StandardCopyOption.REPLACE_EXISTING);
            } else if (existingVae != null) {
                copyFolder(existingVae, vaeDir);
            } else {
                try (AutoencoderKL vae = trainVae()) {
                    double scaling = measureScalingFactor(vae);
                    listener.onMessage(String.format(java.util.Locale.ROOT, "latent scaling factor %.5f", scaling));
                    saveModule(vae, vaeDir, "diffusion_pytorch_model.safetensors", ToyModelConfigs.vae(scaling));
                }
            }
            ToyVocabulary.write(tmp.resolve("tokenizer"));
            String schedulerJson = schedulerConfig(initFrom);
            Files.createDirectories(tmp.resolve("scheduler"));
            Files.writeString(tmp.resolve("scheduler").resolve("scheduler_config.json"), schedulerJson.strip() + "\n",
                    StandardCharsets.UTF_8);
            writeJson(tmp.resolve("model_index.json"), ToyModelConfigs.modelIndex());
            trainDenoiser(tmp, initFrom, SchedulerConfig.fromJson(schedulerJson));
            Files.move(tmp, output, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            deleteFolder(tmp);
            throw e;
        }
    }

    /** Stage 1: the VAE, trained for {@code vaeSteps} steps of {@code vaeBatch} fresh scenes. */
    public AutoencoderKL trainVae() {
        ToyTrainSettings s = settings;
        AutoencoderKL vae = new AutoencoderKL(backend, AutoencoderKLConfig.from(config(ToyModelConfigs.vae(1.0), "vae")));
        vae.initialize(s.seed());
        vae.requiresGrad(true);
        AdamW opt = new AdamW(List.of(new AdamW.ParamGroup("vae", s.vaeLr(), vae.parameters())), 0.0);
        SplittableRandom rnd = new SplittableRandom(s.seed() ^ 0x7AE);
        int side = ToyWorld.SIZE;
        int b = s.vaeBatch();
        long start = System.nanoTime();
        long sceneSeed = 0;
        for (int step = 0; step < s.vaeSteps(); step++) {
            float[] x = new float[b * 3 * side * side];
            for (int i = 0; i < b; i++, sceneSeed++) {
                float[] img = ToyRenderer.toCHW(ToyRenderer.render(ToyDataset.trainingScene(sceneSeed)));
                System.arraycopy(img, 0, x, i * img.length, img.length);
            }
            opt.setLearningRateScale(schedule(step, s.vaeSteps(), s.warmupSteps()));
            double loss;
            try (TensorScope scope = TensorScope.open()) {
                Tensor img = backend.fromArray(x, Shape.of(b, 3, side, side));           // [B, 3, 32, 32]
                LatentDistribution q = vae.encode(img);
                Shape zs = q.mean().shape();                                            // [B, 4, 8, 8]
                Tensor eps = backend.fromArray(HostRandom.normal(rnd.nextLong(), zs.numelInt()), zs); // [B, 4, 8, 8]
                Tensor z = q.sample(eps);                                               // [B, 4, 8, 8]
                Tensor rec = vae.decode(z);                                             // [B, 3, 32, 32]
                Tensor mse = Ops.mseLoss(rec, img);                                     // []
                // KL(N(μ, σ²) ‖ N(0, 1)) per latent element = ½(μ² + σ² − 1 − log σ²), averaged
                Tensor klTerms = Ops.sub(Ops.add(Ops.square(q.mean()), Ops.exp(q.logvar())),
                        Ops.affine(q.logvar(), 1f, 1f));                                // [B, 4, 8, 8]
                Tensor kl = Ops.scale(Ops.mean(klTerms, new int[] {0, 1, 2, 3}, false), 0.5f); // []
                Tensor total = Ops.add(mse, Ops.scale(kl, (float) s.klWeight()));       // []
                loss = total.toFloatArray()[0];
                checkFinite("VAE", step, loss);
                Autograd.backward(total);
            }
            opt.step();
            opt.zeroGrad();
            listener.onStep("vae", step + 1, s.vaeSteps(), loss, (System.nanoTime() - start) / 1e9 / (step + 1));
        }
        vae.requiresGrad(false);
        return vae;
    }

    /**
     * Trains only the decoder side ({@code decoder.*}, {@code post_quant_conv.*}) of a trained VAE for {@code steps}
     * steps of {@code vaeBatch} fresh scenes (drawn after the first stage's), the encoder frozen. The loss is the
     * squared error of D(z) with z = μ + σ·ε from the frozen encoder, each pixel weighted
     * 1 + {@value #OBJECT_PIXEL_WEIGHT}·[the clean render shows an object there]: a small object covers 3 % of the
     * image, so plain MSE lets the decoder blur its corners (a small square reads as a circle); the weight spends
     * the decoder's capacity where the checker looks. Warm-up and cosine decay as in stage 1.
     */
    public void fineTuneDecoder(AutoencoderKL vae, int steps) {
        ToyTrainSettings s = settings;
        List<Parameter> params = new ArrayList<>();
        vae.namedParameters().forEach((name, p) -> {
            if (name.startsWith("decoder.") || name.startsWith("post_quant_conv.")) {
                params.add(p);
            }
        });
        vae.requiresGrad(false);
        for (Parameter p : params) {
            p.requiresGrad(true);
        }
        AdamW opt = new AdamW(List.of(new AdamW.ParamGroup("decoder", s.vaeLr(), params)), 0.0);
        SplittableRandom rnd = new SplittableRandom(s.seed() ^ 0xDEC0DE);
        int side = ToyWorld.SIZE;
        int hw = side * side;
        int b = s.vaeBatch();
        long start = System.nanoTime();
        // past stage 1's scenes (vaeSteps × vaeBatch of them), so the decoder sees new ones
        long sceneSeed = (long) s.vaeSteps() * s.vaeBatch();
        for (int step = 0; step < steps; step++) {
            float[] x = new float[b * 3 * hw];
            float[] w = new float[b * 3 * hw];
            for (int i = 0; i < b; i++, sceneSeed++) {
                Scene scene = ToyDataset.trainingScene(sceneSeed);
                int[] rgb = ToyRenderer.render(scene);
                float[] img = ToyRenderer.toCHW(rgb);
                System.arraycopy(img, 0, x, i * img.length, img.length);
                int bg = scene.background().rgb();
                for (int p = 0; p < hw; p++) {
                    float weight = rgb[p] == bg ? 1f : 1f + OBJECT_PIXEL_WEIGHT;
                    for (int c = 0; c < 3; c++) {
                        w[(i * 3 + c) * hw + p] = weight;
                    }
                }
            }
            opt.setLearningRateScale(schedule(step, steps, Math.min(s.warmupSteps(), steps)));
            double loss;
            try (TensorScope scope = TensorScope.open()) {
                Shape xs = Shape.of(b, 3, side, side);
                Tensor img = backend.fromArray(x, xs);                                   // [B, 3, 32, 32]
                Tensor weights = backend.fromArray(w, xs);                               // [B, 3, 32, 32]
                Tensor z;
                try (AutoCloseable ng = Autograd.noGrad()) {
                    LatentDistribution q = vae.encode(img);
                    Shape zs = q.mean().shape();                                        // [B, 4, 8, 8]
                    Tensor eps = backend.fromArray(HostRandom.normal(rnd.nextLong(), zs.numelInt()), zs);
                    z = q.sample(eps);                                                  // [B, 4, 8, 8]
                }
                Tensor rec = vae.decode(z);                                             // [B, 3, 32, 32]
                Tensor err = Ops.mul(Ops.square(Ops.sub(rec, img)), weights);            // [B, 3, 32, 32]
                Tensor total = Ops.mean(err, new int[] {0, 1, 2, 3}, false);            // []
                loss = total.toFloatArray()[0];
                checkFinite("decoder", step, loss);
                Autograd.backward(total);
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            opt.step();
            opt.zeroGrad();
            listener.onStep("decoder", step + 1, steps, loss, (System.nanoTime() - start) / 1e9 / (step + 1));
        }
        vae.requiresGrad(false);
    }

    /** Extra loss weight of object pixels in {@link #fineTuneDecoder}. */
    public static final float OBJECT_PIXEL_WEIGHT = 4f;

    /** 1 / std of the VAE's latent means over 1,024 training scenes. */
    public double measureScalingFactor(AutoencoderKL vae) {
        int n = 1024;
        int chunk = 64;
        double sum = 0;
        double sumSq = 0;
        long count = 0;
        for (int start = 0; start < n; start += chunk) {
            float[] z = encodeMeans(vae, start, chunk);
            for (float v : z) {
                sum += v;
                sumSq += (double) v * v;
            }
            count += z.length;
        }
        double mean = sum / count;
        return 1.0 / Math.sqrt(sumSq / count - mean * mean);
    }

    /** Latent means μ of training scenes {@code first .. first+count−1}, [count, 4, 8, 8] flattened. */
    private float[] encodeMeans(AutoencoderKL vae, long first, int count) {
        int side = ToyWorld.SIZE;
        float[] x = new float[count * 3 * side * side];
        for (int i = 0; i < count; i++) {
            float[] img = ToyRenderer.toCHW(ToyRenderer.render(ToyDataset.trainingScene(first + i)));
            System.arraycopy(img, 0, x, i * img.length, img.length);
        }
        try (AutoCloseable ng = Autograd.noGrad(); TensorScope scope = TensorScope.open()) {
            Tensor img = backend.fromArray(x, Shape.of(count, 3, side, side));          // [N, 3, 32, 32]
            try (LatentDistribution q = vae.encode(img)) {
                return q.mean().toFloatArray();                                         // [N, 4, 8, 8]
            }
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    /** Stage 2: UNet and text encoder on the latents of {@code latentScenes} scenes; writes both into {@code dir}. */
    private void trainDenoiser(Path dir, Path initFrom, SchedulerConfig schedulerConfig) throws IOException {
        ToyTrainSettings s = settings;
        if (s.unetSteps() == 0) {
            copyModule(initFrom.resolve("text_encoder"), dir.resolve("text_encoder"), "model.safetensors");
            copyModule(initFrom.resolve("unet"), dir.resolve("unet"), "diffusion_pytorch_model.safetensors");
            listener.onMessage("denoiser copied unchanged from " + initFrom);
            return;
        }
        CLIPTokenizer tok = CLIPTokenizer.fromFolder(dir.resolve("tokenizer"));
        int vocab = tok.vocabSize();
        Map<String, Object> textCfg = ToyModelConfigs.textEncoder(vocab);
        int ctx = CLIPTokenizer.CONTEXT_LENGTH;
        int n = s.latentScenes();
        float[] latents;
        float scaling;
        int[][] ids = new int[n][];
        try (AutoencoderKL vae = AutoencoderKL.load(dir.resolve("vae"), backend)) {
            scaling = vae.scalingFactor();
            latents = new float[n * 4 * 8 * 8];
            int chunk = 64;
            for (int start = 0; start < n; start += chunk) {
                int c = Math.min(chunk, n - start);
                float[] z = encodeMeans(vae, start, c);
                for (int i = 0; i < z.length; i++) {
                    latents[start * 256 + i] = z[i] * scaling;
                }
                listener.onStep("encode", Math.min(n, start + chunk), n, Double.NaN, Double.NaN);
            }
        }
        for (int i = 0; i < n; i++) {
            ids[i] = tok.encode(ToyDataset.trainingScene(i).caption());
        }
        int[] empty = tok.encode("");
        // a continued run keeps the architecture of the model it continues (an older toy UNet may differ from
        // ToyModelConfigs.unet()); a fresh run uses the current one
        String unetJson = initFrom == null ? JsonWriter.write(ToyModelConfigs.unet())
                : readConfig(initFrom.resolve("unet").resolve("config.json"));
        try (CLIPTextModel text = new CLIPTextModel(backend, CLIPTextConfig.from(config(textCfg, "text_encoder")));
             UNet2DConditionModel unet = new UNet2DConditionModel(backend,
                     UNet2DConditionConfig.from(DiffusersConfig.parse(unetJson, "toy unet config")))) {
            text.initialize(s.seed() + 1);
            unet.initialize(s.seed() + 2);
            if (initFrom != null) {
                loadWeights(text, initFrom.resolve("text_encoder").resolve("model.safetensors"));
                loadWeights(unet, initFrom.resolve("unet").resolve("diffusion_pytorch_model.safetensors"));
                listener.onMessage("denoiser starts from " + initFrom);
            }
            text.requiresGrad(true);
            unet.requiresGrad(true);
            List<Parameter> params = new ArrayList<>(unet.parameters());
            params.addAll(text.parameters());
            AdamW opt = new AdamW(List.of(new AdamW.ParamGroup("denoiser", s.unetLr(), params)), s.weightDecay());
            ExponentialMovingAverage ema = new ExponentialMovingAverage(params, s.emaDecay());
            DDPMScheduler ddpm = new DDPMScheduler(schedulerConfig);
            int numTrain = ddpm.noiseSchedule().numTrainTimesteps();
            SplittableRandom rnd = new SplittableRandom(s.seed() ^ 0xD1FF);
            int b = s.unetBatch();
            int plane = 4 * 8 * 8;
            long start = System.nanoTime();
            for (int step = 0; step < s.unetSteps(); step++) {
                float[] z0 = new float[b * plane];
                long[] tok77 = new long[b * ctx];
                int[] ts = new int[b];
                long[] tl = new long[b];
                for (int i = 0; i < b; i++) {
                    int k = rnd.nextInt(n);
                    System.arraycopy(latents, k * plane, z0, i * plane, plane);
                    int[] p = rnd.nextDouble() < s.captionDropout() ? empty : ids[k];
                    for (int j = 0; j < ctx; j++) {
                        tok77[i * ctx + j] = p[j];
                    }
                    ts[i] = rnd.nextInt(numTrain);
                    tl[i] = ts[i];
                }
                float[] noise = HostRandom.normal(rnd.nextLong(), b * plane);
                opt.setLearningRateScale(schedule(step, s.unetSteps(), s.warmupSteps()));
                double loss;
                try (TensorScope scope = TensorScope.open()) {
                    Shape ls = Shape.of(b, 4, 8, 8);
                    Tensor x0 = backend.fromArray(z0, ls);                                  // [B, 4, 8, 8]
                    Tensor eps = backend.fromArray(noise, ls);                              // [B, 4, 8, 8]
                    Tensor zt = ddpm.addNoise(x0, eps, ts);                                 // [B, 4, 8, 8]
                    Tensor target = ddpm.trainingTarget(x0, eps, ts);                       // [B, 4, 8, 8]
                    Tensor idT = backend.fromArray(tok77, Shape.of(b, ctx));                // [B, 77]
                    Tensor e = text.forward(idT).lastHiddenState();                         // [B, 77, 64]
                    Tensor tT = backend.fromArray(tl, Shape.of(b));                         // [B]
                    Tensor pred = unet.forward(zt, tT, e);                                  // [B, 4, 8, 8]
                    Tensor l = Ops.mseLoss(pred, target);                                   // []
                    loss = l.toFloatArray()[0];
                    checkFinite("denoiser", step, loss);
                    Autograd.backward(l);
                }
                opt.step();
                opt.zeroGrad();
                ema.update();
                listener.onStep("denoiser", step + 1, s.unetSteps(), loss,
                        (System.nanoTime() - start) / 1e9 / (step + 1));
            }
            ema.copyInto();
            text.requiresGrad(false);
            unet.requiresGrad(false);
            saveModule(text, dir.resolve("text_encoder"), "model.safetensors", textCfg);
            Path unetDir = dir.resolve("unet");
            Files.createDirectories(unetDir);
            Files.writeString(unetDir.resolve("config.json"), unetJson.strip() + "\n", StandardCharsets.UTF_8);
            SafeTensors.write(unetDir.resolve("diffusion_pytorch_model.safetensors"), unet.stateDict(),
                    Map.of("format", "pt"));
        }
    }

    /**
     * The noise schedule and prediction type of this run: {@link ToyModelConfigs#zeroTerminalSnrScheduler()} when
     * the settings ask for zero terminal SNR, else the continued model's own (so its denoiser keeps the target it
     * was trained on), else {@link ToyModelConfigs#scheduler()}.
     */
    private String schedulerConfig(Path initFrom) throws IOException {
        if (settings.zeroTerminalSnr()) {
            return JsonWriter.write(ToyModelConfigs.zeroTerminalSnrScheduler());
        }
        return initFrom == null ? JsonWriter.write(ToyModelConfigs.scheduler())
                : readConfig(initFrom.resolve("scheduler").resolve("scheduler_config.json"));
    }

    /** The text of a model's config.json, which must exist. */
    private static String readConfig(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("cannot continue from " + file.getParent().getParent() + ": no "
                    + file.getParent().getFileName() + "/" + file.getFileName());
        }
        return Files.readString(file, StandardCharsets.UTF_8);
    }

    /** Strictly loads a module's weights from a safetensors file. */
    private void loadWeights(Module m, Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("cannot continue from " + file + ": no such file");
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, Tensor> state = new java.util.LinkedHashMap<>();
            for (String name : st.names()) {
                state.put(name, st.tensor(name, backend));
            }
            m.loadStateDict(state, true);
        }
    }

    /** Linear warm-up over {@code warmup} steps, then cosine decay to 10 % of the base rate. */
    static double schedule(int step, int steps, int warmup) {
        if (step < warmup) {
            return (step + 1.0) / warmup;
        }
        double progress = (step - warmup) / (double) Math.max(1, steps - warmup);
        return 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress));
    }

    private static void checkFinite(String stage, int step, double loss) {
        if (!Double.isFinite(loss)) {
            throw new IllegalStateException("toy " + stage + " training diverged: loss " + loss + " at step " + (step + 1)
                    + " (lower the learning rate)");
        }
    }

    private static DiffusersConfig config(Map<String, Object> m, String what) {
        return DiffusersConfig.parse(JsonWriter.write(m), "toy " + what + " config");
    }

    /** Writes {@code config.json} and the module's weights (float32) into {@code dir}. */
    static void saveModule(Module m, Path dir, String weightsFile, Map<String, Object> config) throws IOException {
        Files.createDirectories(dir);
        writeJson(dir.resolve("config.json"), config);
        SafeTensors.write(dir.resolve(weightsFile), m.stateDict(), Map.of("format", "pt"));
    }

    static void writeJson(Path file, Map<String, Object> value) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, JsonWriter.write(value) + "\n", StandardCharsets.UTF_8);
    }

    /** Copies a module folder's config and weights, checking that both are there. */
    private static void copyModule(Path from, Path to, String weightsFile) throws IOException {
        for (String f : List.of("config.json", weightsFile)) {
            if (!Files.isRegularFile(from.resolve(f))) {
                throw new IllegalArgumentException("cannot continue from " + from + ": no " + f);
            }
        }
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        Files.copy(from.resolve(weightsFile), to.resolve(weightsFile));
    }

    private static void copyFolder(Path from, Path to) throws IOException {
        if (!Files.isRegularFile(from.resolve("config.json"))) {
            throw new IllegalArgumentException("--vae folder " + from + " has no config.json");
        }
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (Files.isRegularFile(f) && (name.equals("config.json") || name.endsWith(".safetensors"))) {
                    Files.copy(f, to.resolve(name));
                }
            }
        }
    }

    private static void deleteFolder(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // best effort: the partial folder carries ".partial-" in its name
        }
    }
}
