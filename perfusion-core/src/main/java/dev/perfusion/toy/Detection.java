package dev.perfusion.toy;

import java.util.Objects;

/**
 * One object that {@link ToyChecker} read from an image: a connected region of one colour class, with its measures
 * and the attributes derived from them (definitions and thresholds in {@link ToyChecker}). Area, centroid and the
 * moments are soft: coverage-weighted over the region and its anti-aliased rim.
 *
 * @param color      the grammar colour of the region, or null when it is a novel concept's colour pair
 * @param concept    the novel concept whose two colours the region has, or null for a grammar colour
 * @param pixels     the region's pixels (coverage at least one half) as indices {@code y * 32 + x}, ascending (a
 *                   copy is kept and returned)
 * @param area       coverage-weighted area in pixels (≈ the outline's exact area on a clean render)
 * @param x          centroid x in pixels (pixel x spans [x, x+1), so an object centred at 8 has x ≈ 8.0)
 * @param y          centroid y in pixels
 * @param bboxWidth  bounding-box width of {@code pixels}
 * @param bboxHeight bounding-box height of {@code pixels}
 * @param fill       {@code pixels.length / (bboxWidth · bboxHeight)}: square ≈ 0.94–1, circle ≈ 0.8, triangle
 *                   ≈ 0.55 (informative only; the shape uses the moments)
 * @param skewY      skewness of y, {@code μ03 / μ02^1.5}: ≈ −0.6 for the apex-up triangle, 0 for circle and square
 * @param squareness {@code (μ40 + μ04) / 2μ22}: ≈ 1.8 for a square, 3 for a disc
 * @param size       SMALL or LARGE from the area
 * @param position   LEFT, CENTER or RIGHT from the centroid x
 * @param shape      CIRCLE, SQUARE or TRIANGLE from the skewness and squareness (a concept gets the nearest of the
 *                   three too, though its outline is none of them)
 */
public record Detection(ToyWorld.Color color, NovelConcept concept, int[] pixels, double area, double x, double y,
                        int bboxWidth, int bboxHeight, double fill, double skewY, double squareness, ToyWorld.Size size,
                        ToyWorld.Position position, ToyWorld.Shape shape) {
    public Detection {
        if ((color == null) == (concept == null)) {
            throw new IllegalArgumentException("a detection has either a colour or a concept, got color=" + color
                    + " concept=" + concept);
        }
        pixels = pixels.clone();
        Objects.requireNonNull(size, "size");
        Objects.requireNonNull(position, "position");
        Objects.requireNonNull(shape, "shape");
    }

    /** A copy of the pixel indices. */
    @Override
    public int[] pixels() {
        return pixels.clone();
    }

    /** The region as a 32 × 32 mask, row-major. */
    public boolean[] mask() {
        boolean[] m = new boolean[ToyWorld.SIZE * ToyWorld.SIZE];
        for (int p : pixels) {
            m[p] = true;
        }
        return m;
    }

    /** The colour word or the concept's placeholder, for messages. */
    public String label() {
        return color != null ? color.word() : concept.placeholder();
    }

    @Override
    public String toString() {
        return String.format("%s %s %s %s (area %.1f at %.1f,%.1f, bbox %dx%d, fill %.2f, skew %.2f, squareness %.2f)",
                size.word(), label(), shape.word(), position.phrase(), area, x, y, bboxWidth, bboxHeight, fill,
                skewY, squareness);
    }
}
