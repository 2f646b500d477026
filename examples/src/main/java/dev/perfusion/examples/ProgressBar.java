package dev.perfusion.examples;

import dev.perfusion.pipeline.GenerationListener;
import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress bar with ETA on a terminal; one line per step when the output is a file or a pipe. */
final class ProgressBar implements GenerationListener {
    private final PrintStream err;
    private final boolean interactive = System.console() != null;
    private long start;

    ProgressBar(PrintStream err) {
        this.err = err;
    }

    @Override
    public void onStep(StepEvent e) {
        long now = System.nanoTime();
        if (e.step() == 0) {
            start = now;
        }
        int done = e.step() + 1;
        double perStep = done > 1 ? (now - start) / 1e9 / (done - 1) : 0;
        int width = 30;
        int filled = done * width / e.totalSteps();
        String bar = "#".repeat(filled) + ".".repeat(width - filled);
        String line = String.format(Locale.ROOT, "[%s] %d/%d  t=%.0f  %.2f s/step  ETA %.0f s", bar, done,
                e.totalSteps(), e.timestep(), perStep, perStep * (e.totalSteps() - done));
        err.print(interactive ? "\r" + line : line + "\n");
        if (interactive && done == e.totalSteps()) {
            err.println();
        }
    }
}
