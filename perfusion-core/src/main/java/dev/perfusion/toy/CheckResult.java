package dev.perfusion.toy;

import java.util.List;
import java.util.Objects;

/**
 * The checker's verdict on an image against the scene it should show ({@link ToyChecker#check}).
 *
 * @param expected          the scene the image should show
 * @param reading           what the checker read from the image
 * @param objects           one check per expected object, in the scene's (caption) order
 * @param extras            detections matched to no expected object (objects the scene does not have)
 * @param backgroundCorrect the measured background is the scene's
 */
public record CheckResult(Scene expected, ImageReading reading, List<ObjectCheck> objects, List<Detection> extras,
                          boolean backgroundCorrect) {
    public CheckResult {
        Objects.requireNonNull(expected, "expected");
        Objects.requireNonNull(reading, "reading");
        objects = List.copyOf(objects);
        extras = List.copyOf(extras);
        if (objects.size() != expected.objects().size()) {
            throw new IllegalArgumentException("one check per expected object: " + objects.size() + " checks for "
                    + expected.objects().size() + " objects");
        }
    }

    /** Every expected object has all its attributes right (extras and background not considered). */
    public boolean objectsCorrect() {
        return objects.stream().allMatch(ObjectCheck::allCorrect);
    }

    /** The image shows exactly the scene: every object right, nothing extra, the right background. */
    public boolean allCorrect() {
        return objectsCorrect() && extras.isEmpty() && backgroundCorrect;
    }

    /** Whether some detection matched no expected object. */
    public boolean hasExtras() {
        return !extras.isEmpty();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(allCorrect() ? "correct: " : "incorrect: ").append(expected.caption());
        for (ObjectCheck o : objects) {
            sb.append("\n  ").append(o);
        }
        for (Detection d : extras) {
            sb.append("\n  extra: ").append(d);
        }
        sb.append("\n  background ").append(reading.background().word()).append(backgroundCorrect ? " ok" : " wrong");
        return sb.toString();
    }
}
