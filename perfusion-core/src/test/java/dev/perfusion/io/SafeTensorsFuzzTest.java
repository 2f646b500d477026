package dev.perfusion.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes {@link SafeTensors#open} with arbitrary bytes: the only acceptable failure is a
 * {@link SafeTensorsFormatException} naming the file; anything else (another exception, an
 * {@code OutOfMemoryError}, a {@code StackOverflowError}) is a finding. A file that opens must satisfy the
 * format's invariants, give every tensor's bytes, and survive a write/read round trip.
 *
 * <p><b>Regression mode</b> (every {@code mvn test}): Jazzer runs the seed corpus in
 * {@code src/test/resources/dev/perfusion/io/SafeTensorsFuzzTestInputs/readsAnyFileSafely/} (valid files named
 * {@code valid_*}, broken ones {@code bad_*}; crash inputs found by fuzzing go there too) plus an empty input,
 * each as one test invocation; {@link #allSeedsRan()} checks that they all did.
 *
 * <p><b>Fuzzing mode</b> (coverage-guided, for {@code maxDuration}; raise it for a longer session):
 * <pre>
 * JAZZER_FUZZ=1 mvn -B -o -pl perfusion-core test -Dtest=SafeTensorsFuzzTest -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 * Jazzer keeps its generated corpus in {@code perfusion-core/.cifuzz-corpus/} (not committed) and writes each
 * finding as {@code crash-<sha1>} into the seed directory above, where it becomes a regression test.
 */
@Tag("unit")
class SafeTensorsFuzzTest {
    private static final String SEEDS = "SafeTensorsFuzzTestInputs/readsAnyFileSafely";
    private static final AtomicInteger EXECUTIONS = new AtomicInteger();

    @TempDir
    static Path dir;

    private static final Backend BACKEND = new ReferenceBackend();

    @FuzzTest(maxDuration = "3m")
    void readsAnyFileSafely(byte[] data) throws IOException {
        EXECUTIONS.incrementAndGet();
        Path file = Files.write(dir.resolve("input.safetensors"), data);
        SafeTensors st;
        try {
            st = SafeTensors.open(file);
        } catch (SafeTensorsFormatException e) {
            if (!e.getMessage().startsWith(file + ": ") || e.problem().isEmpty()) {
                throw new AssertionError("format error without the file or a problem: " + e.getMessage(), e);
            }
            return;
        }
        try (st; TensorScope scope = TensorScope.open()) {
            checkInvariants(st, data);
            roundTrip(st);
        }
    }

    /** What a file that opened must satisfy: unique names, sizes that add up to the data section. */
    private static void checkInvariants(SafeTensors st, byte[] data) {
        long headerLength = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        long dataLength = data.length - 8 - headerLength;
        Set<String> seen = new HashSet<>();
        long total = 0;
        for (String name : st.names()) {
            assertTrue(seen.add(name), "duplicate name " + name);
            TensorInfo info = st.info(name);
            assertEquals(info.numel() * info.dtype().byteSize(), info.byteSize());
            assertTrue(0 <= info.begin() && info.end() <= dataLength);
            ByteBuffer b = st.buffer(name);
            assertEquals(info.byteSize(), b.remaining());
            assertEquals(ByteOrder.LITTLE_ENDIAN, b.order());
            // the mapped bytes are the file's bytes at that offset
            int at = (int) (8 + headerLength + info.begin());
            for (int i = 0; i < b.remaining(); i++) {
                if (b.get(i) != data[at + i]) {
                    throw new AssertionError(name + ": byte " + i + " differs from the file");
                }
            }
            total += info.byteSize();
        }
        assertEquals(dataLength, total, "tensors tile the data section");
        st.metadata().forEach((k, v) -> assertTrue(k != null && v != null));
    }

    /** Reads every tensor through a backend, writes them back, and reads the copy. */
    private static void roundTrip(SafeTensors st) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String name : st.names()) {
            tensors.put(name, st.tensor(name, BACKEND));
        }
        Path copy = dir.resolve("copy.safetensors");
        SafeTensors.write(copy, tensors, st.metadata());
        try (SafeTensors back = SafeTensors.open(copy)) {
            assertEquals(st.names(), back.names());
            assertEquals(st.metadata(), back.metadata());
            for (String name : st.names()) {
                assertEquals(st.info(name).dtype(), back.info(name).dtype());
                assertEquals(st.info(name).shape(), back.info(name).shape());
                Tensor again = back.tensor(name, BACKEND);
                if (again.dtype().isFloating()) {
                    // bit equality up to NaN payloads, which fp16/bf16 narrowing canonicalises
                    assertArrayEquals(tensors.get(name).toFloatArray(), again.toFloatArray(), name);
                } else {
                    assertArrayEquals(tensors.get(name).toLongArray(), again.toLongArray(), name);
                }
            }
        }
    }

    static List<Path> seeds() throws IOException, URISyntaxException {
        var url = SafeTensorsFuzzTest.class.getResource(SEEDS);
        assertTrue(url != null, SEEDS + " is missing from the test resources");
        try (var files = Files.list(Path.of(url.toURI()))) {
            return files.sorted().toList();
        }
    }

    @Test
    void seedsAreWhatTheirNamesSay() throws Exception {
        List<Path> seeds = seeds();
        assertTrue(seeds.size() >= 20, "seed corpus has " + seeds.size() + " files");
        for (Path seed : seeds) {
            String name = seed.getFileName().toString();
            if (name.startsWith("valid_")) {
                assertDoesNotThrow(() -> SafeTensors.open(seed).close(), name);
            } else if (name.startsWith("bad_")) {
                assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.open(seed).close(), name);
            }
        }
    }

    /** In regression mode every seed (plus Jazzer's empty input) must have run as its own invocation. */
    @AfterAll
    static void allSeedsRan() throws Exception {
        if (System.getenv("JAZZER_FUZZ") != null || EXECUTIONS.get() == 0) {
            return; // fuzzing mode, or the fuzz test was filtered out
        }
        int expected = seeds().size() + 1;
        assertEquals(expected, EXECUTIONS.get(), "fuzz test invocations (seeds + the empty input)");
        System.out.println("SafeTensorsFuzzTest: ran " + EXECUTIONS.get() + " seed inputs in regression mode");
    }
}
