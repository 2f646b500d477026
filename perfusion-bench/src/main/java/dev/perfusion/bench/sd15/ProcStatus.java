package dev.perfusion.bench.sd15;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * This process's memory counters from Linux's {@code /proc/self/status}, in bytes:
 * <pre>
 *   VmRSS    resident set now = RssAnon + RssFile + RssShmem
 *   VmHWM    peak resident set since the process started ("high water mark")
 *   RssAnon  anonymous pages: Java heap, ND4J/native buffers, malloc arenas
 *   RssFile  file-backed pages: mapped jars, libraries, and memory-mapped safetensors files that were touched
 * </pre>
 * Elsewhere (no /proc) the map is empty and values print as "n/a".
 */
final class ProcStatus {
    static final List<String> KEYS = List.of("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem");
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcStatus() {
    }

    /** The counters of {@link #KEYS} that the kernel reports, in bytes. */
    static Map<String, Long> read() {
        Map<String, Long> out = new LinkedHashMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(STATUS);
        } catch (IOException | UnsupportedOperationException e) {
            return out;
        }
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon < 0 || !KEYS.contains(line.substring(0, colon))) {
                continue;
            }
            String[] parts = line.substring(colon + 1).trim().split("\\s+"); // "123456 kB"
            out.put(line.substring(0, colon), Long.parseLong(parts[0]) * 1024L);
        }
        return out;
    }

    /** Bytes as GB (10⁹) with two decimals, or "n/a". */
    static String format(Long bytes) {
        return bytes == null ? "n/a" : String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }
}
