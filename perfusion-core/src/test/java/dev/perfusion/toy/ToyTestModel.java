package dev.perfusion.toy;

import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.tensor.Backend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A throwaway toy model for end-to-end tests of the evaluation and the demo: the real architecture, trained for 2 + 2
 * steps (untrained for all purposes: tests check that everything runs and is written, not quality). Built once per
 * test JVM and shared, as building it takes most of a test class's time; deleted when the JVM exits.
 */
final class ToyTestModel {
    private static Path model;
    private static Backend backend;

    private ToyTestModel() {
    }

    /** The model folder, built on first use. */
    static synchronized Path get() {
        if (model == null) {
            try {
                Path dir = Files.createTempDirectory("toy-test-model");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> ToyConceptImages.deleteTree(dir)));
                new ToyBaseTrainer(backend(), ToyTrainSettings.defaults().withSteps(2, 2).withLatentScenes(64), null)
                        .train(dir.resolve("model"), null);
                model = dir.resolve("model");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return model;
    }

    /** The backend the tests run on. */
    static synchronized Backend backend() {
        if (backend == null) {
            backend = new Nd4jBackend();
        }
        return backend;
    }
}
