package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.io.JsonReader;
import dev.perfusion.io.JsonWriter;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import java.io.DataOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training in every {@link TrainMode} on the tiny model (2 steps, batch 1, 64×64): each run writes a concept that
 * loads against the model with its mode; NO_KEY_LOCKING learns its key targets from the locked keys' start,
 * EMBEDDING_ONLY learns the embedding only; NO_KEY_LOCKING resumes bit-identically, and a checkpoint written before
 * modes existed (PFTRAIN1, settings without {@code mode}) resumes as PERFUSION.
 */
@Tag("unit")
class TrainModeTrainingTest {
    private static final Path TINY = Path.of("src/test/resources/golden/tiny-sd15");

    @TempDir
    static Path shared;
    @TempDir
    Path dir;

    private static StableDiffusionPipeline pipe;
    private static Path covFile;
    private static Path images;
    private static final Map<TrainMode, PerfusionTrainer.TrainResult> RESULTS = new EnumMap<>(TrainMode.class);
    private static final Map<TrainMode, double[]> LRS = new EnumMap<>(TrainMode.class);
    private static final Map<TrainMode, TrainConfig> CONFIGS = new EnumMap<>(TrainMode.class);

    /** One 2-step run per mode, with a checkpoint after each step (shared by the tests: training is the slow part). */
    @BeforeAll
    static void load() throws Exception {
        pipe = StableDiffusionPipeline.load(TINY, new ReferenceBackend());
        covFile = SampleFixture.get().covarianceFile; // same text encoder; shared with the sampling tests
        images = oneImage(PerfusionTrainerTest.images(shared));
        for (TrainMode mode : TrainMode.values()) {
            TrainConfig cfg = config(shared.resolve(mode.name()), mode).checkpointEvery(1).build();
            CONFIGS.put(mode, cfg);
            RESULTS.put(mode, PerfusionTrainer.create(pipe, cfg, 0).train(new TrainListener() {
                @Override
                public void onStep(int step, double loss, double[] l, double eta) {
                    LRS.put(mode, l);
                }
            }));
        }
    }

    @AfterAll
    static void close() {
        if (pipe != null) {
            pipe.close();
        }
    }

    /** A folder with the first of the trainer test's images (fewer VAE encodes: the tests only need a run). */
    static Path oneImage(Path all) throws Exception {
        Path one = all.resolveSibling("one-image");
        Files.createDirectories(one);
        Files.copy(all.resolve("shape0.png"), one.resolve("shape0.png"));
        return one;
    }

    private static TrainConfig.Builder config(Path out, TrainMode mode) {
        return TrainConfig.builder().images(images).placeholder("<teddy>").superclass("teddy").covariance(covFile)
                .output(out.resolve("teddy.perfusion")).checkpointDir(out.resolve("ckpt")).resolution(64)
                .batchSize(1).gradientAccumulation(1).steps(2).checkpointEvery(0).seed(7).mode(mode)
                .templates(List.of("a photo of a {}", "a good photo of the {}", "a {} on a table"));
    }

    @Test
    void everyModeTrainsAndWritesALoadableConcept() throws Exception {
        Covariance.InverseFile inv = Covariance.read(covFile);
        ConceptFile.Requirements need = ConceptFile.Requirements.of(pipe.textEncoder(), pipe.unet(), pipe.tokenizer(),
                inv.fingerprint(), false);
        Map<TrainMode, PerfusionTrainer.TrainResult> results = RESULTS;
        Map<TrainMode, double[]> lrs = LRS;
        for (TrainMode mode : TrainMode.values()) {
            TrainConfig cfg = CONFIGS.get(mode);
            assertEquals(mode.name(), cfg.settings().get("mode"));
            PerfusionTrainer.TrainResult r = results.get(mode);
            assertEquals(2, r.losses().length);
            assertTrue(Arrays.stream(r.losses()).allMatch(Double::isFinite), Arrays.toString(r.losses()));
            Concept c = ConceptFile.load(cfg.output(), need);
            assertEquals(mode, c.mode());
            assertEquals(mode, r.concept().mode());
            assertArrayEquals(r.concept().embedding(), c.embedding());
            assertArrayEquals(r.concept().keyTargets(), c.keyTargets());
            assertArrayEquals(r.concept().values(), c.values());
            assertTrue(c.training().contains("\"mode\":\"" + mode.name() + "\""), c.training());
            System.out.printf("%s: losses %s%n", mode, Arrays.toString(r.losses()));
        }
        Concept p = results.get(TrainMode.PERFUSION).concept();
        Concept n = results.get(TrainMode.NO_KEY_LOCKING).concept();
        Concept e = results.get(TrainMode.EMBEDDING_ONLY).concept();
        assertNull(p.learnedKeys());
        assertArrayEquals(new double[] {6e-3, 3e-2}, lrs.get(TrainMode.PERFUSION));
        assertArrayEquals(new double[] {6e-3, 3e-2, 3e-2}, lrs.get(TrainMode.NO_KEY_LOCKING), "keys at the values' rate");
        assertArrayEquals(new double[] {6e-3}, lrs.get(TrainMode.EMBEDDING_ONLY));

        // the first micro-batch is the same in both editing modes: the learned keys start as the locked ones
        assertEquals(results.get(TrainMode.PERFUSION).losses()[0], results.get(TrainMode.NO_KEY_LOCKING).losses()[0]);
        assertArrayEquals(p.keys(), n.keys(), "NO_KEY_LOCKING's 'keys' = W_K·ē_super, as PERFUSION's");
        assertFalse(Arrays.equals(n.keys(), n.learnedKeys()), "the key targets were trained");
        assertEquals(p.keys().length, n.learnedKeys().length);

        // textual inversion: no edit, the embedding alone moved from the super-class word's
        assertEquals(List.of(), e.layers());
        assertEquals(0, e.keys().length);
        assertNotEquals(results.get(TrainMode.PERFUSION).losses()[0], results.get(TrainMode.EMBEDDING_ONLY).losses()[0],
                "without the edit the first prediction differs");
        int superId = pipe.tokenizer().tokenId("teddy</w>");
        int d = e.dim();
        float[] table = pipe.textEncoder().tokenEmbedding().weight().value().toFloatArray();
        assertFalse(Arrays.equals(Arrays.copyOfRange(table, superId * d, superId * d + d), e.embedding()));
    }

    @Test
    void noKeyLockingResumesBitIdentically() throws Exception {
        TrainConfig ca = CONFIGS.get(TrainMode.NO_KEY_LOCKING);
        TrainConfig cb = config(dir.resolve("b"), TrainMode.NO_KEY_LOCKING).checkpointEvery(1).build();
        PerfusionTrainer.TrainResult full = RESULTS.get(TrainMode.NO_KEY_LOCKING);
        PerfusionTrainer.TrainResult resumed = PerfusionTrainer.create(pipe, cb, 0)
                .resume(ca.checkpointDir().resolve("checkpoint-000001.pft"), null);
        assertArrayEquals(full.losses(), resumed.losses());
        assertArrayEquals(full.concept().learnedKeys(), resumed.concept().learnedKeys());
        assertArrayEquals(full.concept().values(), resumed.concept().values());
        assertArrayEquals(full.concept().embedding(), resumed.concept().embedding());

        // a checkpoint of another mode is refused
        TrainConfig other = config(dir.resolve("c"), TrainMode.PERFUSION).build();
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> PerfusionTrainer.create(pipe,
                other, 0).resume(ca.checkpointDir().resolve("checkpoint-000001.pft"), null));
        assertTrue(ex.getMessage().contains("other settings"), ex.getMessage());
    }

    @Test
    void aCheckpointFromBeforeModesResumesAsPerfusion() throws Exception {
        TrainConfig cfg = CONFIGS.get(TrainMode.PERFUSION);
        PerfusionTrainer.TrainResult full = RESULTS.get(TrainMode.PERFUSION);
        TrainCheckpoint ck = TrainCheckpoint.read(cfg.checkpointDir().resolve("checkpoint-000001.pft"));
        Path legacy = dir.resolve("legacy.pft");
        writeLegacy(ck, legacy);
        TrainConfig again = config(dir.resolve("again"), TrainMode.PERFUSION).build();
        PerfusionTrainer.TrainResult resumed = PerfusionTrainer.create(pipe, again, 0).resume(legacy, null);
        assertArrayEquals(full.losses(), resumed.losses());
        assertArrayEquals(full.concept().values(), resumed.concept().values());
        assertArrayEquals(full.concept().embedding(), resumed.concept().embedding());

        TrainConfig nkl = config(dir.resolve("nkl"), TrainMode.NO_KEY_LOCKING).build();
        assertThrows(IllegalArgumentException.class, () -> PerfusionTrainer.create(pipe, nkl, 0).resume(legacy, null));
    }

    /** The PFTRAIN1 layout (before training modes): no learned keys, settings without "mode". */
    @SuppressWarnings("unchecked")
    private static void writeLegacy(TrainCheckpoint ck, Path path) throws Exception {
        Map<String, Object> settings = new LinkedHashMap<>((Map<String, Object>) JsonReader.parse(ck.settings()));
        assertEquals("PERFUSION", settings.remove("mode"));
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(path))) {
            out.writeUTF("PFTRAIN1");
            byte[] s = JsonWriter.write(settings).getBytes(StandardCharsets.UTF_8);
            out.writeInt(s.length);
            out.write(s);
            out.writeUTF(ck.baseModel());
            out.writeUTF(ck.covariance());
            out.writeInt(ck.step());
            out.writeLong(ck.micro());
            out.writeBoolean(ck.initialized());
            doubles(out, ck.iStar());
            floats(out, ck.embedding());
            floats(out, ck.keys());
            floats(out, ck.values());
            doubles(out, ck.losses());
            out.writeInt(ck.optimizer().size());
            for (Map.Entry<String, double[]> e : new ArrayList<>(ck.optimizer().entrySet())) {
                out.writeUTF(e.getKey());
                doubles(out, e.getValue());
            }
        }
    }

    private static void doubles(DataOutputStream out, double[] a) throws Exception {
        out.writeInt(a.length);
        for (double v : a) {
            out.writeDouble(v);
        }
    }

    private static void floats(DataOutputStream out, float[] a) throws Exception {
        out.writeInt(a.length);
        for (float v : a) {
            out.writeFloat(v);
        }
    }
}
