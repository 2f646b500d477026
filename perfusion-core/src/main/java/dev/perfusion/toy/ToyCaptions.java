package dev.perfusion.toy;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads toy-grammar captions back into {@link Scene}s, the inverse of {@link Scene#caption()} for named objects and
 * novel concepts (unnamed "things" have random looks that a caption does not fix, so they are not accepted):
 * <pre>
 *   caption := object (" and " object)? ", on a " ("white" | "black") " background"
 *   object  := "a " ("small" | "large") " " (colour " " shape | placeholder) " " ("on the left" | "in the center" | "on the right")
 * </pre>
 * Objects get no jitter (they are the expected scene of a prompt, compared with an image by the checker, which
 * allows for jitter).
 */
public final class ToyCaptions {
    private static final String BACKGROUND_SEP = ", on a ";
    private static final String BACKGROUND_END = " background";

    private ToyCaptions() {
    }

    /**
     * The scene a caption describes.
     *
     * @throws IllegalArgumentException when the caption is not in the toy grammar (naming the part that is not)
     */
    public static Scene parse(String caption) {
        String c = caption == null ? "" : caption.strip();
        int sep = c.lastIndexOf(BACKGROUND_SEP);
        if (sep < 0 || !c.endsWith(BACKGROUND_END)) {
            throw bad(caption, "it does not end with \", on a white/black background\"");
        }
        String bgWord = c.substring(sep + BACKGROUND_SEP.length(), c.length() - BACKGROUND_END.length());
        ToyWorld.Background bg = null;
        for (ToyWorld.Background b : ToyWorld.Background.values()) {
            if (b.word().equals(bgWord)) {
                bg = b;
            }
        }
        if (bg == null) {
            throw bad(caption, "unknown background '" + bgWord + "'");
        }
        String[] parts = c.substring(0, sep).split(" and ", -1);
        if (parts.length > 2) {
            throw bad(caption, "a toy scene has one or two objects");
        }
        List<SceneObject> objects = new ArrayList<>();
        for (String p : parts) {
            objects.add(object(caption, p));
        }
        try {
            return new Scene(objects, bg);
        } catch (IllegalArgumentException e) {
            throw bad(caption, e.getMessage());
        }
    }

    /** {@link #parse} or empty when the caption is not in the toy grammar. */
    public static Optional<Scene> tryParse(String caption) {
        try {
            return Optional.of(parse(caption));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static SceneObject object(String caption, String phrase) {
        ToyWorld.Position position = null;
        String rest = null;
        for (ToyWorld.Position p : ToyWorld.Position.values()) {
            if (phrase.endsWith(" " + p.phrase())) {
                position = p;
                rest = phrase.substring(0, phrase.length() - p.phrase().length() - 1);
            }
        }
        if (position == null) {
            throw bad(caption, "object '" + phrase + "' has no position (on the left, in the center, on the right)");
        }
        String[] w = rest.split(" ");
        if (w.length < 3 || !w[0].equals("a")) {
            throw bad(caption, "object '" + phrase + "' is not \"a <size> <colour> <shape>\" or \"a <size> <concept>\"");
        }
        ToyWorld.Size size = null;
        for (ToyWorld.Size s : ToyWorld.Size.values()) {
            if (s.word().equals(w[1])) {
                size = s;
            }
        }
        if (size == null) {
            throw bad(caption, "unknown size '" + w[1] + "' in '" + phrase + "'");
        }
        if (w.length == 3 && w[2].startsWith("<")) {
            try {
                return SceneObject.concept(NovelConcept.byPlaceholder(w[2]), size, position);
            } catch (IllegalArgumentException e) {
                throw bad(caption, e.getMessage());
            }
        }
        if (w.length != 4) {
            throw bad(caption, "object '" + phrase + "' is not \"a <size> <colour> <shape>\" or \"a <size> <concept>\"");
        }
        ToyWorld.Color color = null;
        for (ToyWorld.Color k : ToyWorld.Color.values()) {
            if (k.word().equals(w[2])) {
                color = k;
            }
        }
        ToyWorld.Shape shape = null;
        for (ToyWorld.Shape k : ToyWorld.Shape.values()) {
            if (k.word().equals(w[3])) {
                shape = k;
            }
        }
        if (color == null || shape == null) {
            throw bad(caption, "unknown colour or shape in '" + phrase + "'");
        }
        return SceneObject.named(shape, color, size, position);
    }

    private static IllegalArgumentException bad(String caption, String why) {
        return new IllegalArgumentException("not a toy-grammar caption: '" + caption + "': " + why);
    }
}
