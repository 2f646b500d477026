package dev.perfusion.examples.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.examples.PerfusionCli;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The README's main command runs end to end on both CPU backends and writes its outputs. */
@Tag("unit")
class DemoCommandTest {
    @ParameterizedTest
    @ValueSource(strings = {"reference", "nd4j"})
    void demoRunsAndWritesItsOutputs(String backend, @TempDir Path dir) throws Exception {
        int rc = new CommandLine(new PerfusionCli()).execute(
                "demo", "--backend", backend, "--steps", "2", "--latent-size", "8", "--out", dir.toString());
        assertEquals(0, rc);
        BufferedImage img = ImageIO.read(dir.resolve("latents.png").toFile());
        assertEquals(64, img.getWidth());
        assertTrue(Files.size(dir.resolve("tiny-sd.safetensors")) > 100_000);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a photo of a teddy", ""})
    void promptWithoutPlaceholderIsRejected(String prompt) {
        int rc = new CommandLine(new PerfusionCli()).execute("demo", "--backend", "reference", "--prompt", prompt);
        assertTrue(rc != 0);
    }
}
