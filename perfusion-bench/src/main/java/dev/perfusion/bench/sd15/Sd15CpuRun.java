package dev.perfusion.bench.sd15;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.nn.Module;
import dev.perfusion.nn.Parameter;
import dev.perfusion.nn.WeightStorage;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.GenerationResult;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.schedulers.SchedulerConfig;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.UNet2DConditionModel;
import dev.perfusion.vae.AutoencoderKL;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * One 512×512 text-to-image generation with an SD v1.x folder on the ND4J CPU backend, reporting what a user
 * waits for and what the machine needs: load time, text-encoder time, seconds per denoising step (the first
 * separately), VAE decode time, and resident memory (VmHWM at the end, VmRSS sampled every 100 ms per phase).
 *
 * <p>Settings: guidance 7.5 (so the UNet runs on a batch of 2: unconditional and text), sampler {@code ddim},
 * seed 0, the prompt below, {@code STEPS} steps (default 3: enough to separate the first step from the steady
 * ones). Timings come from {@link StepTimer}; the text encoder is also timed on its own before the run (the
 * same two batch-1 calls {@code generate} makes, cold then warm), and the first step is reported as the time
 * from the start of {@code generate} to the first step's end minus the warm text-encoder time.
 *
 * <p>Run (the JVM flags of docs/measurements/2026-11-21-cpu-sd15-512.md):
 * <pre>
 *   MALLOC_MMAP_THRESHOLD_=131072 java -Xmx3g -Dorg.bytedeco.javacpp.maxphysicalbytes=16g \
 *     -cp perfusion-bench/target/benchmarks.jar dev.perfusion.bench.sd15.Sd15CpuRun MODEL_DIR [STEPS] [OUT.png]
 * </pre>
 */
public final class Sd15CpuRun {
    static final String PROMPT = "a photograph of an astronaut riding a horse";
    static final int SIZE = 512;
    static final float GUIDANCE = 7.5f;
    static final String SAMPLER = "ddim";
    static final long SEED = 0;

    private Sd15CpuRun() {
    }

    static final String USAGE = "usage: Sd15CpuRun [--weights=float32] [--gc-after-load] MODEL_DIR [STEPS (default 3)] [OUT.png]";

    /**
     * {@code [--weights=float32] [--gc-after-load] MODEL_DIR [STEPS (default 3)] [OUT.png]}. Without options the
     * folder is loaded by {@link StableDiffusionPipeline#load}, as a user would; {@code --weights=float32} assembles
     * the same pipeline from parts loaded with {@link WeightStorage#FLOAT32} (fp16 files widened on load), for
     * comparison; {@code --gc-after-load} runs {@link System#gc()} once after loading, which unmaps safetensors
     * windows that no tensor uses any more (their pages otherwise stay resident until a collection happens).
     */
    public static void main(String[] args) throws Exception {
        List<String> positional = new ArrayList<>();
        WeightStorage storage = null;
        boolean gcAfterLoad = false;
        for (String a : args) {
            switch (a) {
                case "--weights=float32" -> storage = WeightStorage.FLOAT32;
                case "--weights=as-stored" -> storage = WeightStorage.AS_STORED;
                case "--gc-after-load" -> gcAfterLoad = true;
                default -> {
                    if (a.startsWith("-")) {
                        System.err.println(USAGE);
                        System.exit(2);
                    }
                    positional.add(a);
                }
            }
        }
        if (positional.isEmpty() || positional.size() > 3) {
            System.err.println(USAGE);
            System.exit(2);
        }
        Path modelDir = Path.of(positional.get(0));
        int steps = positional.size() > 1 ? Integer.parseInt(positional.get(1)) : 3;
        Path png = positional.size() > 2 ? Path.of(positional.get(2)) : null;
        printEnvironment(modelDir);
        System.out.println("weights: " + (storage == null ? "StableDiffusionPipeline.load (library default)"
                : "parts loaded with WeightStorage." + storage) + (gcAfterLoad ? ", System.gc() after load" : ""));

        try (MemorySampler memory = new MemorySampler(100, 5000)) {
            memory.phase("load");
            long t0 = System.nanoTime();
            Backend backend = new Nd4jBackend();
            try (StableDiffusionPipeline pipe = storage == null ? StableDiffusionPipeline.load(modelDir, backend)
                    : loadParts(modelDir, backend, storage)) {
                double load = seconds(t0, System.nanoTime());
                System.out.printf(Locale.ROOT, "load: %.1f s; resident after load: %s%n", load, rssLine());
                if (gcAfterLoad) {
                    memory.phase("gc after load");
                    System.gc();
                    System.out.println("after System.gc(): " + rssLine());
                }
                printWeights("text_encoder", pipe.textEncoder());
                printWeights("unet", pipe.unet());
                printWeights("vae", pipe.vae());

                memory.phase("text encoder (cold)");
                double textCold = timeTextEncoder(pipe);
                memory.phase("text encoder (warm)");
                double textWarm = timeTextEncoder(pipe);
                System.out.printf(Locale.ROOT, "text encoder (2 prompts × batch 1, as generate calls it): cold %.2f s, "
                        + "warm %.2f s%n", textCold, textWarm);

                StepTimer timer = new StepTimer(memory);
                GenerationRequest req = GenerationRequest.builder(PROMPT).steps(steps).guidanceScale(GUIDANCE)
                        .sampler(SAMPLER).size(SIZE, SIZE).seed(SEED).listener(timer).build();
                timer.start();
                GenerationResult result = pipe.generate(req);
                long end = System.nanoTime();
                memory.phase("after generate");
                report(timer, end, textWarm, steps);
                if (png != null) {
                    result.savePng(0, png);
                    System.out.println("image: " + png.toAbsolutePath());
                }
            }
            memory.phase("closed");
            printMemory(memory);
        }
        System.out.println("load average at end: " + loadAverage());
    }

    /** The folder's pipeline with every model loaded with {@code storage} (what {@code load} does, but for that). */
    private static StableDiffusionPipeline loadParts(Path dir, Backend backend, WeightStorage storage) throws IOException {
        CLIPTokenizer tokenizer = CLIPTokenizer.fromFolder(dir.resolve("tokenizer"));
        SchedulerConfig sc = SchedulerConfig.load(dir.resolve("scheduler").resolve("scheduler_config.json"));
        CLIPTextModel text = CLIPTextModel.load(dir.resolve("text_encoder"), backend, storage);
        UNet2DConditionModel unet = null;
        try {
            unet = UNet2DConditionModel.load(dir.resolve("unet"), backend, storage);
            AutoencoderKL vae = AutoencoderKL.load(dir.resolve("vae"), backend, storage);
            return new StableDiffusionPipeline(backend, tokenizer, text, unet, vae, sc, "pndm", dir.getFileName().toString());
        } catch (IOException | RuntimeException e) {
            text.close();
            if (unet != null) {
                unet.close();
            }
            throw e;
        }
    }

    /** Seconds to encode the prompt and the empty negative prompt, one batch-1 call each. */
    private static double timeTextEncoder(StableDiffusionPipeline pipe) throws Exception {
        long t = System.nanoTime();
        try (AutoCloseable ng = Autograd.noGrad()) {
            for (String p : List.of(PROMPT, "")) {
                Tensor e = pipe.encodePrompts(List.of(p)); // [1, 77, 768]
                e.close();
            }
        }
        return seconds(t, System.nanoTime());
    }

    private static void report(StepTimer timer, long end, double textWarm, int steps) {
        List<Long> ends = timer.stepEnds();
        if (ends.size() != steps) {
            throw new IllegalStateException("expected " + steps + " step callbacks, got " + ends.size());
        }
        double untilFirst = seconds(timer.startNanos(), ends.get(0));
        System.out.printf(Locale.ROOT, "generate start → end of step 1: %.2f s (prompts + step 1); "
                + "step 1 ≈ %.2f s (minus the warm text-encoder time)%n", untilFirst, untilFirst - textWarm);
        double later = 0;
        for (int i = 1; i < ends.size(); i++) {
            double s = seconds(ends.get(i - 1), ends.get(i));
            later += s;
            System.out.printf(Locale.ROOT, "step %d: %.2f s%n", i + 1, s);
        }
        if (ends.size() > 1) {
            System.out.printf(Locale.ROOT, "steps 2..%d mean: %.2f s/step%n", ends.size(), later / (ends.size() - 1));
        }
        System.out.printf(Locale.ROOT, "vae decode (+ image conversion): %.2f s%n", seconds(ends.get(ends.size() - 1), end));
        System.out.printf(Locale.ROOT, "generate total: %.2f s%n", seconds(timer.startNanos(), end));
        System.out.println("latents finite: " + timer.allFinite() + "; max |latent| after each step: "
                + timer.latentMaxAbs());
    }

    /** Parameter count, dtypes held and bytes of one loaded model. */
    private static void printWeights(String name, Module m) {
        Map<DType, Long> bytes = new EnumMap<>(DType.class);
        long params = 0;
        int tensors = 0;
        for (Parameter p : m.parameters()) {
            Tensor v = p.value();
            bytes.merge(v.dtype(), v.numel() * v.dtype().byteSize(), Long::sum);
            params += v.numel();
            tensors++;
        }
        long total = bytes.values().stream().mapToLong(Long::longValue).sum();
        System.out.printf(Locale.ROOT, "weights %-12s %4d tensors %,13d parameters, held as %s: %s%n", name, tensors,
                params, new TreeSet<>(bytes.keySet()), ProcStatus.format(total));
    }

    private static void printEnvironment(Path modelDir) throws IOException {
        System.out.println("date: " + ZonedDateTime.now());
        System.out.println("model: " + modelDir.toAbsolutePath());
        System.out.println("cpu: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " processors");
        System.out.println("memory: " + memTotal());
        System.out.println("java: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        System.out.println("jvm args: " + ManagementFactory.getRuntimeMXBean().getInputArguments());
        System.out.println("MALLOC_MMAP_THRESHOLD_=" + System.getenv("MALLOC_MMAP_THRESHOLD_"));
        System.out.println("load average at start: " + loadAverage());
        System.out.printf(Locale.ROOT, "request: 1 image %d×%d, prompt \"%s\", guidance %.1f (UNet batch 2), sampler %s, seed %d%n",
                SIZE, SIZE, PROMPT, GUIDANCE, SAMPLER, SEED);
    }

    private static void printMemory(MemorySampler memory) {
        Map<String, Long> s = ProcStatus.read();
        System.out.println("peak resident memory (VmHWM): " + ProcStatus.format(s.get("VmHWM"))
                + "; largest sampled VmRSS: " + ProcStatus.format(memory.maxRss()));
        System.out.println("per phase (largest of the 100 ms samples):");
        for (Map.Entry<String, MemorySampler.PhaseMax> e : memory.phases().entrySet()) {
            MemorySampler.PhaseMax m = e.getValue();
            System.out.printf(Locale.ROOT, "  %-22s VmRSS %s  RssAnon %s  RssFile %s  (%d samples)%n", e.getKey(),
                    ProcStatus.format(m.rss), ProcStatus.format(m.anon), ProcStatus.format(m.file), m.samples);
        }
        System.out.println("timeline (one sample per 5 s):");
        memory.timeline().forEach(l -> System.out.println("  " + l));
    }

    private static String rssLine() {
        Map<String, Long> s = ProcStatus.read();
        return "VmRSS " + ProcStatus.format(s.get("VmRSS")) + " (RssAnon " + ProcStatus.format(s.get("RssAnon"))
                + ", RssFile " + ProcStatus.format(s.get("RssFile")) + ")";
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    private static String memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal")) {
                    return line.replaceAll("\\s+", " ");
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return "n/a";
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    private static double seconds(long from, long to) {
        return (to - from) / 1e9;
    }
}
