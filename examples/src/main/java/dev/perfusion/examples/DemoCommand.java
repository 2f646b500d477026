package dev.perfusion.examples;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.toy.NovelConcept;
import dev.perfusion.toy.ToyDemo;
import dev.perfusion.toy.ToyProgressListener;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code perfusion demo}, the README's main command: trains one Perfusion concept (the toy world's two-tone
 * {@code <ring>}) on the shipped toy base model, samples compositions with it, and measures them with the toy world's
 * analytic checker — a PNG grid, the concept file and a metrics table, in a few minutes on a laptop CPU. Pass
 * {@code --model} with a real SD v1.5 folder plus {@code --images/--placeholder/--superclass/--prompt/--covariance}
 * to run the same code path on your own concept.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains one Perfusion concept on the shipped toy base model (models/toy-world), samples "
                + "compositions with it and measures them: grid.png, the concept file and metrics.md."})
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--model", description = "base model folder (default: the shipped models/toy-world)")
    Path model;

    @Option(names = "--out", defaultValue = "perfusion-demo", description = "output folder, new or empty (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--concept", defaultValue = "<ring>", description = "toy concept: <ring> or <diamond> (default: ${DEFAULT-VALUE})")
    String concept;

    @Option(names = "--train-steps", description = "Perfusion optimizer steps (default: the demo's)")
    Integer trainSteps;

    @Option(names = "--images", description = "your own concept images (instead of a toy concept)")
    Path images;

    @Option(names = "--placeholder", description = "with --images: the new token, e.g. <teddy>")
    String placeholder;

    @Option(names = "--superclass", description = "with --images: the super-category word, e.g. teddy")
    String superclass;

    @Option(names = "--prompt", description = "with --images: prompts to sample (repeatable)")
    List<String> prompts;

    @Option(names = "--covariance", description = "C⁻¹ file of the model (default: estimated from toy captions)")
    Path covariance;

    @Option(names = "--seeds", description = "sampling seeds per prompt (default: the demo's)")
    Integer seeds;

    @Option(names = "--seed", defaultValue = "0", description = "seed of images, training and sampling (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, nd4j or reference (default: ${DEFAULT-VALUE})")
    String backendName;

    @Override
    public Integer call() throws Exception {
        Path dir = ToyModels.resolve(model);
        ToyProgressListener progress = ToyModels.progress(new StageProgress(System.err));
        try (Backend be = Backends.create(backendName)) {
            ToyDemo.Builder b = ToyDemo.builder().model(dir).output(out).seed(seed).backend(be).listener(progress)
                    .covariance(covariance);
            if (images != null) {
                if (placeholder == null || superclass == null || prompts == null || prompts.isEmpty()) {
                    throw new IllegalArgumentException("--images needs --placeholder, --superclass and --prompt");
                }
                b.concept(null).images(images).placeholder(placeholder).superclass(superclass).prompts(prompts)
                        .maxBatch(1);
            } else {
                b.concept(NovelConcept.byPlaceholder(concept));
            }
            if (trainSteps != null) {
                b.trainSteps(trainSteps);
            }
            if (seeds != null) {
                b.seeds(java.util.stream.LongStream.range(0, seeds).boxed().toList());
            }
            ToyDemo.Result r = b.build().run();
            System.out.printf(Locale.ROOT, "concept file %s (%,d bytes); grid %s; %.1f min%n", r.conceptFile(),
                    r.conceptBytes(), r.grid(), r.seconds() / 60);
            for (ToyDemo.Metrics m : r.metrics()) {
                System.out.printf(Locale.ROOT, "β %.2f  fidelity %.3f  alignment %.3f  all checks %.0f %%  (%d images)%n",
                        m.beta(), m.fidelity(), m.alignment(), 100 * m.strict(), m.images());
            }
            System.out.println("outputs in " + out.toAbsolutePath() + " (metrics.md, grid.png, the concept file)");
        }
        return 0;
    }
}
