package dev.perfusion.examples;

import dev.perfusion.Perfusion;
import dev.perfusion.perfusion.SweepRequest;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code perfusion sweep}: the fidelity/alignment trade-off at a glance, as one PNG grid (rows β, columns seeds). */
@Command(name = "sweep", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Renders one prompt with Perfusion concepts for several gate biases β (rows, applied to every "
                + "concept) and seeds (columns) into one PNG grid: low β favours the concept's look, high β the prompt."})
public final class SweepCommand implements Callable<Integer> {
    @Mixin
    GenerationOptions gen;

    @Mixin
    ConceptOptions concepts;

    @Option(names = "--betas", split = ",", defaultValue = "0.55,0.6,0.65,0.7,0.75,0.8",
            description = "β values, comma separated (default: ${DEFAULT-VALUE})")
    List<Float> betas;

    @Option(names = "--seeds", split = ",", defaultValue = "0,1,2,3", description = "seeds, comma separated (default: ${DEFAULT-VALUE})")
    List<Long> seeds;

    @Option(names = "--out", defaultValue = "sweep.png", description = "the grid PNG (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        GenerationRequest request = gen.request();
        SweepRequest sweep = new SweepRequest(concepts.request(request).build(), betas, seeds, out, true);
        try (Backend be = Backends.create(gen.backendName); StableDiffusionPipeline p = StableDiffusionPipeline.load(gen.model, be)) {
            Perfusion.sweep(p, sweep);
            System.out.println("wrote " + out + " (" + betas.size() + " β × " + seeds.size() + " seeds)");
        }
        return 0;
    }
}
