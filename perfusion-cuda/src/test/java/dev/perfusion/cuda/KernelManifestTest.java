package dev.perfusion.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.perfusion.io.JsonReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The shipped kernels are built from the current sources: the manifest that {@code build-kernels.sh} writes lists
 * the sha256 of every {@code src/main/cuda/*.cu} and {@code *.cuh} and of every output; this CPU test recomputes
 * them and fails, naming the file and the command to run, when a source changed, was added or removed without a
 * rebuild, or when an output is missing or was changed by hand. Runs with the perfusion-cuda module as working
 * directory (surefire's default).
 */
@Tag("unit")
class KernelManifestTest {
    static final Path SOURCES = Path.of("src/main/cuda");
    static final Path KERNELS = Path.of("src/main/resources/dev/perfusion/cuda/kernels");
    static final String REBUILD = "run perfusion-cuda/build-kernels.sh (needs nvcc 13) and commit its output";
    private static final String[] CUBIN_ARCHS = {"sm_80", "sm_90"};

    @SuppressWarnings("unchecked")
    static Map<String, Object> manifest() throws IOException {
        Path p = KERNELS.resolve("manifest.json");
        assertTrue(Files.isRegularFile(p), p.toAbsolutePath() + " is missing: " + REBUILD);
        return (Map<String, Object>) JsonReader.parse(Files.readString(p, StandardCharsets.UTF_8));
    }

    @Test
    @SuppressWarnings("unchecked")
    void sourcesMatchTheManifest() throws IOException {
        Map<String, Object> recorded = (Map<String, Object>) manifest().get("sources");
        Map<String, String> now = new TreeMap<>();
        try (Stream<Path> files = Files.list(SOURCES)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".cu") || name.endsWith(".cuh")) {
                    now.put(name, sha256(f));
                }
            }
        }
        assertTrue(!now.isEmpty(), "no kernel sources under " + SOURCES.toAbsolutePath());
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> e : now.entrySet()) {
            Object had = recorded.get(e.getKey());
            if (had == null) {
                problems.add(e.getKey() + " is new (not in the manifest)");
            } else if (!had.equals(e.getValue())) {
                problems.add(e.getKey() + " changed (manifest " + abbrev(had) + ", now " + abbrev(e.getValue()) + ")");
            }
        }
        for (String name : recorded.keySet()) {
            if (!now.containsKey(name)) {
                problems.add(name + " is in the manifest but no longer in " + SOURCES);
            }
        }
        if (!problems.isEmpty()) {
            fail("the compiled kernels are stale: " + String.join("; ", problems) + ". To fix: " + REBUILD);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyModuleHasItsPtxAndCubinsAndThemanifestHashesMatch() throws IOException {
        Map<String, Object> m = manifest();
        Map<String, Object> outputs = (Map<String, Object>) m.get("outputs");
        List<String> problems = new ArrayList<>();
        try (Stream<Path> files = Files.list(SOURCES)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu")).sorted().toList()) {
                String module = f.getFileName().toString().replaceFirst("\\.cu$", "");
                List<String> expected = new ArrayList<>(List.of(module + ".ptx"));
                for (String arch : CUBIN_ARCHS) {
                    expected.add(module + "." + arch + ".cubin");
                }
                for (String out : expected) {
                    Path p = KERNELS.resolve(out);
                    if (!Files.isRegularFile(p)) {
                        problems.add(out + " is missing");
                    } else if (!String.valueOf(outputs.get(out)).equals(sha256(p))) {
                        problems.add(out + " does not match the manifest's hash (edited by hand or a partial build)");
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            fail("kernel resources under " + KERNELS + ": " + String.join("; ", problems) + ". To fix: " + REBUILD);
        }
    }

    @Test
    void manifestRecordsTheCompilerAndThePinnedFlags() throws IOException {
        Map<String, Object> m = manifest();
        String flags = String.valueOf(m.get("flags"));
        assertTrue(flags.contains("-O3") && flags.contains("-std=c++17"), flags);
        // shipped kernels carry no line info (LINEINFO=1 is for profiling builds): it triples the cubins
        assertTrue(!flags.contains("-lineinfo"), "shipped kernels are built without -lineinfo: " + flags);
        assertTrue(!flags.contains("fast_math") && !flags.contains("fast-math"),
                "fast math is not allowed (the kernels need IEEE expf/erff): " + flags);
        assertTrue(String.valueOf(m.get("nvcc")).contains("release"), "nvcc version: " + m.get("nvcc"));
        assertTrue(String.valueOf(m.get("ptxArch")).equals("compute_80"), "ptxArch: " + m.get("ptxArch"));
    }

    static String sha256(Path p) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String abbrev(Object hash) {
        String s = String.valueOf(hash);
        return s.length() > 12 ? s.substring(0, 12) + "…" : s;
    }
}
