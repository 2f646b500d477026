package dev.perfusion.toy;

import java.awt.image.BufferedImage;

/**
 * Fidelity of a generated toy image to a novel concept at a prompted position (issue 7's "best-aligned masked pixel
 * distance"): how exactly the image shows the concept's outline, pattern and colours where the prompt put it.
 *
 * <h2>Formula</h2>
 * For a 32 × 32 image I, concept c of size s at position p:
 * <ol>
 *   <li>bg = the image's background colour as {@link ToyChecker#read} measures it (per-channel median of the border,
 *       {@link ImageReading#backgroundRgb()}), so a slightly tinted generated background is not counted as an error
 *       of the concept.</li>
 *   <li>For every jitter (dx, dy) ∈ {−2, …, 2}² ({@value #MAX_SHIFT} px: the dataset's ±1 plus one pixel of
 *       slack), the reference R_{dx,dy} = c rendered alone at size s, centre (p.centerX + dx, 16 + dy) over bg
 *       exactly as {@link ToyRenderer} draws (4 × 4 supersampling, per channel (Σ sub-samples + 8) / 16), and its
 *       support M_{dx,dy} = the pixels the concept covers at all (coverage &gt; 0), dilated by 1 px
 *       (8-neighbourhood) so that a generated object that is too large is charged for its excess too.</li>
 *   <li>d_{dx,dy} = (1 / 3|M|) Σ_{x ∈ M} Σ_{ch ∈ RGB} |I_ch(x) − R_ch(x)|, the mean absolute difference in 8-bit
 *       units over the support, and d = min over the 25 jitters (best alignment).</li>
 *   <li><b>similarity = 1 − d / 255</b> ∈ [0, 1]: 1 for a pixel-exact render of the concept, lower the more the
 *       image differs from it where it should be (an empty background there scores about 1 − mean|pattern − bg|/255,
 *       a grammar object of another colour lower still where colours differ).</li>
 * </ol>
 * Pixels outside M are not compared: they belong to the rest of the prompt, judged by the checker.
 */
public final class ToyFidelity {
    /** Largest jitter searched, pixels in x and y. */
    public static final int MAX_SHIFT = 2;

    private ToyFidelity() {
    }

    /**
     * The best alignment found.
     *
     * @param similarity   1 − meanAbsDiff / 255
     * @param meanAbsDiff  mean absolute RGB difference over the reference's dilated support, 8-bit units
     * @param dx           jitter of the best reference in x
     * @param dy           jitter of the best reference in y
     */
    public record Match(double similarity, double meanAbsDiff, int dx, int dy) {
    }

    /** {@link Match#similarity()} of {@link #match}. */
    public static double similarity(int[] image, NovelConcept concept, ToyWorld.Size size, ToyWorld.Position position) {
        return match(image, concept, size, position).similarity();
    }

    /** {@link #similarity(int[], NovelConcept, ToyWorld.Size, ToyWorld.Position)} of a 32 × 32 image. */
    public static double similarity(BufferedImage image, NovelConcept concept, ToyWorld.Size size,
                                    ToyWorld.Position position) {
        return similarity(pixels(image), concept, size, position);
    }

    /**
     * The best-aligned comparison of the image with the concept at the position (see the class comment).
     *
     * @param image 32 × 32 pixels, row-major 0xRRGGBB
     * @throws IllegalArgumentException for an image of another size
     */
    public static Match match(int[] image, NovelConcept concept, ToyWorld.Size size, ToyWorld.Position position) {
        int n = ToyWorld.SIZE;
        if (image == null || image.length != n * n) {
            throw new IllegalArgumentException("toy fidelity compares " + n + "x" + n + " images (" + n * n
                    + " pixels), got " + (image == null ? "null" : image.length + " pixels"));
        }
        int bg = ToyChecker.read(image).backgroundRgb();
        Match best = null;
        for (int dy = -MAX_SHIFT; dy <= MAX_SHIFT; dy++) {
            for (int dx = -MAX_SHIFT; dx <= MAX_SHIFT; dx++) {
                SceneObject o = SceneObject.concept(concept, size, position).withJitter(dx, dy);
                double d = meanAbsDiff(image, o, bg);
                if (best == null || d < best.meanAbsDiff()) {
                    best = new Match(1 - d / 255.0, d, dx, dy);
                }
            }
        }
        return best;
    }

    /** Mean |I − R| over the reference's dilated support, R = {@code o} rendered over {@code bg}. */
    private static double meanAbsDiff(int[] image, SceneObject o, int bg) {
        int n = ToyWorld.SIZE;
        int[] ref = new int[n * n];
        boolean[] covered = new boolean[n * n];
        render(o, bg, ref, covered);
        long sum = 0;
        int count = 0;
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                if (!nearCovered(covered, x, y)) {
                    continue;
                }
                int p = y * n + x;
                int a = image[p];
                int b = ref[p];
                sum += Math.abs(((a >> 16) & 0xFF) - ((b >> 16) & 0xFF))
                        + Math.abs(((a >> 8) & 0xFF) - ((b >> 8) & 0xFF))
                        + Math.abs((a & 0xFF) - (b & 0xFF));
                count++;
            }
        }
        return count == 0 ? 0 : sum / (3.0 * count);
    }

    /** Whether pixel (x, y) or one of its 8 neighbours is covered. */
    private static boolean nearCovered(boolean[] covered, int x, int y) {
        int n = ToyWorld.SIZE;
        for (int v = Math.max(0, y - 1); v <= Math.min(n - 1, y + 1); v++) {
            for (int u = Math.max(0, x - 1); u <= Math.min(n - 1, x + 1); u++) {
                if (covered[v * n + u]) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * {@code o} alone over {@code bg}, as {@link ToyRenderer#render} draws it (same sub-samples and rounding, so a
     * clean render over one of the world's backgrounds is reproduced exactly), and which pixels it covers at all.
     * Only pixels within the object's bounding box are sampled; the rest is {@code bg}.
     */
    static void render(SceneObject o, int bg, int[] out, boolean[] covered) {
        int n = ToyWorld.SIZE;
        int ss = ToyRenderer.SUPERSAMPLE;
        int k = ss * ss;
        double r = o.size().radius();
        double cx = o.centerX();
        double cy = o.centerY();
        java.util.Arrays.fill(out, bg);
        int x0 = Math.max(0, (int) Math.floor(cx - r) - 1);
        int x1 = Math.min(n - 1, (int) Math.ceil(cx + r) + 1);
        int y0 = Math.max(0, (int) Math.floor(cy - r) - 1);
        int y1 = Math.min(n - 1, (int) Math.ceil(cy + r) + 1);
        for (int y = y0; y <= y1; y++) {
            for (int x = x0; x <= x1; x++) {
                int sr = 0;
                int sg = 0;
                int sb = 0;
                int inside = 0;
                for (int sy = 0; sy < ss; sy++) {
                    for (int sx = 0; sx < ss; sx++) {
                        double u = x + (sx + 0.5) / ss - cx;
                        double v = y + (sy + 0.5) / ss - cy;
                        int c = bg;
                        if (o.outline().contains(u, v, r)) {
                            c = o.concept().pattern().isColorA(u, v, r) ? o.concept().rgbA() : o.concept().rgbB();
                            inside++;
                        }
                        sr += (c >> 16) & 0xFF;
                        sg += (c >> 8) & 0xFF;
                        sb += c & 0xFF;
                    }
                }
                out[y * n + x] = ((sr + k / 2) / k) << 16 | ((sg + k / 2) / k) << 8 | ((sb + k / 2) / k);
                covered[y * n + x] = inside > 0;
            }
        }
    }

    private static int[] pixels(BufferedImage image) {
        if (image.getWidth() != ToyWorld.SIZE || image.getHeight() != ToyWorld.SIZE) {
            throw new IllegalArgumentException("toy fidelity compares " + ToyWorld.SIZE + "x" + ToyWorld.SIZE
                    + " images, got " + image.getWidth() + "x" + image.getHeight());
        }
        return ToyRenderer.pixels(image);
    }
}
