package dev.perfusion.backend.nd4j;

import java.io.InputStream;
import java.util.Properties;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/** What users need to know about the ND4J build in use: version, BLAS, oneDNN, threads. Logged once. */
final class Nd4jInfo {
    private Nd4jInfo() {
    }

    /** One line: version, BLAS vendor, oneDNN present and enabled, OpenMP threads, CPU instruction level. */
    static String describe() {
        StringBuilder s = new StringBuilder("ND4J ").append(version());
        try {
            s.append(", BLAS ").append(Nd4j.factory().blas().getBlasVendor());
        } catch (RuntimeException | LinkageError e) {
            s.append(", BLAS unknown");
        }
        String build = buildInfo();
        boolean onednn = build.contains("HAVE_ONEDNN");
        s.append(", oneDNN ").append(onednn ? "present" : "absent (build without it: convolutions ~2.6x slower)");
        try {
            if (onednn && !Nd4j.getEnvironment().helpersAllowed()) {
                s.append(" but disabled (helpers not allowed)");
            }
            s.append(", threads ").append(Nd4j.getEnvironment().maxThreads());
        } catch (RuntimeException | LinkageError e) {
            // optional details
        }
        try {
            int level = NativeOpsHolder.getInstance().getDeviceNativeOps().binaryLevel();
            // the codes of ND4J's CpuNDArrayFactory: 3 AVX-512, 2 AVX/AVX2, else generic
            s.append(", binary level ").append(switch (level) {
                case 3 -> "AVX-512";
                case 2 -> "AVX/AVX2";
                default -> "generic x86-64";
            });
        } catch (RuntimeException | LinkageError e) {
            // optional details
        }
        s.append(", processors ").append(Runtime.getRuntime().availableProcessors());
        return s.toString();
    }

    /**
     * Advice when glibc's dynamic mmap threshold is in force (Linux, no {@code MALLOC_MMAP_THRESHOLD_}): measured
     * in this JVM, ND4J buffers of 1–32 MB (allocated with aligned_alloc) that are closed are then neither
     * returned to the system nor reused, so the resident size grows by every closed activation; a fixed threshold
     * makes glibc unmap them at close. Null when there is nothing to advise.
     */
    static String mallocAdvice() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")
                || System.getenv("MALLOC_MMAP_THRESHOLD_") != null) {
            return null;
        }
        return "set the environment variable MALLOC_MMAP_THRESHOLD_=131072 before starting the JVM: without it glibc"
                + " keeps closed ND4J buffers of 1-32 MB instead of reusing or releasing them, and memory grows";
    }

    /** libnd4j's compile-time flags (HAVE_ONEDNN, HAVE_OPENBLAS, ...), or "" when unavailable. */
    static String buildInfo() {
        try {
            String b = NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo();
            return b == null ? "" : b;
        } catch (RuntimeException | LinkageError e) {
            return "";
        }
    }

    /** The nd4j-api version from its jar's Maven metadata. */
    static String version() {
        String v = Nd4j.class.getPackage() == null ? null : Nd4j.class.getPackage().getImplementationVersion();
        if (v != null) {
            return v;
        }
        try (InputStream in = Nd4j.class.getResourceAsStream("/META-INF/maven/org.nd4j/nd4j-api/pom.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "unknown version");
            }
        } catch (java.io.IOException e) {
            // fall through
        }
        return "unknown version";
    }
}
