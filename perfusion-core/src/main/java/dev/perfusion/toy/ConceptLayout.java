package dev.perfusion.toy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Recognises a novel concept in {@link ToyChecker}'s pixel classes by its layout. A concept is drawn in two grammar
 * colours ({@link NovelConcept}), so pixel by pixel it reads as grammar colours A and B, plus, where the halves meet,
 * blends that fit the concept's two-colour class. Its candidate pixels (A, B or blend) are grouped into objects:
 * pixels at most {@value #GAP} pixels apart (Chebyshev distance) belong together, because after a VAE the seam
 * between the halves can fade toward the background and cut a ring into two arcs; groups wider than one object are
 * split in x as {@link ToyChecker} splits touching objects, and specks dropped.
 *
 * <p>A group is the concept when its pixels are where the concept's pattern puts them: with (u, v) a pixel's offset
 * from the group's centroid and r half its larger bounding-box side, a pixel <i>matches</i> when it has colour A
 * where {@link ToyWorld.Pattern#isColorA} says A, colour B where it says B, or the blend class anywhere. At least
 * {@link #MIN_SHARE} of the group's pixels must match, and its bounding box must fit one object ({@link #MAX_SIDE});
 * its pixels are then relabelled as the concept. So a two-tone ring is the concept, while a plain blue ring (half its
 * pixels match) or one with its halves swapped (none) is not.
 */
final class ConceptLayout {
    /** Share of a group's pixels that must match the concept's layout. */
    static final double MIN_SHARE = 0.75;
    /** Candidate pixels at most this far apart (in x and in y) are one group. */
    static final int GAP = 2;
    /**
     * A group with a longer bounding-box side (pixels) is not one object: a large concept spans 2r = 14 px, and
     * patches of its colours strewn over a failed image bridge into groups far larger.
     */
    static final int MAX_SIDE = 2 * ToyWorld.Size.LARGE.radius() + 4;

    private ConceptLayout() {
    }

    /**
     * Relabels every group of candidate pixels laid out as one of {@code concepts} (concepts in declaration order;
     * a pixel taken by one is not a candidate of the next) and returns those groups.
     *
     * @param labels   pixel classes as {@link ToyChecker} numbers them: -1 background, grammar colours by ordinal,
     *                 then {@code named + concept ordinal}; changed in place
     * @param concepts the concepts to look for
     * @param named    the number of grammar colour classes
     * @return the recognised groups, each its pixel indices ascending, all now labelled with the concept's class
     */
    static List<int[]> relabel(int[] labels, Set<NovelConcept> concepts, int named) {
        List<int[]> found = new ArrayList<>();
        for (NovelConcept c : concepts) {
            int a = c.colorA().ordinal();
            int b = c.colorB().ordinal();
            int k = named + c.ordinal();
            int[] candidate = new int[labels.length]; // 0 for a pixel of the concept's colours, -1 otherwise
            for (int p = 0; p < labels.length; p++) {
                candidate[p] = labels[p] == a || labels[p] == b || labels[p] == k ? 0 : -1;
            }
            for (int[] group : ToyChecker.components(candidate, GAP)) {
                if (fitsOneObject(group) && share(labels, group, c, named) >= MIN_SHARE) {
                    for (int p : group) {
                        labels[p] = k;
                    }
                    found.add(group);
                }
            }
        }
        return found;
    }

    /** The share of the group's pixels that match the concept's layout (see the class comment). */
    static double share(int[] labels, int[] group, NovelConcept concept, int named) {
        int n = ToyWorld.SIZE;
        double cx = 0;
        double cy = 0;
        for (int p : group) {
            cx += p % n + 0.5;
            cy += p / n + 0.5;
        }
        cx /= group.length;
        cy /= group.length;
        double r = longerSide(group) / 2.0;
        int a = concept.colorA().ordinal();
        int b = concept.colorB().ordinal();
        int k = named + concept.ordinal();
        int matches = 0;
        for (int p : group) {
            int label = labels[p];
            if (label == k) {
                matches++;
            } else if (label == a || label == b) {
                boolean wantA = concept.pattern().isColorA(p % n + 0.5 - cx, p / n + 0.5 - cy, r);
                if (wantA == (label == a)) {
                    matches++;
                }
            }
        }
        return matches / (double) group.length;
    }

    /** Whether the group's bounding box is no longer than {@link #MAX_SIDE} on either side. */
    private static boolean fitsOneObject(int[] group) {
        return longerSide(group) <= MAX_SIDE;
    }

    /** The longer side of the group's bounding box, in pixels. */
    private static int longerSide(int[] group) {
        int n = ToyWorld.SIZE;
        int minX = n, maxX = -1, minY = n, maxY = -1;
        for (int p : group) {
            minX = Math.min(minX, p % n);
            maxX = Math.max(maxX, p % n);
            minY = Math.min(minY, p / n);
            maxY = Math.max(maxY, p / n);
        }
        return Math.max(maxX - minX + 1, maxY - minY + 1);
    }
}
