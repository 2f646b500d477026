package dev.perfusion.toy;

/**
 * Objects the toy grammar has no words for, learned as Perfusion concepts (issue 7). Each is an outline the grammar
 * does not name, split into two halves in two grammar colours; its superclass is the grammar shape it resembles.
 *
 * <p>Why grammar colours and halves: the toy VAE encodes a flat region's colour along one direction of its latent
 * and decodes every hue to the nearest of the four grammar colours, and a latent cell covers 4 × 4 pixels; earlier
 * looks (cyan/magenta stripes 1.8 px across, an orange/teal 3.5-px checkerboard) came back from encode → decode as
 * a plain blue ring and a brown square, so no training could be rewarded for them (docs/EVALUATION.md, "The concepts
 * through the VAE"). Halves are far larger than a latent cell and their colours are ones the VAE reproduces; the
 * concept stays novel as a whole — an outline and a two-colour layout that no caption names — and the checker
 * recognises it by that layout ({@link ToyChecker}).
 */
public enum NovelConcept {
    /** A ring, blue on its left half and yellow on its right; superclass "circle". */
    RING("<ring>", ToyWorld.Shape.CIRCLE, ToyWorld.Outline.RING, ToyWorld.Pattern.TWO_TONE,
            ToyWorld.Color.BLUE, ToyWorld.Color.YELLOW),
    /** A diamond, green on its left half and red on its right; superclass "square". */
    DIAMOND("<diamond>", ToyWorld.Shape.SQUARE, ToyWorld.Outline.DIAMOND, ToyWorld.Pattern.TWO_TONE,
            ToyWorld.Color.GREEN, ToyWorld.Color.RED);

    private final String placeholder;
    private final ToyWorld.Shape superclass;
    private final ToyWorld.Outline outline;
    private final ToyWorld.Pattern pattern;
    private final ToyWorld.Color colorA;
    private final ToyWorld.Color colorB;

    NovelConcept(String placeholder, ToyWorld.Shape superclass, ToyWorld.Outline outline, ToyWorld.Pattern pattern,
                 ToyWorld.Color colorA, ToyWorld.Color colorB) {
        this.placeholder = placeholder;
        this.superclass = superclass;
        this.outline = outline;
        this.pattern = pattern;
        this.colorA = colorA;
        this.colorB = colorB;
    }

    /** The prompt token, e.g. {@code <ring>}. */
    public String placeholder() { return placeholder; }

    /** The grammar shape whose word the concept's keys are locked to. */
    public ToyWorld.Shape superclass() { return superclass; }

    public ToyWorld.Outline outline() { return outline; }

    public ToyWorld.Pattern pattern() { return pattern; }

    /** The grammar colour of the pattern's A part (the left half). */
    public ToyWorld.Color colorA() { return colorA; }

    /** The grammar colour of the pattern's B part (the right half). */
    public ToyWorld.Color colorB() { return colorB; }

    /** Colour A, 0xRRGGBB. */
    public int rgbA() { return colorA.rgb(); }

    /** Colour B, 0xRRGGBB. */
    public int rgbB() { return colorB.rgb(); }

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
