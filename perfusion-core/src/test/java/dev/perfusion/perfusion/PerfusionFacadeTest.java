package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.Perfusion;
import dev.perfusion.pipeline.GenerationCancelledException;
import dev.perfusion.pipeline.GenerationListener;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.Images;
import dev.perfusion.unet.CrossAttentionLayer;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Perfusion}'s facade on the tiny model: concept and covariance files, the errors for concepts, prompts and
 * covariances that do not fit, and {@link Perfusion#sweep}'s grid.
 */
@Tag("unit")
class PerfusionFacadeTest {
    private final SampleFixture fx = SampleFixture.get();

    @TempDir
    Path dir;

    @Test
    void conceptAndCovarianceFilesLoadWithTheirChecks() throws Exception {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        Path file = dir.resolve("teddy.perfusion");
        ConceptFile.write(file, teddy);
        float[] inMemory = fx.sample(fx.sampleRequest(SampleFixture.request("a photo of a <teddy>"), teddy))
                .finalLatents();
        float[] fromFiles = fx.sample(SampleRequest.builder(SampleFixture.request("a photo of a <teddy>").build())
                .conceptFile(file).covariance(fx.covarianceFile)).finalLatents();
        assertArrayEquals(inMemory, fromFiles);
    }

    @Test
    void covarianceWithARidgeStoresTheRidgedInverse() throws Exception {
        List<String> captions = java.nio.file.Files.readAllLines(SampleFixture.CAPTIONS).subList(0, 40);
        Path file = dir.resolve("ridged.safetensors");
        Covariance cov = Perfusion.estimateCovariance(fx.pipeline, captions, 0.05, null, file);
        Covariance.InverseFile read = Covariance.read(file);
        assertEquals("0.05", read.metadata().get("ridge"));
        double[] expected = cov.inverse(0.05);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], read.cInv()[i], 1e-6 * Math.abs(expected[i]) + 1e-9, "c_inv[" + i + "]");
        }
        Path bad = dir.resolve("bad.safetensors");
        assertMessage("ridge", () -> Perfusion.estimateCovariance(fx.pipeline, captions, -1, null, bad));
        assertMessage("ridge", () -> Perfusion.estimateCovariance(fx.pipeline, captions, Double.NaN, null, bad));
        assertFalse(java.nio.file.Files.exists(bad), "nothing written for a bad ridge");
    }

    @Test
    void errorsNameTheProblem() throws Exception {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        GenerationRequest.Builder gen = SampleFixture.request("a photo of a <teddy> and a <dog2>").steps(1);
        assertMessage("<dog2>", () -> Perfusion.sample(fx.pipeline, fx.sampleRequest(gen, teddy).build()));
        assertMessage("<dog2>", () -> Perfusion.sample(fx.pipeline, fx.sampleRequest(
                SampleFixture.request("a <teddy>").negativePrompts("blurry <dog2>").steps(1), teddy).build()));

        Concept twin = fx.concept("<teddy>", "teddy", 12, 0.5f);
        assertMessage("two concepts use the placeholder <teddy>", () -> Perfusion.sample(fx.pipeline,
                fx.sampleRequest(SampleFixture.request("a <teddy>").steps(1), teddy, twin).build()));

        Concept foreign = new Concept("<teddy>", "teddy", teddy.embedding(), teddy.iStar(), teddy.keys(),
                teddy.values(), 0.7f, 0.15f, teddy.layers(), "sha256:0000", teddy.covariance(), "{}");
        assertMessage("was trained on base model sha256:0000", () -> Perfusion.sample(fx.pipeline,
                fx.sampleRequest(SampleFixture.request("a <teddy>").steps(1), foreign).build()));
        Perfusion.sample(fx.pipeline, fx.sampleRequest(SampleFixture.request("a <teddy>").steps(1), foreign)
                .allowFingerprintMismatch(true).build()); // overridden: runs

        Path conceptFile = dir.resolve("foreign.perfusion");
        ConceptFile.write(conceptFile, foreign);
        assertMessage("foreign.perfusion: concept <teddy> was trained on base model", () -> Perfusion.sample(fx.pipeline,
                SampleRequest.builder(SampleFixture.request("a <teddy>").steps(1).build()).conceptFile(conceptFile)
                        .covariance(fx.cInv).build()));

        Covariance.InverseFile small = new Covariance.InverseFile(8, new float[64], Map.of());
        assertMessage("C⁻¹ [8, 8], but this model's text width is " + fx.dim, () -> Perfusion.sample(fx.pipeline,
                SampleRequest.builder(SampleFixture.request("a <teddy>").steps(1).build()).concept(teddy)
                        .covariance(small).build()));
        float[] other = fx.cInv.cInv().clone();
        other[0] += 1f;
        Covariance.InverseFile otherCov = new Covariance.InverseFile(fx.dim, other, Map.of());
        assertMessage("was trained with covariance", () -> Perfusion.sample(fx.pipeline,
                SampleRequest.builder(SampleFixture.request("a <teddy>").steps(1).build()).concept(teddy)
                        .covariance(otherCov).build()));

        Concept word = fx.concept("teddy", "teddy", 13, 0.5f);
        assertMessage("already a CLIP vocabulary word", () -> Perfusion.sample(fx.pipeline,
                fx.sampleRequest(SampleFixture.request("a teddy").steps(1), word).build()));
        assertMessage("β override for <cat>", () -> Perfusion.sample(fx.pipeline,
                fx.sampleRequest(SampleFixture.request("a <teddy>").steps(1), teddy).beta("<cat>", 0.5f).build()));
        assertMessage("at least one concept", () -> SampleRequest.builder(gen.build()).covariance(fx.cInv).build());
    }

    @Test
    void sweepWritesALabelledGrid() throws Exception {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        Path out = dir.resolve("sweep.png");
        SweepRequest sweep = new SweepRequest(fx.sampleRequest(SampleFixture.request("a photo of a <teddy>")
                .steps(1), teddy).build(), List.of(0.5f, 0.9f), List.of(1L, 2L), out, true);
        BufferedImage grid = Perfusion.sweep(fx.pipeline, sweep);
        assertEquals(SweepRequest.LABEL_WIDTH + 2 * 64, grid.getWidth());
        assertEquals(SweepRequest.LABEL_HEIGHT + 2 * 64, grid.getHeight());
        BufferedImage read = ImageIO.read(out.toFile());
        assertEquals(grid.getWidth(), read.getWidth());
        assertEquals(grid.getHeight(), read.getHeight());
        String params = Images.readPngText(out).get("parameters");
        assertTrue(params.startsWith("a photo of a <teddy>"), params);
        assertTrue(params.contains("Sweep rows beta: [0.5, 0.9]"), params);
        assertTrue(params.contains("Sweep columns seed: [1, 2]"), params);
        assertTrue(params.contains("concepts [<teddy>], locking local"), params);
        // cell (β 0.9, seed 2) is that sample's image
        BufferedImage cell = fx.sample(fx.sampleRequest(SampleFixture.request("a photo of a <teddy>").steps(1)
                .seed(2), teddy).beta("<teddy>", 0.9f)).result().images().get(0);
        BufferedImage fromGrid = grid.getSubimage(SweepRequest.LABEL_WIDTH + 64, SweepRequest.LABEL_HEIGHT + 64, 64, 64);
        assertArrayEquals(pixels(cell), pixels(fromGrid));
        assertMessage("one image per cell", () -> new SweepRequest(fx.sampleRequest(
                SampleFixture.request("a", "b"), teddy).build(), List.of(0.5f), List.of(1L), out, true));
    }

    @Test
    void aCancelledSampleRemovesTheProcessors() {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        GenerationListener cancel = new GenerationListener() {
            @Override
            public boolean isCancelled() {
                return true;
            }
        };
        assertThrows(GenerationCancelledException.class, () -> Perfusion.sample(fx.pipeline, fx.sampleRequest(
                SampleFixture.request("a <teddy>").listener(cancel), teddy).build()));
        for (CrossAttentionLayer l : fx.pipeline.unet().crossAttentionLayers()) {
            assertFalse(l.attention().processor() instanceof PerfusionAttnProcessor, l.path());
        }
    }

    private static int[] pixels(BufferedImage img) {
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable run) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, run);
        assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
    }
}
