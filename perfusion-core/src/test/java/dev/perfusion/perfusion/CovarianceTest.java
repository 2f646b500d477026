package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.tensor.Backend;
import dev.perfusion.testing.GoldenFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Covariance} on the tiny golden text encoder (D = 24): the token rule and normalisation against the golden
 * {@code C_raw}, inversion, and the covariance file.
 */
@Tag("unit")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CovarianceTest {
    private static final Path TINY = Path.of("src/test/resources/golden/tiny-sd15");
    private static final Path CAPTIONS = Path.of("src/test/resources/data/partiprompts-300.txt");

    private Backend be;
    private CLIPTextModel te;
    private CLIPTokenizer tok;

    @TempDir
    Path dir;

    @BeforeAll
    void load() throws Exception {
        be = new Nd4jBackend();
        te = CLIPTextModel.load(TINY.resolve("text_encoder"), be);
        tok = CLIPTokenizer.fromFolder(TINY.resolve("tokenizer"));
    }

    @AfterAll
    void close() {
        te.close();
    }

    /**
     * Golden README §10: {@code C_raw} = Σ e eᵀ over BOS..first EOS of the 42 tokenizer prompts, divided by the
     * number of prompts — lucidrains' rule, which the method doc prescribes too (§1.3, §7: S / N_captions). Ours
     * must equal it: 1e-5 relative to max |C| (float32 text encodings, summed in double on both sides).
     */
    @Test
    @SuppressWarnings("unchecked")
    void theEstimateMatchesTheGoldenRawCovariance() {
        GoldenFile g = GoldenFile.open("perfusion_rank1.safetensors");
        List<String> prompts = (List<String>) g.goldenJson().get("covariance_prompts");
        assertEquals(42, prompts.size());
        Covariance c = Covariance.estimate(te, tok, prompts, 8, null);
        assertEquals(42, c.captions());
        double err = PerfusionTesting.relToMax(toFloat(c.matrix()), PerfusionTesting.toDouble(g.f32("C_raw")));
        System.out.printf("covariance of the 42 golden prompts vs C_raw: %.2e relative to max (%d tokens)%n", err,
                c.tokens());
        assertTrue(err < 1e-5, "C vs C_raw: " + err);
        // the golden's regularised C = C_raw + 0.05·mean(diag)·I, inverted: our ridge option reproduces C_inv
        double[] inv = c.inverse(0.05);
        double invErr = PerfusionTesting.relToMax(toFloat(inv), PerfusionTesting.toDouble(g.f32("C_inv")));
        System.out.printf("ridge-0.05 inverse vs golden C_inv: %.2e relative to max%n", invErr);
        assertTrue(invErr < 1e-4, "inverse vs C_inv: " + invErr);
    }

    @Test
    void threeHundredCaptionsGiveAnInvertibleSymmetricCovarianceAndAFile() throws Exception {
        List<String> captions = Files.readAllLines(CAPTIONS);
        assertEquals(300, captions.size());
        List<long[]> progress = new ArrayList<>();
        Covariance c = Covariance.estimate(te, tok, captions, 32, (done, total) -> progress.add(new long[] {done, total}));
        assertEquals(10, progress.size());
        assertArrayEquals(new long[] {300, 300}, progress.get(progress.size() - 1));
        int d = c.dim();
        assertEquals(24, d);
        double[] m = c.matrix();
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                assertEquals(m[i * d + j], m[j * d + i], 0.0, "C symmetric");
            }
        }
        System.out.printf("300 captions: %d tokens, κ₁(C) = %.3g%n", c.tokens(), c.condition());
        double[] inv = c.inverse();
        double[] prod = DenseMatrix.multiply(inv, m, d, d, d);
        double worst = 0;
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                worst = Math.max(worst, Math.abs(prod[i * d + j] - (i == j ? 1 : 0)));
            }
        }
        System.out.printf("max |C⁻¹C − I| = %.2e%n", worst);
        assertTrue(worst < 1e-8, "C⁻¹C − I: " + worst);

        Path f = dir.resolve("cov.safetensors");
        c.write(f, "sha256:base", "partiprompts-300", 0);
        Covariance.InverseFile r = Covariance.read(f);
        assertEquals(d, r.dim());
        assertArrayEquals(toFloat(inv), r.cInv());
        Map<String, String> meta = r.metadata();
        assertEquals("perfusion-covariance", meta.get("format"));
        assertEquals("1", meta.get("format_version"));
        assertEquals("300", meta.get("captions"));
        assertEquals("bos..eos", meta.get("token_rule"));
        assertEquals("partiprompts-300", meta.get("corpus"));
        assertEquals("sha256:base", r.baseModel());
        assertEquals(Fingerprints.covariance(toFloat(inv)), r.fingerprint());
        assertTrue(r.fingerprint().startsWith("sha256:") && r.fingerprint().length() == 7 + 64);
    }

    @Test
    void aSingularCovarianceIsRefusedClearly() {
        // one caption gives a handful of token encodings: far fewer than D = 24, so C has rank < D
        Covariance c = Covariance.estimate(te, tok, List.of("a cat"), 4, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::inverse);
        assertTrue(e.getMessage().contains("covariance"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Covariance.estimate(te, tok, List.of(), 4, null));
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }
}
