package dev.perfusion.examples;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.toy.ToyEvaluation;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code perfusion eval}: the toy world's evaluation of Perfusion (issue 7) — both toy concepts trained in every mode
 * (key-locked Perfusion and the two ablations) at the same budget, a β sweep of fidelity against text alignment, and
 * two separately trained concepts composed in one prompt. Writes results.csv, sweep.png, grids and summary.md.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluates Perfusion in the toy world: fidelity/alignment β sweep against the ablations "
                + "(no key-locking, embedding only) and two-concept composition; writes summary.md, results.csv, "
                + "sweep.png and image grids."})
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", description = "toy model folder (default: the shipped models/toy-world)")
    Path model;

    @Option(names = "--out", defaultValue = "perfusion-eval", description = "output folder, must not exist (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--train-steps", description = "optimizer steps per concept and mode (default: the evaluation's)")
    Integer trainSteps;

    @Option(names = "--seeds", description = "sampling seeds per prompt (default: the evaluation's)")
    Integer seeds;

    @Option(names = "--seed", defaultValue = "0", description = "seed of images and training (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, nd4j or reference (default: ${DEFAULT-VALUE})")
    String backendName;

    @Override
    public Integer call() throws Exception {
        Path dir = ToyModels.resolve(model);
        try (Backend be = Backends.create(backendName)) {
            ToyEvaluation.Builder b = ToyEvaluation.builder().model(dir).output(out).seed(seed).backend(be)
                    .listener(ToyModels.progress(new StageProgress(System.err)));
            if (trainSteps != null) {
                b.trainSteps(trainSteps);
            }
            if (seeds != null) {
                java.util.List<Long> list = new java.util.ArrayList<>();
                for (long s = 0; s < seeds; s++) {
                    list.add(s);
                }
                b.seeds(list);
            }
            ToyEvaluation.Result r = b.build().run();
            System.out.printf(Locale.ROOT, "composition: both concepts right in %.0f %% of images; %.1f min%n",
                    100 * r.compositionRate(), r.seconds() / 60);
            System.out.println("summary: " + out.resolve("summary.md").toAbsolutePath());
        }
        return 0;
    }
}
