package dev.perfusion.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.pipeline.Images;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code perfusion generate} on the tiny golden model: text-to-image, img2img, and a clear error for bad input. */
@Tag("unit")
class GenerateCommandTest {
    private static final String MODEL = "../perfusion-core/src/test/resources/golden/tiny-sd15";

    @Test
    void textToImageThenImageToImage(@TempDir Path dir) throws Exception {
        int rc = new CommandLine(new PerfusionCli()).execute("generate", "--model", MODEL, "-p", "a cat", "-p", "a dog",
                "--steps", "2", "--width", "64", "--height", "48", "--seed", "5", "--backend", "reference",
                "--out", dir.toString());
        assertEquals(0, rc);
        Path first = dir.resolve("5-00.png");
        BufferedImage img = ImageIO.read(first.toFile());
        assertEquals(64, img.getWidth());
        assertEquals(48, img.getHeight());
        assertTrue(Files.exists(dir.resolve("5-01.png")));
        assertTrue(Images.readPngText(first).get("parameters").contains("Seed: 5"));

        Path img2img = dir.resolve("img2img");
        rc = new CommandLine(new PerfusionCli()).execute("generate", "--model", MODEL, "-p", "a cat", "--steps", "4",
                "--width", "64", "--height", "64", "--init-image", first.toString(), "--strength", "0.5",
                "--backend", "reference", "--out", img2img.toString());
        assertEquals(0, rc);
        assertTrue(Images.readPngText(img2img.resolve("0-00.png")).get("parameters").contains("Denoising strength: 0.5"));
    }

    @Test
    void badRequestFailsBeforeLoading(@TempDir Path dir) {
        int rc = new CommandLine(new PerfusionCli()).execute("generate", "--model", MODEL, "-p", "a cat",
                "--steps", "0", "--out", dir.toString());
        assertTrue(rc != 0);
    }
}
