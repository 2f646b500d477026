package dev.perfusion.toy;

import java.util.List;
import java.util.Objects;

/**
 * A toy scene: one or two objects, in caption order, on a background. Rendering ({@link ToyRenderer#render}) is a
 * pure function of the scene, so a scene is also the ground truth the checker compares against.
 *
 * @param objects    one object, or two at distinct positions (the grammar uses left and right for two)
 * @param background the background
 */
public record Scene(List<SceneObject> objects, ToyWorld.Background background) {
    public Scene {
        objects = List.copyOf(objects);
        Objects.requireNonNull(background, "background");
        if (objects.isEmpty() || objects.size() > 2) {
            throw new IllegalArgumentException("a toy scene has one or two objects, got " + objects.size());
        }
        if (objects.size() == 2 && objects.get(0).position() == objects.get(1).position()) {
            throw new IllegalArgumentException("two objects at the same position " + objects.get(0).position());
        }
    }

    /** A scene of the given objects (caption order) on a background. */
    public static Scene of(ToyWorld.Background background, SceneObject... objects) {
        return new Scene(List.of(objects), background);
    }

    /**
     * The caption, e.g. "a small red circle on the left, on a white background" or "a large blue square on the
     * right and a small yellow triangle on the left, on a black background".
     */
    public String caption() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < objects.size(); i++) {
            SceneObject o = objects.get(i);
            if (i > 0) {
                sb.append(" and ");
            }
            sb.append("a ").append(o.nounPhrase()).append(' ').append(o.position().phrase());
        }
        return sb.append(", on a ").append(background.word()).append(" background").toString();
    }

    /** The object at a position, or null. */
    public SceneObject at(ToyWorld.Position p) {
        for (SceneObject o : objects) {
            if (o.position() == p) {
                return o;
            }
        }
        return null;
    }
}
