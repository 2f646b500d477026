package dev.perfusion.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.perfusion.Concept;
import dev.perfusion.perfusion.ConceptFile;
import dev.perfusion.perfusion.Covariance;
import dev.perfusion.perfusion.Fingerprints;
import dev.perfusion.pipeline.Images;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.HostRandom;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code perfusion sample} and {@code perfusion sweep} with a concept made for the tiny golden model. */
@Tag("unit")
class SampleSweepCommandTest {
    private static final String MODEL = "../perfusion-core/src/test/resources/golden/tiny-sd15";
    @TempDir
    static Path dir;
    private static Path concept;
    private static Path covariance;

    /** A covariance from 40 captions and a seeded random concept with the tiny model's layers and fingerprints. */
    @BeforeAll
    static void makeConcept() throws Exception {
        covariance = dir.resolve("tiny.cov");
        concept = dir.resolve("teddy.perfusion");
        try (StableDiffusionPipeline p = StableDiffusionPipeline.load(Path.of(MODEL), new ReferenceBackend())) {
            List<String> captions = CovarianceCommand.readCaptions(
                    Path.of("../perfusion-core/src/test/resources/data/partiprompts-300.txt"), 40);
            Covariance c = Covariance.estimate(p.textEncoder(), p.tokenizer(), captions, 8, null);
            String base = Fingerprints.baseModel(p.textEncoder(), p.unet());
            c.write(covariance, base, "partiprompts-300.txt", 0.05);
            var layers = Concept.layersOf(p.unet().crossAttentionLayers());
            int total = layers.stream().mapToInt(l -> l.width()).sum();
            int d = p.textEncoder().config().hiddenSize();
            Concept k = new Concept("<teddy>", "teddy", HostRandom.normal(1, d), HostRandom.normal(2, d),
                    HostRandom.normal(3, total), HostRandom.normal(4, total), 0.7f, 0.15f, layers, base,
                    Covariance.read(covariance).fingerprint(), "{}");
            ConceptFile.write(concept, k);
        }
    }

    @Test
    void sampleWritesImagesWithTheConcept() throws Exception {
        Path out = dir.resolve("sample");
        int rc = new CommandLine(new PerfusionCli()).execute("sample", "--model", MODEL, "-p", "a photo of <teddy>",
                "--concept", concept.toString(), "--covariance", covariance.toString(), "--beta", "<teddy>=0.6",
                "--steps", "2", "--width", "64", "--height", "64", "--seed", "3", "--backend", "reference",
                "--out", out.toString());
        assertEquals(0, rc);
        BufferedImage img = ImageIO.read(out.resolve("3-00.png").toFile());
        assertEquals(64, img.getWidth());
    }

    @Test
    void sweepWritesOneGrid() throws Exception {
        Path grid = dir.resolve("sweep.png");
        int rc = new CommandLine(new PerfusionCli()).execute("sweep", "--model", MODEL, "-p", "a photo of <teddy>",
                "--concept", concept.toString(), "--covariance", covariance.toString(), "--betas", "0.5,0.9",
                "--seeds", "1,2,3", "--steps", "2", "--width", "32", "--height", "32", "--backend", "reference",
                "--out", grid.toString());
        assertEquals(0, rc);
        BufferedImage img = ImageIO.read(grid.toFile());
        assertEquals(3 * 32 + 64, img.getWidth(), "three seed columns plus the β label margin");
        assertEquals(2 * 32 + 16, img.getHeight(), "two β rows plus the seed label margin");
        assertTrue(Images.readPngText(grid).containsKey("parameters"));
    }

    @Test
    void trainWritesAConceptThatSamples() throws Exception {
        Path images = dir.resolve("images");
        Files.createDirectories(images);
        for (int i = 0; i < 2; i++) {
            BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
            for (int y = 16; y < 48; y++) {
                for (int x = 16 + 4 * i; x < 48; x++) {
                    img.setRGB(x, y, 0xC08040);
                }
            }
            ImageIO.write(img, "png", images.resolve("bear" + i + ".png").toFile());
        }
        Path trained = dir.resolve("bear.perfusion");
        int rc = new CommandLine(new PerfusionCli()).execute("train", "--model", MODEL, "--images", images.toString(),
                "--placeholder", "<bear>", "--superclass", "bear", "--covariance", covariance.toString(),
                "--out", trained.toString(), "--steps", "2", "--batch", "1", "--accumulation", "1",
                "--resolution", "64", "--checkpoint-every", "1", "--backend", "reference");
        assertEquals(0, rc);
        assertTrue(Files.exists(dir.resolve("bear.perfusion.checkpoints").resolve("checkpoint-000002.pft")));
        Path out = dir.resolve("bear-sample");
        rc = new CommandLine(new PerfusionCli()).execute("sample", "--model", MODEL, "-p", "a <bear> on the beach",
                "--concept", trained.toString(), "--covariance", covariance.toString(), "--steps", "2",
                "--width", "64", "--height", "64", "--backend", "reference", "--out", out.toString());
        assertEquals(0, rc);
        assertTrue(Files.exists(out.resolve("0-00.png")));
    }

    @Test
    void trainRejectsAnEmptyImageFolder() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Path trained = dir.resolve("none.perfusion");
        int rc = new CommandLine(new PerfusionCli()).execute("train", "--model", MODEL, "--images", empty.toString(),
                "--placeholder", "<x>", "--superclass", "bear", "--covariance", covariance.toString(),
                "--out", trained.toString(), "--steps", "1", "--resolution", "64", "--backend", "reference");
        assertTrue(rc != 0);
        assertFalse(Files.exists(trained));
    }

    @Test
    void componentsAppliesTheConceptToTheUnetAndTextEncoder() throws Exception {
        var be = new ReferenceBackend();
        Path in = dir.resolve("unet-in.safetensors");
        java.util.Map<String, dev.perfusion.tensor.Tensor> inputs = new java.util.LinkedHashMap<>();
        inputs.put("sample", be.randn(dev.perfusion.tensor.Shape.of(1, 4, 8, 8), 5));
        inputs.put("timestep", be.fromArray(new long[] {500}, dev.perfusion.tensor.Shape.of()));
        inputs.put("encoder_hidden_states", be.randn(dev.perfusion.tensor.Shape.of(1, 77, 24), 6));
        dev.perfusion.io.SafeTensors.write(in, inputs, java.util.Map.of());
        Path plain = dir.resolve("unet-plain.safetensors");
        Path edited = dir.resolve("unet-edited.safetensors");
        assertEquals(0, PerfusionCli.commandLine().execute("components", "--model", MODEL, "--component", "unet",
                "--inputs", in.toString(), "--out", plain.toString(), "--backend", "reference"));
        assertEquals(0, PerfusionCli.commandLine().execute("components", "--model", MODEL, "--component", "unet",
                "--inputs", in.toString(), "--out", edited.toString(), "--backend", "reference",
                "--concept", concept.toString(), "--covariance", covariance.toString(), "--beta", "0.6"));
        float[] a = read(plain, "sample");
        float[] b = read(edited, "sample");
        assertFalse(java.util.Arrays.equals(a, b), "the edit changes the UNet's output");
        // the same edit in process gives the same numbers
        try (var unet = dev.perfusion.unet.UNet2DConditionModel.load(Path.of(MODEL, "unet"), be);
             AutoCloseable edit = ComponentConcepts.installEdit(unet, ComponentConcepts.read(List.of(concept)),
                     covariance, 0.6f, null, inputs.get("encoder_hidden_states"))) {
            float[] direct = unet.forward(inputs.get("sample"), inputs.get("timestep"), inputs.get("encoder_hidden_states"))
                    .toFloatArray();
            org.junit.jupiter.api.Assertions.assertArrayEquals(direct, b);
        }

        long[] ids = new long[77];
        java.util.Arrays.fill(ids, 49407);
        ids[0] = 49406;
        ids[1] = 320;
        ids[2] = 49408; // the first concept's token
        Path idsIn = dir.resolve("ids.safetensors");
        dev.perfusion.io.SafeTensors.write(idsIn, java.util.Map.of("input_ids",
                be.fromArray(ids, dev.perfusion.tensor.Shape.of(1, 77))), java.util.Map.of());
        Path textOut = dir.resolve("text.safetensors");
        assertEquals(0, PerfusionCli.commandLine().execute("components", "--model", MODEL, "--component", "text_encoder",
                "--inputs", idsIn.toString(), "--out", textOut.toString(), "--backend", "reference",
                "--concept", concept.toString()));
        assertEquals(77 * 24, read(textOut, "last_hidden_state").length);
        assertTrue(PerfusionCli.commandLine().execute("components", "--model", MODEL, "--component", "text_encoder",
                "--inputs", idsIn.toString(), "--out", dir.resolve("no.safetensors").toString(), "--backend",
                "reference") != 0, "without the concept, id 49408 is out of the vocabulary");
    }

    private static float[] read(Path file, String name) throws Exception {
        try (var st = dev.perfusion.io.SafeTensors.open(file)) {
            return st.tensor(name, new ReferenceBackend()).toFloatArray();
        }
    }

    @Test
    void unknownPlaceholderFailsAndWritesNothing() {
        Path out = dir.resolve("bad");
        int rc = new CommandLine(new PerfusionCli()).execute("sample", "--model", MODEL, "-p", "a photo of <teapot>",
                "--concept", concept.toString(), "--covariance", covariance.toString(), "--steps", "2",
                "--width", "64", "--height", "64", "--backend", "reference", "--out", out.toString());
        assertTrue(rc != 0);
        assertFalse(Files.exists(out.resolve("0-00.png")));
    }
}
