package dev.perfusion.examples;

import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.toy.ToyConceptReconstruction;
import dev.perfusion.toy.ToyConditioningProbe;
import dev.perfusion.toy.ToyQualityGate;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code perfusion toy-gate}: measures a toy base model's quality gate — captions of fresh scenes sampled and read back
 * by the analytic checker — and writes the table and contact sheets.
 */
@Command(name = "toy-gate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Samples captions of fresh toy scenes with a toy base model and reads every image back with the "
                + "analytic checker: the quality gate (one object >= 80 %, two objects >= 50 % all attributes right)."})
public final class ToyGateCommand implements Callable<Integer> {
    @Option(names = "--model", description = "toy model folder (default: the shipped models/toy-world)")
    Path model;

    @Option(names = "--out", defaultValue = "toy-gate", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--scenes", defaultValue = "200", description = "scenes per kind (default: ${DEFAULT-VALUE})")
    int scenes;

    @Option(names = "--steps", defaultValue = "25", description = "DDIM steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--guidance", defaultValue = "4", description = "guidance scale (default: ${DEFAULT-VALUE})")
    float guidance;

    @Option(names = "--seed", defaultValue = "0", description = "first sampling seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, nd4j or reference (default: ${DEFAULT-VALUE})")
    String backendName;

    /** One-object scenes and timesteps of the conditioning probe printed beside the gate. */
    static final int PROBE_SCENES = 64;
    static final int[] PROBE_TIMESTEPS = {100, 300, 500, 700, 900};

    @Override
    public Integer call() throws Exception {
        Path dir = ToyModels.resolve(model);
        Files.createDirectories(out);
        StageProgress bar = new StageProgress(System.err);
        try (Backend be = Backends.create(backendName); StableDiffusionPipeline p = StableDiffusionPipeline.load(dir, be)) {
            ToyQualityGate.Settings s = new ToyQualityGate.Settings(scenes, steps, guidance, 50, seed);
            ToyQualityGate.Result r = ToyQualityGate.run(p, s, (done, total) -> bar.update("sampling", done, total, ""));
            ImageIO.write(ToyQualityGate.grid(r.singleImages().subList(0, Math.min(64, scenes)), 16, 3), "png",
                    out.resolve("one-object.png").toFile());
            ImageIO.write(ToyQualityGate.grid(r.twoImages().subList(0, Math.min(64, scenes)), 16, 3), "png",
                    out.resolve("two-objects.png").toFile());
            ToyQualityGate.Result ceiling = ToyQualityGate.reconstructionCeiling(p.vae(), scenes);
            String conceptReconstruction = ToyConceptReconstruction.markdown(ToyConceptReconstruction.measure(p.vae()));
            List<ToyConditioningProbe.Sensitivity> probe = ToyConditioningProbe.measure(p, PROBE_SCENES,
                    PROBE_TIMESTEPS, seed);
            String md = String.format(Locale.ROOT, "Quality gate of %s (%d DDIM steps, guidance %.1f, seed %d):%n%n%s"
                    + "%nThe same scenes rendered, encoded and decoded by the model's VAE alone (no denoiser can score"
                    + " above this on this VAE):%n%n%s"
                    + "%nThe novel concepts rendered, encoded and decoded by the same VAE, scored by Perfusion's fidelity"
                    + " measure, beside plain stand-ins in one of its colours through the same VAE:%n%n%s"
                    + "%nWhich words the denoiser reads: change of its training loss on %d one-object scenes when one word of"
                    + " the caption is swapped for a wrong one (0 %%: the word is ignored):%n%n%s",
                    dir.getFileName(), steps, guidance, seed, r.markdown(), ceiling.markdown(), conceptReconstruction,
                    PROBE_SCENES,
                    ToyConditioningProbe.table(probe));
            Files.writeString(out.resolve("gate.md"), md, StandardCharsets.UTF_8);
            System.out.print(md);
            System.out.println(r.passes() ? "gate: PASSED" : "gate: NOT MET");
        }
        return 0;
    }
}
