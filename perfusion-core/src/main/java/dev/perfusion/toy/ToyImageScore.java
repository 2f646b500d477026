package dev.perfusion.toy;

import java.util.List;

/**
 * The evaluation's measures of one generated image against the scene its prompt describes (issue 7):
 * <ul>
 *   <li><b>fidelity</b>: {@link ToyFidelity#similarity} of each novel concept of the scene at its prompted position
 *       and size, averaged over the scene's concepts (NaN when it has none);</li>
 *   <li><b>text alignment</b>: the checker on the rest of the prompt, as a count of binary checks passed: per named
 *       object its colour, shape, size and position ({@link ObjectCheck}, 4 checks), the background (1), and per
 *       concept its presence (1): {@link ToyChecker#check} matches the concept to an object recognised by its
 *       layout ({@link ConceptLayout}) at its prompted position and size.
 *       {@link #alignment()} = passed / total; {@link #strict()} = every check passed.</li>
 * </ul>
 *
 * @param fidelity mean fidelity of the scene's concepts, or NaN without concepts
 * @param passed   checks passed
 * @param total    checks made
 * @param conceptsPresent every concept of the scene is present at its position
 */
public record ToyImageScore(double fidelity, int passed, int total, boolean conceptsPresent) {

    /** Scores a 32 × 32 image (row-major 0xRRGGBB) against the scene it should show. */
    public static ToyImageScore of(Scene expected, int[] image) {
        CheckResult check = ToyChecker.check(expected, image);
        List<SceneObject> objects = expected.objects();
        int passed = check.backgroundCorrect() ? 1 : 0;
        int total = 1;
        double fid = 0;
        int concepts = 0;
        boolean present = true;
        for (int i = 0; i < objects.size(); i++) {
            SceneObject o = objects.get(i);
            switch (o.kind()) {
                case NAMED -> {
                    ObjectCheck oc = check.objects().get(i);
                    passed += (oc.colorCorrect() ? 1 : 0) + (oc.shapeCorrect() ? 1 : 0) + (oc.sizeCorrect() ? 1 : 0)
                            + (oc.positionCorrect() ? 1 : 0);
                    total += 4;
                }
                case CONCEPT -> {
                    // the checker's own object at the prompted position is the concept, at the prompted size
                    boolean here = check.objects().get(i).allCorrect();
                    present &= here;
                    passed += here ? 1 : 0;
                    total += 1;
                    fid += ToyFidelity.similarity(image, o.concept(), o.size(), o.position());
                    concepts++;
                }
                case THING -> {
                    ObjectCheck oc = check.objects().get(i);
                    passed += (oc.sizeCorrect() ? 1 : 0) + (oc.positionCorrect() ? 1 : 0);
                    total += 2;
                }
            }
        }
        return new ToyImageScore(concepts == 0 ? Double.NaN : fid / concepts, passed, total, present);
    }

    /** {@link #of(Scene, int[])} of a 32 × 32 image of any type. */
    public static ToyImageScore of(Scene expected, java.awt.image.BufferedImage image) {
        return of(expected, ToyRenderer.pixels(image));
    }

    /** Fraction of checks passed, in [0, 1]. */
    public double alignment() {
        return passed / (double) total;
    }

    /** Every check passed. */
    public boolean strict() {
        return passed == total;
    }

    /**
     * Means over a grid of images: fidelity, alignment and the strict rate.
     *
     * @param fidelity  mean {@link #fidelity()}
     * @param alignment mean {@link #alignment()}
     * @param strict    share of images with every check passed
     * @param images    how many images were scored
     */
    public record Mean(double fidelity, double alignment, double strict, int images) {
    }

    /** Scores image i of every seed's list against scene i and averages (the demo's and evaluation's metric). */
    public static Mean mean(List<Scene> scenes, List<List<java.awt.image.BufferedImage>> imagesPerSeed) {
        double fid = 0;
        double align = 0;
        int strict = 0;
        int n = 0;
        for (List<java.awt.image.BufferedImage> perSeed : imagesPerSeed) {
            for (int i = 0; i < scenes.size(); i++) {
                ToyImageScore s = of(scenes.get(i), perSeed.get(i));
                fid += s.fidelity();
                align += s.alignment();
                strict += s.strict() ? 1 : 0;
                n++;
            }
        }
        return new Mean(fid / n, align / n, strict / (double) n, n);
    }
}
