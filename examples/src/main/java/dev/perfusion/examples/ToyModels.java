package dev.perfusion.examples;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the shipped toy model, {@code models/toy-world} in the project folder. */
final class ToyModels {
    /** Where the launcher says the project lives ({@code -Dperfusion.home}), else the working directory. */
    static final String HOME_PROPERTY = "perfusion.home";

    private ToyModels() {
    }

    /** {@code model} if given, else the shipped toy model; a clear error if it is not a folder. */
    static Path resolve(Path model) {
        Path dir = model != null ? model
                : Path.of(System.getProperty(HOME_PROPERTY, ".")).resolve("models").resolve("toy-world");
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model folder " + dir + " does not exist"
                    + (model == null ? " (run from the project folder, or pass --model)" : ""));
        }
        return dir;
    }
}
