package dev.perfusion.examples;

import dev.perfusion.perfusion.Concept;
import dev.perfusion.perfusion.ConceptFile;
import dev.perfusion.perfusion.ConceptLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code perfusion inspect FILE}: what a concept file holds, without loading a model. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Prints a concept file's placeholder, superclass, layers, sizes, sampling defaults and fingerprints.")
public final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "a .perfusion concept file")
    Path file;

    @Override
    public Integer call() throws Exception {
        Concept c = ConceptFile.read(file);
        System.out.printf(Locale.ROOT, "file         %s (%,d bytes)%n", file, Files.size(file));
        System.out.printf(Locale.ROOT, "placeholder  %s%n", c.placeholder());
        System.out.printf(Locale.ROOT, "superclass   %s%n", c.superclass());
        System.out.printf(Locale.ROOT, "defaults     beta %s, tau %s%n", c.beta(), c.tau());
        System.out.printf(Locale.ROOT, "text width   %d (embedding and i*)%n", c.dim());
        System.out.printf(Locale.ROOT, "layers       %d, Σd = %d (keys and values each)%n", c.layers().size(), c.totalWidth());
        for (int i = 0; i < c.layers().size(); i++) {
            ConceptLayer l = c.layers().get(i);
            System.out.printf(Locale.ROOT, "  %2d  %-60s %5d%n", i, l.path(), l.width());
        }
        System.out.printf(Locale.ROOT, "base_model   %s%n", c.baseModel());
        System.out.printf(Locale.ROOT, "covariance   %s%n", c.covariance());
        System.out.printf(Locale.ROOT, "training     %s%n", c.training());
        return 0;
    }
}
