package dev.perfusion.toy;

import dev.perfusion.perfusion.Covariance;
import dev.perfusion.perfusion.Fingerprints;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The text-encoding covariance of a model over toy-grammar captions ({@link ToyDataset#trainingScene} of seeds
 * 0 … n−1), written as a covariance file (C⁻¹) for Perfusion.
 *
 * <p>The grammar has a few dozen words, so over its captions C of a small text encoder can be nearly singular
 * (an untrained encoder's κ₁ is around 1e12); C⁻¹ is then computed with a ridge, (C + λ·mean(diag C)·I)⁻¹
 * ({@link Covariance#inverse(double)}). With {@code ridge} null, λ is the first of {@link #RIDGES} whose inverse is
 * well conditioned (κ₁ ≤ {@link Covariance#MAX_CONDITION}); the file records it.
 */
public final class ToyCovariance {
    /** The ridges tried in order when none is given: 0 (the method's plain inverse) first. */
    public static final double[] RIDGES = {0, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.5};

    private ToyCovariance() {
    }

    /**
     * Estimates C over {@code captions} grammar captions and writes C⁻¹ to {@code out} (atomically).
     *
     * @param ridge    λ, or null to take the first of {@link #RIDGES} that gives a well-conditioned inverse
     * @param listener progress (task "covariance", units = captions)
     * @return the ridge used
     * @throws IllegalArgumentException when no ridge gives a well-conditioned inverse
     */
    public static double estimate(StableDiffusionPipeline pipe, int captions, Double ridge, ToyProgressListener listener,
                                  Path out) throws IOException {
        List<String> text = new ArrayList<>(captions);
        for (int i = 0; i < captions; i++) {
            text.add(ToyDataset.trainingScene(i).caption());
        }
        Covariance cov = Covariance.estimate(pipe.textEncoder(), pipe.tokenizer(), text, 16,
                (done, total) -> listener.onProgress("covariance", (int) done, captions, ""));
        String base = Fingerprints.baseModel(pipe.textEncoder(), pipe.unet());
        String corpus = "toy grammar captions 0.." + (captions - 1);
        if (ridge != null) {
            cov.write(out, base, corpus, ridge);
            return ridge;
        }
        IllegalArgumentException last = null;
        for (double r : RIDGES) {
            try {
                cov.inverse(r);
            } catch (IllegalArgumentException e) {
                last = e;
                continue;
            }
            cov.write(out, base, corpus, r);
            if (r > 0) {
                listener.onMessage(String.format(java.util.Locale.ROOT,
                        "covariance: C is ill-conditioned over the grammar's captions; using ridge %.0e", r));
            }
            return r;
        }
        throw new IllegalArgumentException("no ridge up to " + RIDGES[RIDGES.length - 1] + " makes the toy covariance"
                + " well conditioned: " + (last == null ? "" : last.getMessage()));
    }
}
