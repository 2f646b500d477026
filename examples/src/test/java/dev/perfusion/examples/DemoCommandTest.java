package dev.perfusion.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.toy.ToyBaseTrainer;
import dev.perfusion.toy.ToyTrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The README's main command and the toy-world commands run end to end from the command line on a throwaway toy model
 * (2 + 2 training steps: the numbers are meaningless, the files and the exit codes are what is checked).
 */
@Tag("unit")
class DemoCommandTest {
    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void tinyModel() throws Exception {
        model = dir.resolve("model");
        try (Backend be = Backends.create("nd4j")) {
            new ToyBaseTrainer(be, ToyTrainSettings.defaults().withSteps(2, 2).withLatentScenes(64), null)
                    .train(model, null);
        }
    }

    @Test
    void demoWritesGridConceptFileAndMetrics() throws Exception {
        Path out = dir.resolve("demo");
        int rc = PerfusionCli.commandLine().execute("demo", "--model", model.toString(), "--out", out.toString(),
                "--train-steps", "2", "--seeds", "1", "--backend", "nd4j");
        assertEquals(0, rc);
        assertTrue(Files.size(out.resolve("grid.png")) > 0);
        assertTrue(Files.size(out.resolve("ring.perfusion")) > 1000);
        assertTrue(Files.readString(out.resolve("metrics.md")).contains("fidelity"));
    }

    @Test
    void gateWritesItsTable() throws Exception {
        Path out = dir.resolve("gate");
        int rc = PerfusionCli.commandLine().execute("toy-gate", "--model", model.toString(), "--out", out.toString(),
                "--scenes", "2", "--steps", "2", "--backend", "nd4j");
        assertEquals(0, rc);
        String gate = Files.readString(out.resolve("gate.md"));
        assertTrue(gate.contains("two objects"), gate);
        assertTrue(gate.contains("| swapped word | t = 100 | t = 300 | t = 500 | t = 700 | t = 900 |")
                && gate.contains("| position |"), gate);
    }

    @Test
    void unknownConceptAndMissingModelAreOneLineErrors() {
        assertNotEquals(0, PerfusionCli.commandLine().execute("demo", "--model", model.toString(), "--concept", "<nope>",
                "--out", dir.resolve("x").toString()));
        assertNotEquals(0, PerfusionCli.commandLine().execute("demo", "--model", dir.resolve("missing").toString()));
        assertNotEquals(0, new CommandLine(new PerfusionCli()).execute("toy-base", "--out", model.toString(),
                "--vae-steps", "1", "--unet-steps", "1"));
    }
}
