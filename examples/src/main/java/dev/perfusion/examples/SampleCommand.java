package dev.perfusion.examples;

import dev.perfusion.Perfusion;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code perfusion sample}: generation with one or more Perfusion concepts in the prompt. */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generates images with Perfusion concepts: the prompt names each concept by its placeholder, "
                + "e.g. \"a photo of <teddy> sailing in <teapot>\". The edit runs in every cross-attention layer, on "
                + "both guidance branches."})
public final class SampleCommand implements Callable<Integer> {
    @Mixin
    GenerationOptions gen;

    @Mixin
    ConceptOptions concepts;

    @Option(names = "--out", defaultValue = "perfusion-out", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        GenerationRequest request = gen.request();
        Files.createDirectories(out);
        try (Backend be = Backends.create(gen.backendName); StableDiffusionPipeline p = StableDiffusionPipeline.load(gen.model, be)) {
            GenerateCommand.save(Perfusion.sample(p, concepts.request(request).build()), out, gen.seed, be);
        }
        return 0;
    }
}
