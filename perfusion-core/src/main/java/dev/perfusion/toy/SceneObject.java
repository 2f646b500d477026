package dev.perfusion.toy;

import java.util.Objects;

/**
 * One object of a toy scene: what it looks like ({@link Kind}), its size and position, and its jitter (the pixel
 * offset of its centre from the position's nominal centre).
 *
 * <ul>
 *   <li>{@link Kind#NAMED}: a grammar object, {@code shape} and {@code color} set ("a small red circle").</li>
 *   <li>{@link Kind#THING}: an unnamed object with an outline, pattern and two free colours ("a small thing").</li>
 *   <li>{@link Kind#CONCEPT}: a novel concept, named in prompts by its placeholder ("a large &lt;ring&gt;").</li>
 * </ul>
 *
 * @param kind     which of the three
 * @param shape    NAMED only, else null
 * @param color    NAMED only, else null
 * @param thing    THING only, else null
 * @param concept  CONCEPT only, else null
 * @param size     radius class
 * @param position horizontal placement
 * @param dx       jitter of the centre in x, pixels
 * @param dy       jitter of the centre in y, pixels
 */
public record SceneObject(Kind kind, ToyWorld.Shape shape, ToyWorld.Color color, Thing thing, NovelConcept concept,
                          ToyWorld.Size size, ToyWorld.Position position, int dx, int dy) {

    /** What kind of object this is. */
    public enum Kind { NAMED, THING, CONCEPT }

    /**
     * The look of an unnamed object.
     *
     * @param outline its outline
     * @param pattern its surface pattern
     * @param rgbA    colour A, 0xRRGGBB
     * @param rgbB    colour B, 0xRRGGBB (unused when the pattern is plain)
     */
    public record Thing(ToyWorld.Outline outline, ToyWorld.Pattern pattern, int rgbA, int rgbB) {
        public Thing {
            Objects.requireNonNull(outline, "outline");
            Objects.requireNonNull(pattern, "pattern");
        }
    }

    public SceneObject {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(size, "size");
        Objects.requireNonNull(position, "position");
        boolean ok = switch (kind) {
            case NAMED -> shape != null && color != null && thing == null && concept == null;
            case THING -> thing != null && shape == null && color == null && concept == null;
            case CONCEPT -> concept != null && shape == null && color == null && thing == null;
        };
        if (!ok) {
            throw new IllegalArgumentException("a " + kind + " object sets exactly its own fields: shape=" + shape
                    + " color=" + color + " thing=" + thing + " concept=" + concept);
        }
    }

    /** A grammar object without jitter. */
    public static SceneObject named(ToyWorld.Shape shape, ToyWorld.Color color, ToyWorld.Size size,
                                    ToyWorld.Position position) {
        return new SceneObject(Kind.NAMED, shape, color, null, null, size, position, 0, 0);
    }

    /** A novel concept without jitter. */
    public static SceneObject concept(NovelConcept concept, ToyWorld.Size size, ToyWorld.Position position) {
        return new SceneObject(Kind.CONCEPT, null, null, null, concept, size, position, 0, 0);
    }

    /** This object moved by (dx, dy) pixels from its nominal centre. */
    public SceneObject withJitter(int dx, int dy) {
        return new SceneObject(kind, shape, color, thing, concept, size, position, dx, dy);
    }

    /** This object with another position (same look, size and jitter). */
    public SceneObject withPosition(ToyWorld.Position p) {
        return new SceneObject(kind, shape, color, thing, concept, size, p, dx, dy);
    }

    /** Centre x in pixels. */
    public double centerX() {
        return position.centerX() + dx;
    }

    /** Centre y in pixels. */
    public double centerY() {
        return ToyWorld.SIZE / 2.0 + dy;
    }

    /** The outline the renderer draws. */
    public ToyWorld.Outline outline() {
        return switch (kind) {
            case NAMED -> shape.outline();
            case THING -> thing.outline();
            case CONCEPT -> concept.outline();
        };
    }

    /** The caption's noun phrase without the article, e.g. "small red circle", "large thing", "small &lt;ring&gt;". */
    public String nounPhrase() {
        return switch (kind) {
            case NAMED -> size.word() + " " + color.word() + " " + shape.word();
            case THING -> size.word() + " thing";
            case CONCEPT -> size.word() + " " + concept.placeholder();
        };
    }
}
