package dev.perfusion.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every kernel name the Java code launches exists as an {@code .entry} in the shipped PTX of its module, checked
 * on the CPU by reading the sources: each {@code KernelRef.of("module", "name"[, Variants.X])} (expanded to all of
 * its type variants) and each literal {@code .kernel("module", "name")} call. A typo in a kernel name would
 * otherwise only show on a GPU, as {@code CUDA_ERROR_NOT_FOUND}.
 */
@Tag("unit")
class KernelEntriesTest {
    private static final Path JAVA = Path.of("src/main/java");
    private static final Pattern REF = Pattern.compile(
            "KernelRef\\.of\\(\\s*\"(\\w+)\"\\s*,\\s*\"(\\w+)\"\\s*(?:,\\s*(?:KernelRef\\.)?(?:Variants\\.)?(\\w+)\\s*)?\\)");
    private static final Pattern LITERAL = Pattern.compile("\\.kernel\\(\\s*\"(\\w+)\"\\s*,\\s*\"(\\w+)\"\\s*\\)");
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(");

    private final Map<String, Set<String>> entries = new HashMap<>();

    private Set<String> entries(String module) throws IOException {
        Set<String> e = entries.get(module);
        if (e == null) {
            Path ptx = KernelManifestTest.KERNELS.resolve(module + ".ptx");
            assertTrue(Files.isRegularFile(ptx), ptx + " is missing: " + KernelManifestTest.REBUILD);
            e = new HashSet<>();
            Matcher m = ENTRY.matcher(Files.readString(ptx, StandardCharsets.US_ASCII));
            while (m.find()) {
                e.add(m.group(1));
            }
            entries.put(module, e);
        }
        return e;
    }

    @Test
    void everyLaunchedKernelIsInThePtx() throws IOException {
        List<String> missing = new ArrayList<>();
        int checked = 0;
        List<Path> sources;
        try (Stream<Path> s = Files.walk(JAVA)) {
            sources = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        for (Path src : sources) {
            String text = Files.readString(src, StandardCharsets.UTF_8);
            Matcher m = REF.matcher(text);
            while (m.find()) {
                KernelRef.Variants v = m.group(3) == null ? KernelRef.Variants.NONE
                        : KernelRef.Variants.valueOf(m.group(3));
                for (String name : v.names(m.group(2))) {
                    checked++;
                    if (!entries(m.group(1)).contains(name)) {
                        missing.add(m.group(1) + "/" + name + " (" + src.getFileName() + ")");
                    }
                }
            }
            Matcher l = LITERAL.matcher(text);
            while (l.find()) {
                checked++;
                if (!entries(l.group(1)).contains(l.group(2))) {
                    missing.add(l.group(1) + "/" + l.group(2) + " (" + src.getFileName() + ")");
                }
            }
        }
        assertTrue(checked > 50, "found only " + checked + " kernel references in " + JAVA.toAbsolutePath());
        if (!missing.isEmpty()) {
            fail("kernels launched by the Java code but not in the shipped PTX: " + missing
                    + " (a typo, or " + KernelManifestTest.REBUILD + ")");
        }
    }

    @Test
    void variantsExpandToTheTypeSuffixes() {
        assertTrue(KernelRef.Variants.FLOAT_TYPES.names("unary").equals(List.of("unary_f32", "unary_f16", "unary_bf16")));
        assertTrue(KernelRef.Variants.WIDTHS.names("fill").equals(List.of("fill_b16", "fill_b32", "fill_b64")));
        assertTrue(KernelRef.Variants.DTYPE_PAIRS.names("cast").size() == 25);
        assertTrue(KernelRef.Variants.DTYPE_PAIRS.names("cast").contains("cast_bf16_i64"));
        KernelRef copy = KernelRef.of("layout", "strided_copy", KernelRef.Variants.WIDTHS);
        assertTrue(copy.name(dev.perfusion.tensor.DType.FLOAT16).equals("strided_copy_b16"));
        assertTrue(copy.name(dev.perfusion.tensor.DType.INT64).equals("strided_copy_b64"));
        assertTrue(copy.name(dev.perfusion.tensor.DType.INT32).equals("strided_copy_b32"));
    }
}
