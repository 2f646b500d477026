package dev.perfusion.examples;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar for long multi-stage work (training stages, evaluations): one updating line on a terminal, and at
 * most about twenty lines per stage when the output is a file or a pipe.
 */
final class StageProgress {
    private final PrintStream err;
    private final boolean interactive = System.console() != null;
    private String stage = "";
    private long start;
    private int lastBucket = -1;

    StageProgress(PrintStream err) {
        this.err = err;
    }

    /** Reports {@code done} of {@code total} units of {@code stage}, with an optional trailing note (may be empty). */
    synchronized void update(String stageName, int done, int total, String note) {
        long now = System.nanoTime();
        if (!stageName.equals(stage)) {
            stage = stageName;
            start = now;
            lastBucket = -1;
        }
        double elapsed = (now - start) / 1e9;
        double eta = done > 0 ? elapsed / done * (total - done) : 0;
        int width = 30;
        int filled = total > 0 ? (int) ((long) done * width / total) : width;
        String line = String.format(Locale.ROOT, "%-10s [%s] %d/%d  %.0f s  ETA %.0f s  %s", stageName,
                "#".repeat(filled) + ".".repeat(width - filled), done, total, elapsed, eta, note);
        if (interactive) {
            err.print("\r" + line);
            if (done == total) {
                err.println();
            }
        } else {
            int bucket = total > 0 ? (int) ((long) done * 20 / total) : 20;
            if (bucket != lastBucket || done == total) {
                lastBucket = bucket;
                err.println(line);
            }
        }
    }
}
