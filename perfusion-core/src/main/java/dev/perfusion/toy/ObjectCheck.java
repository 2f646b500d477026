package dev.perfusion.toy;

import java.util.Objects;

/**
 * How one expected object of a scene was found in an image ({@link ToyChecker#check}).
 *
 * <p>The detection is the largest one whose position is the object's; when none is there, the nearest unmatched
 * detection (by centroid x), so that its other attributes can still be judged, with {@code positionCorrect} false;
 * null when the image has no unmatched detection left. What is compared depends on the object's kind:
 * <ul>
 *   <li>NAMED: colour, shape, size and position;</li>
 *   <li>CONCEPT: colour means "the concept's two colours" (the detection's class is the concept); shape is not
 *       judged (the outline is the concept's own, left to the fidelity metric) and counts as correct;</li>
 *   <li>THING: its colours are random, so only size and position are judged; colour and shape count as correct.</li>
 * </ul>
 *
 * @param expected        the object of the expected scene
 * @param found           the detection compared with it, or null when nothing was found
 * @param colorCorrect    colour (or concept) right
 * @param shapeCorrect    shape right
 * @param sizeCorrect     size right
 * @param positionCorrect found at its position
 */
public record ObjectCheck(SceneObject expected, Detection found, boolean colorCorrect, boolean shapeCorrect,
                          boolean sizeCorrect, boolean positionCorrect) {
    public ObjectCheck {
        Objects.requireNonNull(expected, "expected");
        if (found == null && (colorCorrect || shapeCorrect || sizeCorrect || positionCorrect)) {
            throw new IllegalArgumentException("an object that was not found has no correct attribute");
        }
    }

    /** Every judged attribute right. */
    public boolean allCorrect() {
        return colorCorrect && shapeCorrect && sizeCorrect && positionCorrect;
    }

    @Override
    public String toString() {
        return "a " + expected.nounPhrase() + " " + expected.position().phrase() + " -> "
                + (found == null ? "not found" : found + (allCorrect() ? " ok" : " wrong:"
                + (colorCorrect ? "" : " colour") + (shapeCorrect ? "" : " shape") + (sizeCorrect ? "" : " size")
                + (positionCorrect ? "" : " position")));
    }
}
