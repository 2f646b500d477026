package dev.perfusion.io;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reads a file written by Python's safetensors ({@code golden/cases/scheduler_ddim.safetensors}, copied into
 * test resources) and checks it against the facts listed for it in {@code golden/MANIFEST.json}.
 */
@Tag("unit")
class SafeTensorsGoldenTest {
    private static final String RESOURCE = "/golden/cases/scheduler_ddim.safetensors";
    /** From MANIFEST.json. */
    private static final long BYTES = 90188;
    private static final String SHA256 = "17ad9a1044a2d2f598402705bdb2b4fcf5ab40fc167655df815f1118179bbf97";

    private static final int[] STEP = {1, 4, 6, 4};

    /** Name → (dtype, shape), from MANIFEST.json, in the file's header order (the writer's data order). */
    private static final Map<String, Object[]> TENSORS = new LinkedHashMap<>();

    static {
        put("eps_eta0.timesteps", DType.INT64, 50);
        put("eps_eta1.timesteps", DType.INT64, 10);
        put("timesteps_leading", DType.INT64, 50);
        put("timesteps_linspace", DType.INT64, 50);
        put("timesteps_trailing", DType.INT64, 50);
        put("vpred_eta0.timesteps", DType.INT64, 10);
        put("eps_eta0.eta", DType.FLOAT32);
        put("eps_eta0.initial_sample", DType.FLOAT32, STEP);
        put("eps_eta0.model_outputs", DType.FLOAT32, 50, 1, 4, 6, 4);
        put("eps_eta0.pred_original_samples", DType.FLOAT32, 50, 1, 4, 6, 4);
        put("eps_eta0.prev_samples", DType.FLOAT32, 50, 1, 4, 6, 4);
        put("eps_eta1.eta", DType.FLOAT32);
        put("eps_eta1.initial_sample", DType.FLOAT32, STEP);
        put("eps_eta1.model_outputs", DType.FLOAT32, 10, 1, 4, 6, 4);
        put("eps_eta1.pred_original_samples", DType.FLOAT32, 10, 1, 4, 6, 4);
        put("eps_eta1.prev_samples", DType.FLOAT32, 10, 1, 4, 6, 4);
        put("eps_eta1.variance_noise", DType.FLOAT32, 10, 1, 4, 6, 4);
        put("final_alpha_cumprod", DType.FLOAT32);
        put("init_noise_sigma", DType.FLOAT32);
        put("vpred_eta0.eta", DType.FLOAT32);
        put("vpred_eta0.initial_sample", DType.FLOAT32, STEP);
        put("vpred_eta0.model_outputs", DType.FLOAT32, 10, 1, 4, 6, 4);
        put("vpred_eta0.pred_original_samples", DType.FLOAT32, 10, 1, 4, 6, 4);
        put("vpred_eta0.prev_samples", DType.FLOAT32, 10, 1, 4, 6, 4);
    }

    private static void put(String name, DType dtype, int... shape) {
        TENSORS.put(name, new Object[]{dtype, Shape.of(shape)});
    }

    @TempDir
    Path dir;

    private final Backend backend = new ReferenceBackend();

    static Path golden() throws URISyntaxException {
        var url = SafeTensorsGoldenTest.class.getResource(RESOURCE);
        assertNotNull(url, RESOURCE + " is missing from the test resources");
        return Path.of(url.toURI());
    }

    @Test
    void resourceIsTheManifestFile() throws Exception {
        byte[] bytes = Files.readAllBytes(golden());
        assertEquals(BYTES, bytes.length);
        assertEquals(SHA256, sha256(bytes));
    }

    @Test
    void namesDtypesAndShapesMatchTheManifest() throws Exception {
        try (SafeTensors st = SafeTensors.open(golden())) {
            assertEquals(List.copyOf(TENSORS.keySet()), st.names());
            long covered = 0;
            for (Map.Entry<String, Object[]> e : TENSORS.entrySet()) {
                TensorInfo info = st.info(e.getKey());
                assertEquals(e.getValue()[0], info.dtype(), e.getKey());
                assertEquals(e.getValue()[1], info.shape(), e.getKey());
                // this writer lays tensors out in header order
                assertEquals(covered, info.begin(), e.getKey());
                covered = info.end();
            }
            assertEquals(BYTES - 8 - 2768, covered, "the data section (header of 2768 bytes)");
        }
    }

    @Test
    void metadataIsTheGoldenJson() throws Exception {
        try (SafeTensors st = SafeTensors.open(golden())) {
            assertEquals(List.of("golden"), List.copyOf(st.metadata().keySet()));
            Map<?, ?> golden = (Map<?, ?>) JsonReader.parse(st.metadata().get("golden"));
            assertEquals("DDIMScheduler", golden.get("scheduler"));
            assertEquals(50L, golden.get("n_main"));
            Map<?, ?> config = (Map<?, ?>) golden.get("config");
            assertEquals(1000L, config.get("num_train_timesteps"));
            assertEquals(0.00085, config.get("beta_start"));
            assertEquals("scaled_linear", config.get("beta_schedule"));
            assertEquals(JsonReader.NULL, config.get("trained_betas"));
            assertEquals(Boolean.FALSE, config.get("clip_sample"));
            assertEquals("0.30.3", ((Map<?, ?>) golden.get("versions")).get("diffusers"));
        }
    }

    @Test
    void valuesMatchWhatPythonWrote() throws Exception {
        try (TensorScope scope = TensorScope.open(); SafeTensors st = SafeTensors.open(golden())) {
            long[] timesteps = st.tensor("eps_eta0.timesteps", backend).toLongArray();
            assertEquals(50, timesteps.length);
            assertArrayEquals(new long[]{981, 961, 941, 921}, java.util.Arrays.copyOf(timesteps, 4));
            assertEquals(1, timesteps[49]);
            assertEquals(0.9991499781608582f, st.tensor("final_alpha_cumprod", backend).item());
            assertEquals(1f, st.tensor("eps_eta1.eta", backend).item());
            float[] sample = st.tensor("eps_eta0.initial_sample", backend).toFloatArray();
            assertEquals(0.3488822877407074f, sample[0]);
            assertEquals(-0.9293275475502014f, sample[1]);
        }
    }

    @Test
    void rewritingReproducesThePythonFileByteForByte() throws Exception {
        Path copy = dir.resolve("copy.safetensors");
        try (TensorScope scope = TensorScope.open(); SafeTensors st = SafeTensors.open(golden())) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : st.names()) {
                tensors.put(name, st.tensor(name, backend));
            }
            SafeTensors.write(copy, tensors, st.metadata());
        }
        assertTrue(Files.exists(copy));
        assertEquals(sha256(Files.readAllBytes(golden())), sha256(Files.readAllBytes(copy)));
    }

    private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
