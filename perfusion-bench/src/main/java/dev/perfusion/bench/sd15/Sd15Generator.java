package dev.perfusion.bench.sd15;

import dev.perfusion.clip.CLIPTextConfig;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.nn.Init;
import dev.perfusion.nn.Module;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.tensor.DType;
import dev.perfusion.unet.UNet2DConditionConfig;
import dev.perfusion.unet.UNet2DConditionModel;
import dev.perfusion.vae.AutoencoderKL;
import dev.perfusion.vae.AutoencoderKLConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Writes a complete diffusers Stable Diffusion v1.x folder with random weights: SD v1.5's exact shapes and
 * checkpoint keys (by default), fp16 safetensors files, SD v1.5's scheduler and CLIP's real tokenizer. For
 * measuring speed and memory without the real checkpoint; the images are noise.
 *
 * <pre>
 *   model_index.json                                     StableDiffusionPipeline, PNDMScheduler
 *   scheduler/scheduler_config.json                      SD v1.5's file
 *   tokenizer/{vocab.json, merges.txt, …}                OpenAI CLIP's BPE ({@link ClipTokenizerFiles})
 *   text_encoder/{config.json, model.fp16.safetensors}                        196 tensors, 123,060,480 parameters
 *   unet/{config.json, diffusion_pytorch_model.fp16.safetensors}              686 tensors, 859,520,964 parameters
 *   vae/{config.json, diffusion_pytorch_model.fp16.safetensors}               248 tensors,  83,653,863 parameters
 * </pre>
 * Each model is built by its own class from the config text, filled by {@link Module#initialize(long)}
 * (PyTorch-like defaults; each component's seed is {@link Init#seedFor}(seed, folder name)), narrowed to FLOAT16
 * parameter by parameter in place (so the fp32 model is the peak: 3.4 GB for the UNet), written tensor by tensor,
 * and closed before the next one is built.
 *
 * <p>Run: {@code java -cp perfusion-bench/target/benchmarks.jar dev.perfusion.bench.sd15.Sd15Generator OUT_DIR [SEED]
 * [BACKEND]} (backend {@code nd4j}, the default, keeps the weights off the Java heap; give the JVM
 * {@code -Dorg.bytedeco.javacpp.maxphysicalbytes=8g} and the environment {@code MALLOC_MMAP_THRESHOLD_=131072}).
 */
public final class Sd15Generator {
    /** The diffusers pipeline index: no safety checker or feature extractor (this folder has neither). */
    static final String MODEL_INDEX = """
            {
              "_class_name": "StableDiffusionPipeline",
              "_diffusers_version": "0.6.0",
              "feature_extractor": [null, null],
              "requires_safety_checker": false,
              "safety_checker": [null, null],
              "scheduler": ["diffusers", "PNDMScheduler"],
              "text_encoder": ["transformers", "CLIPTextModel"],
              "tokenizer": ["transformers", "CLIPTokenizer"],
              "unet": ["diffusers", "UNet2DConditionModel"],
              "vae": ["diffusers", "AutoencoderKL"]
            }
            """;

    /** SD v1.5's {@code scheduler/scheduler_config.json} (the golden tiny-sd15 copy is that file verbatim). */
    static final String SCHEDULER_CONFIG = """
            {
              "_class_name": "PNDMScheduler",
              "_diffusers_version": "0.6.0",
              "num_train_timesteps": 1000,
              "beta_start": 0.00085,
              "beta_end": 0.012,
              "beta_schedule": "scaled_linear",
              "trained_betas": null,
              "clip_sample": false,
              "set_alpha_to_one": false,
              "skip_prk_steps": true,
              "steps_offset": 1
            }
            """;

    /** safetensors metadata of files PyTorch writes. */
    private static final Map<String, String> METADATA = Map.of("format", "pt");

    /**
     * What was written for one model.
     *
     * @param folder     {@code unet}, {@code vae} or {@code text_encoder}
     * @param file       the weights file
     * @param tensors    number of tensors in it
     * @param parameters total elements
     * @param bytes      file size
     * @param seconds    build + initialise + convert + write
     */
    public record Component(String folder, Path file, int tensors, long parameters, long bytes, double seconds) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%-12s %4d tensors %,13d parameters %,15d bytes %7.1f s  %s", folder,
                    tensors, parameters, bytes, seconds, file.getFileName());
        }
    }

    private Sd15Generator() {
    }

    /**
     * Writes the pipeline folder {@code outDir} (created if needed; files already there are replaced).
     *
     * @param seed    the seed of all weights
     * @param configs the three model configs, parsed with the models' own factories
     * @param backend where the models are built and initialised
     * @return the three components, in the order written (text encoder, VAE, UNet)
     * @throws IllegalArgumentException when a config is malformed or unsupported (naming the folder and key)
     */
    public static List<Component> generate(Path outDir, long seed, PipelineConfigs configs, Backend backend)
            throws IOException {
        Files.createDirectories(outDir);
        Files.writeString(outDir.resolve("model_index.json"), MODEL_INDEX, StandardCharsets.UTF_8);
        Path scheduler = Files.createDirectories(outDir.resolve("scheduler"));
        Files.writeString(scheduler.resolve("scheduler_config.json"), SCHEDULER_CONFIG, StandardCharsets.UTF_8);
        ClipTokenizerFiles.write(outDir.resolve("tokenizer"));

        List<Component> out = new ArrayList<>();
        out.add(component(outDir, "text_encoder", "model.fp16.safetensors", configs.textEncoder(), seed,
                src -> new CLIPTextModel(backend, CLIPTextConfig.from(DiffusersConfig.parse(configs.textEncoder(), src)))));
        out.add(component(outDir, "vae", "diffusion_pytorch_model.fp16.safetensors", configs.vae(), seed,
                src -> new AutoencoderKL(backend, AutoencoderKLConfig.from(DiffusersConfig.parse(configs.vae(), src)))));
        out.add(component(outDir, "unet", "diffusion_pytorch_model.fp16.safetensors", configs.unet(), seed,
                src -> new UNet2DConditionModel(backend, UNet2DConditionConfig.parse(configs.unet(), src))));
        return out;
    }

    /** Builds one model from its config, initialises it, and writes config.json and the fp16 weights. */
    private static Component component(Path outDir, String folder, String fileName, String configJson, long seed,
                                       Function<String, Module> build) throws IOException {
        long start = System.nanoTime();
        Path dir = Files.createDirectories(outDir.resolve(folder));
        Path config = dir.resolve("config.json");
        Files.writeString(config, configJson, StandardCharsets.UTF_8);
        Path file = dir.resolve(fileName);
        try (Module model = build.apply(config.toString())) {
            model.initialize(Init.seedFor(seed, folder));
            long parameters = 0;
            int tensors = 0;
            for (Parameter p : model.parameters()) {
                // in place, one tensor at a time: peak memory stays that of the FLOAT32 model
                p.set(model.backend().cast(p.value(), DType.FLOAT16));
                parameters += p.shape().numel();
                tensors++;
            }
            SafeTensors.write(file, model.stateDict(), METADATA);
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Component(folder, file, tensors, parameters, Files.size(file), seconds);
        }
    }

    /** {@code OUT_DIR [SEED] [BACKEND]}: writes the SD v1.5-shaped folder and prints what it wrote. */
    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 3 || args[0].startsWith("-")) {
            System.err.println("usage: Sd15Generator OUT_DIR [SEED (default 0)] [BACKEND: nd4j (default) | reference]");
            System.exit(2);
        }
        Path outDir = Path.of(args[0]);
        long seed = args.length > 1 ? Long.parseLong(args[1]) : 0L;
        String backendName = args.length > 2 ? args[2] : "nd4j";
        long start = System.nanoTime();
        try (Backend backend = Backends.create(backendName)) {
            List<Component> written = generate(outDir, seed, PipelineConfigs.sd15(), backend);
            written.forEach(System.out::println);
        }
        System.out.printf(Locale.ROOT, "wrote %s (seed %d, backend %s) in %.1f s; peak resident memory (VmHWM) %s%n",
                outDir.toAbsolutePath(), seed, backendName, (System.nanoTime() - start) / 1e9,
                ProcStatus.format(ProcStatus.read().get("VmHWM")));
    }
}
