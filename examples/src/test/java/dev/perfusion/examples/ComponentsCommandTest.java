package dev.perfusion.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * {@code perfusion components} from the command line: each golden case of the tiny SD v1.5 folder is written as an
 * inputs file under the command's tensor names, run in-process through {@link PerfusionCli}, and the output file is
 * compared with diffusers' / transformers' outputs (models: |a − b| ≤ 1e-4 + 1e-4·|ref|); plus the errors a user
 * can make, each of which must exit non-zero, name the problem and write nothing.
 */
@Tag("unit")
class ComponentsCommandTest {
    // surefire runs in the examples module folder; the goldens live with perfusion-core's tests
    private static final Path GOLDEN = Path.of("../perfusion-core/src/test/resources/golden");
    private static final Path MODEL = GOLDEN.resolve("tiny-sd15");
    private static final Path CASES = GOLDEN.resolve("cases");
    private static final Tolerance MODEL_TOL = new Tolerance(1e-4, 1e-4);

    /** For reading goldens and writing inputs files only; the command makes its own backend. */
    private static Backend io;

    @TempDir
    Path dir;

    @BeforeAll
    static void openBackend() {
        io = Backends.create("reference");
    }

    @AfterAll
    static void closeBackend() {
        io.close();
    }

    private record Run(int rc, String out, String err) {
    }

    private static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new PerfusionCli());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute(args);
        System.out.print(out); // the command's report (component, backend, shapes, time) in the test log
        return new Run(rc, out.toString(), err.toString());
    }

    private Run components(String component, Path inputs, Path output, String backend) {
        return cli("components", "--model", MODEL.toString(), "--component", component, "--inputs", inputs.toString(),
                "--out", output.toString(), "--backend", backend);
    }

    /**
     * Writes an inputs file from golden tensors: {@code pairs} = command name, golden name, …; INT64 tensors are
     * cast to {@code castTo} when it is not null.
     */
    private Path inputsFile(String caseFile, DType castTo, String... pairs) throws Exception {
        Path file = dir.resolve("in.safetensors");
        try (SafeTensors st = SafeTensors.open(CASES.resolve(caseFile)); TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            for (int i = 0; i < pairs.length; i += 2) {
                Tensor t = st.tensor(pairs[i + 1], io);
                m.put(pairs[i], castTo == null || !t.dtype().equals(DType.INT64) ? t : io.cast(t, castTo));
            }
            SafeTensors.write(file, m, null);
        }
        return file;
    }

    /**
     * Checks that the output file holds exactly the named tensors ({@code pairs} = output name, golden name, …) and
     * that each matches its golden within the model tolerance; prints the largest errors for the record.
     */
    private static void assertOutputs(Path output, String caseFile, String... pairs) throws Exception {
        try (SafeTensors got = SafeTensors.open(output); SafeTensors ref = SafeTensors.open(CASES.resolve(caseFile));
             TensorScope scope = TensorScope.open()) {
            List<String> expectedNames = new ArrayList<>();
            for (int i = 0; i < pairs.length; i += 2) {
                expectedNames.add(pairs[i]);
                Tensor a = got.tensor(pairs[i], io);
                Tensor e = ref.tensor(pairs[i + 1], io);
                assertEquals(DType.FLOAT32, a.dtype(), pairs[i]);
                Tolerance.Comparison c = MODEL_TOL.compare(e.toFloatArray(), a.toFloatArray());
                System.out.printf(Locale.ROOT, "components %s vs %s: max |Δ| %.3g, max rel %.3g%n", pairs[i],
                        pairs[i + 1], c.maxAbs(), c.maxRel());
                MODEL_TOL.assertClose(pairs[i + 1], e, a);
            }
            assertEquals(expectedNames, got.names());
        }
    }

    // ------------------------------------------------------------------ golden cases

    @ParameterizedTest
    @CsvSource({"prompts, I64", "random, I32"})
    void textEncoderMatchesTransformers(String c, String dtype) throws Exception {
        Path in = inputsFile("text_encoder_cases.safetensors", DType.fromSafetensorsName(dtype),
                "input_ids", c + ".input_ids");
        Path out = dir.resolve("out.safetensors");
        Run r = components("text_encoder", in, out, "nd4j");
        assertEquals(0, r.rc(), r.err());
        assertOutputs(out, "text_encoder_cases.safetensors",
                "last_hidden_state", c + ".last_hidden_state", "pooler_output", c + ".pooler_output");
        // one line each: what ran, where, on what, and how long it took
        assertTrue(r.out().contains("component: text_encoder"), r.out());
        assertTrue(r.out().contains("backend:   nd4j"), r.out());
        assertTrue(r.out().contains("input_ids " + dtype + " [" + (c.equals("prompts") ? 4 : 2) + ", 77]"), r.out());
        assertTrue(r.out().contains("last_hidden_state F32 ["), r.out());
        assertTrue(r.out().contains("time:"), r.out());
    }

    @ParameterizedTest
    // one case per timestep form (I64 0-d, I64 [B], F32 0-d); perfusion-core's UNet tests run the others. Two run
    // on the reference backend: for these tiny shapes it is faster than ND4J (per-op overhead dominates)
    @CsvSource({"b1_16x16_t999, nd4j", "b2_8x8_tvec, reference", "b1_16x16_tfloat, reference"})
    void unetMatchesDiffusers(String c, String backend) throws Exception {
        Path in = inputsFile("unet_sd15_cases.safetensors", null, "sample", c + ".in_sample",
                "timestep", c + ".in_timestep", "encoder_hidden_states", c + ".in_encoder_hidden_states");
        Path out = dir.resolve("out.safetensors");
        Run r = components("unet", in, out, backend);
        assertEquals(0, r.rc(), r.err());
        assertOutputs(out, "unet_sd15_cases.safetensors", "sample", c + ".out_sample");
    }

    @ParameterizedTest
    @ValueSource(strings = {"enc_b1_32x32", "enc_b2_48x32"})
    void vaeEncodeMatchesDiffusers(String c) throws Exception {
        Path in = inputsFile("vae_cases.safetensors", null, "sample", c + ".in_image");
        Path out = dir.resolve("out.safetensors");
        Run r = components("vae_encode", in, out, "nd4j");
        assertEquals(0, r.rc(), r.err());
        assertOutputs(out, "vae_cases.safetensors", "mean", c + ".latent_mean", "logvar", c + ".latent_logvar_clamped");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dec_b1_4x4", "dec_b2_6x4"})
    void vaeDecodeMatchesDiffusers(String c) throws Exception {
        Path in = inputsFile("vae_cases.safetensors", null, "latent", c + ".in_latent");
        Path out = dir.resolve("out.safetensors");
        Run r = components("vae_decode", in, out, "nd4j");
        assertEquals(0, r.rc(), r.err());
        assertOutputs(out, "vae_cases.safetensors", "sample", c + ".out_sample");
    }

    // ------------------------------------------------------------------ errors: non-zero exit, a named problem, no file

    private void assertFails(Run r, Path out, String... mentioned) {
        assertNotEquals(0, r.rc(), r.out());
        for (String s : mentioned) {
            assertTrue(r.err().contains(s), "error should mention '" + s + "': " + r.err());
        }
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertFalse(Files.exists(out), "nothing may be written on failure");
    }

    private Path vaeDecodeInputs() throws Exception {
        return inputsFile("vae_cases.safetensors", null, "latent", "dec_b1_4x4.in_latent");
    }

    @Test
    void missingModelFolder() throws Exception {
        Path out = dir.resolve("out.safetensors");
        Path missing = dir.resolve("no-such-model");
        Run r = cli("components", "--model", missing.toString(), "--component", "vae_decode",
                "--inputs", vaeDecodeInputs().toString(), "--out", out.toString(), "--backend", "reference");
        assertFails(r, out, "model folder", missing.toString(), "does not exist");
    }

    @Test
    void missingComponentFolder() throws Exception {
        Path model = Files.createDirectories(dir.resolve("model-without-vae").resolve("unet")).getParent();
        Path out = dir.resolve("out.safetensors");
        Run r = cli("components", "--model", model.toString(), "--component", "vae_decode",
                "--inputs", vaeDecodeInputs().toString(), "--out", out.toString(), "--backend", "reference");
        assertFails(r, out, "has no vae/ sub-folder", model.toString());
    }

    @Test
    void unknownComponent() throws Exception {
        Path out = dir.resolve("out.safetensors");
        Run r = components("vae", vaeDecodeInputs(), out, "reference");
        assertFails(r, out, "unknown component 'vae'", "text_encoder, unet, vae_encode, vae_decode");
    }

    @Test
    void unknownBackend() throws Exception {
        Path out = dir.resolve("out.safetensors");
        Run r = components("vae_decode", vaeDecodeInputs(), out, "tpu");
        assertFails(r, out, "unknown backend 'tpu'");
    }

    @Test
    void missingInputsFile() {
        Path out = dir.resolve("out.safetensors");
        Run r = components("vae_decode", dir.resolve("nope.safetensors"), out, "reference");
        assertFails(r, out, "inputs file", "nope.safetensors", "does not exist");
    }

    @Test
    void missingInputNameListsWhatTheFileHas() throws Exception {
        // the golden names, not renamed: the user forgot to rename them
        Path in = inputsFile("unet_sd15_cases.safetensors", null, "in_sample", "b1_16x16_t999.in_sample",
                "timestep", "b1_16x16_t999.in_timestep");
        Path out = dir.resolve("out.safetensors");
        Run r = components("unet", in, out, "reference");
        assertFails(r, out, "no tensor 'sample'", "needed by unet", "in_sample, timestep", in.toString());
    }

    @Test
    void wrongDtype() throws Exception {
        // token ids stored as floats
        Path in = inputsFile("unet_sd15_cases.safetensors", null, "input_ids", "b1_16x16_t999.in_sample");
        Path out = dir.resolve("out.safetensors");
        Run r = components("text_encoder", in, out, "reference");
        assertFails(r, out, "input 'input_ids'", "is F32", "I64 or I32");
    }

    @Test
    void wrongRank() throws Exception {
        Path in = inputsFile("unet_sd15_cases.safetensors", null, "latent", "b1_16x16_t999.in_encoder_hidden_states");
        Path out = dir.resolve("out.safetensors");
        Run r = components("vae_decode", in, out, "reference");
        assertFails(r, out, "input 'latent'", "[1, 77, 24]", "rank 4");
    }

    @Test
    void wrongChannels() throws Exception {
        // an image where a latent belongs: 3 channels instead of 4
        Path in = inputsFile("vae_cases.safetensors", null, "latent", "enc_b1_32x32.in_image");
        Path out = dir.resolve("out.safetensors");
        Run r = components("vae_decode", in, out, "reference");
        assertFails(r, out, "input 'latent'", "[1, 3, 32, 32]", "[B, 4, h, w]");
    }

    @Test
    void imageSizeNotAMultipleOfTheDownsampling() throws Exception {
        Path in = dir.resolve("in.safetensors");
        try (TensorScope scope = TensorScope.open()) {
            SafeTensors.write(in, Map.of("sample", io.full(Shape.of(1, 3, 20, 32), 0f)), null);
        }
        Path out = dir.resolve("out.safetensors");
        Run r = components("vae_encode", in, out, "reference");
        assertFails(r, out, "input 'sample'", "[1, 3, 20, 32]", "multiples of 8");
    }

    @Test
    void unetBatchMismatch() throws Exception {
        // batch-2 text encoding for a batch-1 sample
        Path in = inputsFile("unet_sd15_cases.safetensors", null, "sample", "b1_16x16_t999.in_sample",
                "timestep", "b1_16x16_t999.in_timestep", "encoder_hidden_states", "b2_16x16_t999.in_encoder_hidden_states");
        Path out = dir.resolve("out.safetensors");
        Run r = components("unet", in, out, "reference");
        assertFails(r, out, "input 'encoder_hidden_states'", "[2, 77, 24]", "[1, M, 24]");
    }

    @Test
    void outputInAMissingFolder() throws Exception {
        Path missing = dir.resolve("missing");
        Path out = missing.resolve("out.safetensors");
        Run r = components("vae_decode", vaeDecodeInputs(), out, "reference");
        assertFails(r, out, "output folder", missing.toAbsolutePath().toString(), "does not exist");
        assertFalse(Files.exists(missing));
    }

    @Test
    void missingRequiredOptionIsAUsageError() throws Exception {
        Run r = cli("components", "--model", MODEL.toString(), "--component", "unet");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--inputs"), r.err());
    }
}
