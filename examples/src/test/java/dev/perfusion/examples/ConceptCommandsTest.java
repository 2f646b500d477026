package dev.perfusion.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.perfusion.Concept;
import dev.perfusion.perfusion.ConceptFile;
import dev.perfusion.perfusion.ConceptLayer;
import dev.perfusion.perfusion.Covariance;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code perfusion covariance} and {@code perfusion inspect} on the tiny golden model. */
@Tag("unit")
class ConceptCommandsTest {
    private static final String MODEL = "../perfusion-core/src/test/resources/golden/tiny-sd15";
    private static final String CAPTIONS = "../perfusion-core/src/test/resources/data/partiprompts-300.txt";

    private static String run(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            int rc = new CommandLine(new PerfusionCli()).execute(args);
            assertEquals(0, rc, "exit code of " + String.join(" ", args));
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void covarianceFileIsWrittenWithItsMetadata(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("tiny.cov");
        String printed = run("covariance", "--model", MODEL, "--captions", CAPTIONS, "--limit", "60",
                "--backend", "reference", "--out", out.toString());
        assertTrue(printed.contains("from 60 captions"), printed);
        Covariance.InverseFile f = Covariance.read(out);
        assertEquals(24, f.dim());
        assertEquals("60", f.metadata().get("captions"));
        assertTrue(f.baseModel().startsWith("sha256:"));
    }

    @Test
    void covarianceRejectsAMissingCaptionFile(@TempDir Path dir) {
        int rc = new CommandLine(new PerfusionCli()).execute("covariance", "--model", MODEL, "--captions",
                dir.resolve("none.txt").toString(), "--out", dir.resolve("x.cov").toString());
        assertTrue(rc != 0);
        assertFalse(Files.exists(dir.resolve("x.cov")));
    }

    @Test
    void inspectPrintsTheConcept(@TempDir Path dir) throws Exception {
        List<ConceptLayer> layers = List.of(new ConceptLayer("down_blocks.0.attentions.0.transformer_blocks.0.attn2", 3),
                new ConceptLayer("up_blocks.1.attentions.0.transformer_blocks.0.attn2", 2));
        Concept c = new Concept("<teddy>", "teddy", new float[4], new float[] {1, 0, 0, 0}, new float[5], new float[5],
                0.7f, 0.15f, layers, "sha256:aa", "sha256:bb", "{\"steps\":400}");
        Path file = dir.resolve("teddy.perfusion");
        ConceptFile.write(file, c);
        String printed = run("inspect", file.toString());
        assertTrue(printed.contains("placeholder  <teddy>"), printed);
        assertTrue(printed.contains("superclass   teddy"), printed);
        assertTrue(printed.contains("beta 0.7, tau 0.15"), printed);
        assertTrue(printed.contains("Σd = 5"), printed);
        assertTrue(printed.contains("up_blocks.1.attentions.0.transformer_blocks.0.attn2"), printed);
        assertTrue(printed.contains("sha256:aa") && printed.contains("sha256:bb"), printed);
    }
}
