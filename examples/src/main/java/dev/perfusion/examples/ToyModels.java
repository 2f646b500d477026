package dev.perfusion.examples;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the shipped toy model, {@code models/toy-world} in the project folder. */
final class ToyModels {
    /** Where the launcher says the project lives ({@code -Dperfusion.home}), else the working directory. */
    static final String HOME_PROPERTY = "perfusion.home";

    private ToyModels() {
    }

    /** A toy-world listener drawing its tasks on a progress bar and printing its messages. */
    static dev.perfusion.toy.ToyProgressListener progress(StageProgress bar) {
        return new dev.perfusion.toy.ToyProgressListener() {
            @Override
            public void onProgress(String task, int done, int total, String detail) {
                bar.update(task, done, total, detail);
            }

            @Override
            public void onMessage(String message) {
                System.err.println(message);
            }
        };
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
