package dev.perfusion.pipeline;

import java.util.concurrent.CancellationException;

/** Thrown when a {@link GenerationListener} asks to stop; nothing partial is returned. */
public final class GenerationCancelledException extends CancellationException {
    private static final long serialVersionUID = 1L;

    public GenerationCancelledException(int step, int total) {
        super("generation cancelled before step " + (step + 1) + " of " + total);
    }
}
