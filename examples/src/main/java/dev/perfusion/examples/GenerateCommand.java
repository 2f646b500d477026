package dev.perfusion.examples;

import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.GenerationResult;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code perfusion generate}: text-to-image and image-to-image with a Stable Diffusion v1.x model. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generates images with a Stable Diffusion v1.x model (a diffusers folder or a single-file "
                + ".safetensors checkpoint) and writes PNGs with the generation parameters in a text chunk."})
public final class GenerateCommand implements Callable<Integer> {
    @Mixin
    GenerationOptions gen;

    @Option(names = "--out", defaultValue = "perfusion-out", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        GenerationRequest request = gen.request(); // validate before the (slow) model load
        Files.createDirectories(out);
        try (Backend be = Backends.create(gen.backendName); StableDiffusionPipeline p = StableDiffusionPipeline.load(gen.model, be)) {
            save(p.generate(request), out, gen.seed, be);
        }
        return 0;
    }

    /** Writes every image of a result as {@code SEED-NN.png} and prints a summary. */
    static void save(GenerationResult r, Path out, long seed, Backend be) throws IOException {
        for (int i = 0; i < r.images().size(); i++) {
            Path file = out.resolve(String.format(Locale.ROOT, "%d-%02d.png", seed, i));
            r.savePng(i, file);
            System.out.println("wrote " + file);
        }
        System.out.printf(Locale.ROOT, "%d image(s) in %.1f s with %s on %s%n", r.images().size(), r.millis() / 1000.0,
                r.sampler(), be.name());
    }
}
