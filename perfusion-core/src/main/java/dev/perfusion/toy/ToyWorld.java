package dev.perfusion.toy;

/**
 * The grammar of the toy world (issue 7): 32×32 RGB images of one or two flat objects on an achromatic background,
 * each described by a caption such as "a small red circle on the left, on a white background".
 *
 * <p>Every attribute is an enum carrying its caption word and its geometry or colour, so the renderer
 * ({@link ToyRenderer}), the captions ({@link Scene#caption()}), the vocabulary and the analytic checker read one
 * definition. Coordinates are in pixels with the image's top-left corner at (0, 0); pixel (x, y) covers
 * [x, x+1) × [y, y+1).
 */
public final class ToyWorld {
    /** Image side in pixels. */
    public static final int SIZE = 32;

    private ToyWorld() {
    }

    /** The named shapes; the renderer draws them through {@link Outline}. */
    public enum Shape {
        CIRCLE("circle", Outline.CIRCLE), SQUARE("square", Outline.SQUARE), TRIANGLE("triangle", Outline.TRIANGLE);

        private final String word;
        private final Outline outline;

        Shape(String word, Outline outline) {
            this.word = word;
            this.outline = outline;
        }

        public String word() { return word; }

        public Outline outline() { return outline; }
    }

    /** The named colours, saturated so the checker can tell them from the achromatic backgrounds. */
    public enum Color {
        RED("red", 0xDC2828), GREEN("green", 0x28AA3C), BLUE("blue", 0x2850DC), YELLOW("yellow", 0xE6C828);

        private final String word;
        private final int rgb;

        Color(String word, int rgb) {
            this.word = word;
            this.rgb = rgb;
        }

        public String word() { return word; }

        /** 0xRRGGBB. */
        public int rgb() { return rgb; }
    }

    /** Object sizes: the outline's radius r in pixels (a small object is about 8 px across, a large one 14 px). */
    public enum Size {
        SMALL("small", 4), LARGE("large", 7);

        private final String word;
        private final int radius;

        Size(String word, int radius) {
            this.word = word;
            this.radius = radius;
        }

        public String word() { return word; }

        public int radius() { return radius; }
    }

    /** Horizontal placement: the object's centre x before jitter (every object's centre y is 16). */
    public enum Position {
        LEFT("on the left", 8), CENTER("in the center", 16), RIGHT("on the right", 24);

        private final String phrase;
        private final int centerX;

        Position(String phrase, int centerX) {
            this.phrase = phrase;
            this.centerX = centerX;
        }

        /** The caption phrase, e.g. "on the left". */
        public String phrase() { return phrase; }

        public int centerX() { return centerX; }
    }

    /** Backgrounds: achromatic, so saturation separates them from every object colour. */
    public enum Background {
        WHITE("white", 0xF0F0F0), BLACK("black", 0x141414);

        private final String word;
        private final int rgb;

        Background(String word, int rgb) {
            this.word = word;
            this.rgb = rgb;
        }

        public String word() { return word; }

        public int rgb() { return rgb; }
    }

    /**
     * Geometric outlines, in local coordinates (u, v) = (x − cx, y − cy) with radius r. The first three are the named
     * shapes; ring, star and diamond appear only as unnamed "things" and novel concepts.
     */
    public enum Outline {
        /** u² + v² ≤ r². */
        CIRCLE,
        /** max(|u|, |v|) ≤ 0.9 r. */
        SQUARE,
        /** Apex up at (0, −r), base from (−r, r) to (r, r): |u| ≤ (v + r) / 2 for −r ≤ v ≤ r. */
        TRIANGLE,
        /** 0.55 r ≤ √(u² + v²) ≤ r. */
        RING,
        /** A five-pointed star, outer radius r, inner radius 0.45 r, one point up. */
        STAR,
        /** |u| + |v| ≤ r. */
        DIAMOND;

        /** Whether local point (u, v) lies inside this outline of radius r. */
        public boolean contains(double u, double v, double r) {
            switch (this) {
                case CIRCLE:
                    return u * u + v * v <= r * r;
                case SQUARE:
                    return Math.max(Math.abs(u), Math.abs(v)) <= 0.9 * r;
                case TRIANGLE:
                    return v >= -r && v <= r && Math.abs(u) <= (v + r) / 2;
                case RING: {
                    double d2 = u * u + v * v;
                    return d2 <= r * r && d2 >= 0.55 * 0.55 * r * r;
                }
                case STAR:
                    return starContains(u, v, r);
                case DIAMOND:
                    return Math.abs(u) + Math.abs(v) <= r;
                default:
                    throw new AssertionError(this);
            }
        }

        private static boolean starContains(double u, double v, double r) {
            double d = Math.hypot(u, v);
            if (d > r) {
                return false;
            }
            // angle from the upward direction, folded into one of the ten half-sectors of 36°
            double a = Math.atan2(u, -v);
            double sector = Math.PI / 5;
            double f = Math.abs(Math.IEEEremainder(a, 2 * sector)) / sector; // 0 at a point, 1 between points
            double inner = 0.45 * r;
            // boundary radius along the straight edge from the point (r, 0°) to the inner vertex (0.45 r, 36°)
            double t = f * sector;
            double px = r;
            double qx = inner * Math.cos(sector);
            double qy = inner * Math.sin(sector);
            // intersection of the ray at angle t with the segment P=(r,0)–Q=(qx,qy)
            double dx = qx - px;
            double dy = qy;
            double denom = Math.sin(t) * dx - Math.cos(t) * dy;
            double s = -px * dy / denom;
            return d <= Math.abs(s);
        }
    }

    /** Surface patterns of unnamed things and novel concepts, with two colours A and B. */
    public enum Pattern {
        /** Colour A everywhere. */
        PLAIN,
        /** Diagonal stripes, 2.5 px along an axis (about 1.8 px across): A where ⌊(u + v) / 2.5⌋ is even. */
        STRIPED,
        /** A 4 × 4 checkerboard over the bounding box [−r, r]². */
        CHECKERED,
        /** A on the left half (u &lt; 0), B on the right. */
        TWO_TONE;

        /** Whether local point (u, v) of an object of radius r takes colour A. */
        public boolean isColorA(double u, double v, double r) {
            switch (this) {
                case PLAIN:
                    return true;
                case STRIPED:
                    return Math.floorMod((int) Math.floor((u + v) / 2.5), 2) == 0;
                case CHECKERED: {
                    double cell = r / 2;
                    int cu = (int) Math.floor((u + r) / cell);
                    int cv = (int) Math.floor((v + r) / cell);
                    return ((cu + cv) & 1) == 0;
                }
                case TWO_TONE:
                    return u < 0;
                default:
                    throw new AssertionError(this);
            }
        }
    }
}
