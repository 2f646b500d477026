package dev.perfusion.toy;

/**
 * Objects the toy grammar has no words for, learned as Perfusion concepts (issue 7). Each is an outline with a
 * two-colour pattern in colours no grammar object uses; its superclass is the grammar shape it resembles.
 */
public enum NovelConcept {
    /** A ring with diagonal cyan/magenta stripes; superclass "circle". */
    RING("<ring>", ToyWorld.Shape.CIRCLE, ToyWorld.Outline.RING, ToyWorld.Pattern.STRIPED, 0x00BEC8, 0xC800AA),
    /** A square with a 4 × 4 orange/teal checkerboard; superclass "square". */
    CHECKER("<checker>", ToyWorld.Shape.SQUARE, ToyWorld.Outline.SQUARE, ToyWorld.Pattern.CHECKERED, 0xFA8C00, 0x006E6E);

    private final String placeholder;
    private final ToyWorld.Shape superclass;
    private final ToyWorld.Outline outline;
    private final ToyWorld.Pattern pattern;
    private final int rgbA;
    private final int rgbB;

    NovelConcept(String placeholder, ToyWorld.Shape superclass, ToyWorld.Outline outline, ToyWorld.Pattern pattern,
                 int rgbA, int rgbB) {
        this.placeholder = placeholder;
        this.superclass = superclass;
        this.outline = outline;
        this.pattern = pattern;
        this.rgbA = rgbA;
        this.rgbB = rgbB;
    }

    /** The prompt token, e.g. {@code <ring>}. */
    public String placeholder() { return placeholder; }

    /** The grammar shape whose word the concept's keys are locked to. */
    public ToyWorld.Shape superclass() { return superclass; }

    public ToyWorld.Outline outline() { return outline; }

    public ToyWorld.Pattern pattern() { return pattern; }

    /** Colour A, 0xRRGGBB. */
    public int rgbA() { return rgbA; }

    /** Colour B, 0xRRGGBB. */
    public int rgbB() { return rgbB; }

    /** The concept named by its placeholder, e.g. {@code <ring>}. */
    public static NovelConcept byPlaceholder(String placeholder) {
        for (NovelConcept c : values()) {
            if (c.placeholder.equals(placeholder)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown toy concept '" + placeholder + "'; known: "
                + java.util.Arrays.stream(values()).map(NovelConcept::placeholder).toList());
    }
}
