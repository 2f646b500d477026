package dev.perfusion.perfusion;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A β sweep (see {@code dev.perfusion.Perfusion#sweep}): the same one-image request rendered for every β (grid rows;
 * the β applies to every concept) and every seed (grid columns), written as one PNG grid.
 *
 * @param sample the request (one prompt, one image per prompt); its per-concept β overrides are replaced
 * @param betas  row values of β, at least one
 * @param seeds  column seeds, at least one
 * @param output the PNG file to write (atomically)
 * @param labels draw β and seed labels in margins (left {@link #LABEL_WIDTH}, top {@link #LABEL_HEIGHT} pixels)
 */
public record SweepRequest(SampleRequest sample, List<Float> betas, List<Long> seeds, Path output, boolean labels) {
    /** Width of the left margin holding the β labels. */
    public static final int LABEL_WIDTH = 64;
    /** Height of the top margin holding the seed labels. */
    public static final int LABEL_HEIGHT = 16;

    public SweepRequest {
        Objects.requireNonNull(sample, "sample");
        Objects.requireNonNull(output, "output");
        betas = List.copyOf(betas);
        seeds = List.copyOf(seeds);
        if (betas.isEmpty() || seeds.isEmpty()) {
            throw new IllegalArgumentException("a sweep needs at least one β and one seed, got " + betas.size()
                    + " and " + seeds.size());
        }
        for (Float b : betas) {
            if (!Float.isFinite(b)) {
                throw new IllegalArgumentException("sweep β must be finite, got " + b);
            }
        }
        if (sample.generation().batchSize() != 1) {
            throw new IllegalArgumentException("a sweep renders one image per cell: give one prompt and one image per"
                    + " prompt, got " + sample.generation().batchSize() + " images");
        }
    }

    /** Pixel width of the grid. */
    public int gridWidth() {
        return (labels ? LABEL_WIDTH : 0) + seeds.size() * sample.generation().width();
    }

    /** Pixel height of the grid. */
    public int gridHeight() {
        return (labels ? LABEL_HEIGHT : 0) + betas.size() * sample.generation().height();
    }
}
