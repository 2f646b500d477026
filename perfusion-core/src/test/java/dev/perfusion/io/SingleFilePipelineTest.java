package dev.perfusion.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A single-file LDM checkpoint of the tiny model generates exactly what its diffusers folder generates. */
@Tag("unit")
class SingleFilePipelineTest {
    @Test
    void singleFileAndFolderGiveTheSameImage(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny-sd15.safetensors");
        LdmTestCheckpoints.writeLdmFile(file, LdmTestCheckpoints.Options.standard());
        Backend be = new ReferenceBackend();
        GenerationRequest req = GenerationRequest.builder("a photo of a cat").size(64, 64).steps(2).seed(3).build();
        BufferedImage fromFolder;
        try (StableDiffusionPipeline p = StableDiffusionPipeline.load(LdmTestCheckpoints.TINY, be)) {
            fromFolder = p.generate(req).images().get(0);
        }
        BufferedImage fromFile;
        // the tiny text encoder is 24 wide with 3 heads, which shapes cannot reveal (SD v1.x: 768 / 64 = 12)
        try (StableDiffusionPipeline p = StableDiffusionPipeline.loadSingleFile(file, be, 3)) {
            fromFile = p.generate(req).images().get(0);
        }
        assertArrayEquals(fromFolder.getRGB(0, 0, 64, 64, null, 0, 64), fromFile.getRGB(0, 0, 64, 64, null, 0, 64));
    }
}
