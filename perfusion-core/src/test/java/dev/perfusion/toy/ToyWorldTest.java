package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.toy.ToyWorld.Outline;
import dev.perfusion.toy.ToyWorld.Pattern;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The toy grammar's definitions: the spec's words and colours, the outlines' geometry and the patterns. */
@Tag("unit")
class ToyWorldTest {
    /** Grid samples per side of the box [−1.1 r, 1.1 r]² used to measure areas (midpoint rule). */
    private static final int GRID = 1400;

    /** Analytic areas for r = 1. */
    private static final Map<Outline, Double> AREA = new EnumMap<>(Map.of(
            Outline.CIRCLE, Math.PI,
            Outline.SQUARE, 1.8 * 1.8,
            Outline.TRIANGLE, 2.0,                                  // base 2r × height 2r / 2
            Outline.RING, Math.PI * (1 - 0.55 * 0.55),
            Outline.DIAMOND, 2.0,                                   // four right triangles of legs r
            // ten triangles (centre, tip at r, inner vertex at 0.45 r 36° away): 10 · ½ · r · 0.45 r · sin 36°
            Outline.STAR, 10 * 0.5 * 0.45 * Math.sin(Math.PI / 5)));

    @Test
    void wordsColoursAndGeometryFollowTheSpec() {
        assertEquals(32, ToyWorld.SIZE);
        assertEquals(List.of("circle", "square", "triangle"),
                Arrays.stream(ToyWorld.Shape.values()).map(ToyWorld.Shape::word).toList());
        assertEquals(List.of(Outline.CIRCLE, Outline.SQUARE, Outline.TRIANGLE),
                Arrays.stream(ToyWorld.Shape.values()).map(ToyWorld.Shape::outline).toList());
        assertEquals(List.of("red", "green", "blue", "yellow"),
                Arrays.stream(ToyWorld.Color.values()).map(ToyWorld.Color::word).toList());
        assertEquals(rgb(220, 40, 40), ToyWorld.Color.RED.rgb());
        assertEquals(rgb(40, 170, 60), ToyWorld.Color.GREEN.rgb());
        assertEquals(rgb(40, 80, 220), ToyWorld.Color.BLUE.rgb());
        assertEquals(rgb(230, 200, 40), ToyWorld.Color.YELLOW.rgb());
        assertEquals("small", ToyWorld.Size.SMALL.word());
        assertEquals(4, ToyWorld.Size.SMALL.radius());
        assertEquals("large", ToyWorld.Size.LARGE.word());
        assertEquals(7, ToyWorld.Size.LARGE.radius());
        assertEquals("on the left", ToyWorld.Position.LEFT.phrase());
        assertEquals("in the center", ToyWorld.Position.CENTER.phrase());
        assertEquals("on the right", ToyWorld.Position.RIGHT.phrase());
        assertEquals(List.of(8, 16, 24), Arrays.stream(ToyWorld.Position.values()).map(ToyWorld.Position::centerX).toList());
        assertEquals("white", ToyWorld.Background.WHITE.word());
        assertEquals(rgb(240, 240, 240), ToyWorld.Background.WHITE.rgb());
        assertEquals("black", ToyWorld.Background.BLACK.word());
        assertEquals(rgb(20, 20, 20), ToyWorld.Background.BLACK.rgb());
        assertEquals(ToyWorld.Color.BLUE.rgb(), NovelConcept.RING.rgbA());
        assertEquals(ToyWorld.Color.YELLOW.rgb(), NovelConcept.RING.rgbB());
        assertEquals(ToyWorld.Color.GREEN.rgb(), NovelConcept.DIAMOND.rgbA());
        assertEquals(ToyWorld.Color.RED.rgb(), NovelConcept.DIAMOND.rgbB());
    }

    @Test
    void outlineAreasMatchTheirFormulas() {
        for (double r : new double[] {1.0, 7.0}) {
            for (Outline o : Outline.values()) {
                double area = area(o, r);
                double want = AREA.get(o) * r * r;
                assertEquals(want, area, 0.004 * want, o + " at r " + r + ": measured " + area + ", expected " + want);
            }
        }
        // the star lies between its inner circle (radius 0.45 r, which it contains) and its outer circle
        double star = area(Outline.STAR, 1);
        assertTrue(star > Math.PI * 0.45 * 0.45 && star < area(Outline.DIAMOND, 1), "star area " + star);
        for (int i = 0; i < 360; i++) {
            double t = Math.toRadians(i);
            assertTrue(Outline.STAR.contains(0.449 * Math.cos(t), 0.449 * Math.sin(t), 1), "inner circle at " + i + "°");
        }
    }

    @Test
    void outlinesAreMirrorSymmetricAndTheRoundOnesFourFoldSymmetric() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int i = 0; i < 20_000; i++) {
            double u = (rnd.nextDouble() * 2 - 1) * 1.2;
            double v = (rnd.nextDouble() * 2 - 1) * 1.2;
            for (Outline o : Outline.values()) {
                // every outline is symmetric under u → −u (the triangle's and star's apex is up)
                assertEquals(o.contains(u, v, 1), o.contains(-u, v, 1), o + " at (" + u + ", " + v + ")");
            }
            for (Outline o : List.of(Outline.CIRCLE, Outline.SQUARE, Outline.RING, Outline.DIAMOND)) {
                boolean in = o.contains(u, v, 1);
                assertEquals(in, o.contains(u, -v, 1), o + " mirrored in v at (" + u + ", " + v + ")");
                assertEquals(in, o.contains(v, u, 1), o + " transposed at (" + u + ", " + v + ")");
            }
        }
    }

    @Test
    void theStarHasFiveFoldSymmetryAndItsPointsWhereExpected() {
        SplittableRandom rnd = new SplittableRandom(5);
        int disagree = 0;
        int n = 20_000;
        double a = 2 * Math.PI / 5;
        for (int i = 0; i < n; i++) {
            double u = (rnd.nextDouble() * 2 - 1) * 1.1;
            double v = (rnd.nextDouble() * 2 - 1) * 1.1;
            double ru = u * Math.cos(a) - v * Math.sin(a);
            double rv = u * Math.sin(a) + v * Math.cos(a);
            if (Outline.STAR.contains(u, v, 1) != Outline.STAR.contains(ru, rv, 1)) {
                disagree++;
            }
        }
        assertTrue(disagree <= 2, disagree + " of " + n + " points change side under a 72° rotation");
        // one point up (−v is up): the tip reaches r; straight down lies between two points, at the inner radius
        assertTrue(Outline.STAR.contains(0, -0.98, 1));
        assertFalse(Outline.STAR.contains(0, -1.02, 1));
        assertTrue(Outline.STAR.contains(0, 0.43, 1));
        assertFalse(Outline.STAR.contains(0, 0.47, 1));
        // the other tips, 72° apart
        for (int k = 1; k < 5; k++) {
            double t = k * a;
            assertTrue(Outline.STAR.contains(0.98 * Math.sin(t), -0.98 * Math.cos(t), 1), "tip " + k);
        }
    }

    @Test
    void outlinesBoundariesAndCentres() {
        for (Outline o : Outline.values()) {
            assertEquals(o != Outline.RING, o.contains(0, 0, 5), o + " contains its centre");
            assertFalse(o.contains(5.01, 0, 5), o + " ends at r");
            assertFalse(o.contains(0, 5.01, 5), o + " ends at r");
        }
        // circle: radius r
        assertTrue(Outline.CIRCLE.contains(4.99, 0, 5));
        assertFalse(Outline.CIRCLE.contains(3.6, 3.6, 5));
        // square: half side 0.9 r, corners included
        assertTrue(Outline.SQUARE.contains(4.49, 4.49, 5));
        assertFalse(Outline.SQUARE.contains(4.51, 0, 5));
        // triangle: apex (0, −r), base corners (±r, r)
        assertTrue(Outline.TRIANGLE.contains(0, -4.99, 5));
        assertTrue(Outline.TRIANGLE.contains(4.9, 4.99, 5));
        assertTrue(Outline.TRIANGLE.contains(-4.9, 4.99, 5));
        assertFalse(Outline.TRIANGLE.contains(2.6, 0, 5));   // half width at v = 0 is r/2
        assertTrue(Outline.TRIANGLE.contains(2.4, 0, 5));
        assertFalse(Outline.TRIANGLE.contains(0, 5.01, 5));
        // ring: between 0.55 r and r
        assertFalse(Outline.RING.contains(2.7, 0, 5));
        assertTrue(Outline.RING.contains(2.8, 0, 5));
        assertTrue(Outline.RING.contains(0, -4.99, 5));
        // diamond: |u| + |v| ≤ r
        assertTrue(Outline.DIAMOND.contains(2.49, 2.49, 5));
        assertFalse(Outline.DIAMOND.contains(2.51, 2.51, 5));
    }

    @Test
    void patternsSplitTheObjectIntoTheirTwoColours() {
        double r = 7;
        SplittableRandom rnd = new SplittableRandom(3);
        for (int i = 0; i < 5_000; i++) {
            double u = (rnd.nextDouble() * 2 - 1) * r;
            double v = (rnd.nextDouble() * 2 - 1) * r;
            assertTrue(Pattern.PLAIN.isColorA(u, v, r));
            assertEquals(u < 0, Pattern.TWO_TONE.isColorA(u, v, r));
            // stripes run along u + v = const with period 5 (A for 2.5, B for 2.5)
            assertEquals(Pattern.STRIPED.isColorA(u, v, r), Pattern.STRIPED.isColorA(u + 5, v, r), "period");
            assertEquals(Pattern.STRIPED.isColorA(u, v, r), !Pattern.STRIPED.isColorA(u + 2.5, v, r), "alternation");
        }
        assertTrue(Pattern.STRIPED.isColorA(0.1, 0.1, r));
        assertFalse(Pattern.STRIPED.isColorA(1.5, 1.5, r));
        // checkerboard: 4 × 4 cells of side r/2 over [−r, r]², neighbours differ, corner cell is A
        for (int cu = 0; cu < 4; cu++) {
            for (int cv = 0; cv < 4; cv++) {
                double u = -r + (cu + 0.5) * r / 2;
                double v = -r + (cv + 0.5) * r / 2;
                assertEquals((cu + cv) % 2 == 0, Pattern.CHECKERED.isColorA(u, v, r), "cell " + cu + "," + cv);
            }
        }
        // each two-colour pattern covers about half of the bounding box with A
        for (Pattern p : List.of(Pattern.STRIPED, Pattern.CHECKERED, Pattern.TWO_TONE)) {
            int a = 0;
            int n = 200;
            for (int y = 0; y < n; y++) {
                for (int x = 0; x < n; x++) {
                    if (p.isColorA(-r + (x + 0.5) * 2 * r / n, -r + (y + 0.5) * 2 * r / n, r)) {
                        a++;
                    }
                }
            }
            assertEquals(0.5, a / (double) (n * n), 0.03, p + " share of colour A");
        }
    }

    private static double area(Outline o, double r) {
        double half = 1.1 * r;
        double h = 2 * half / GRID;
        long in = 0;
        for (int y = 0; y < GRID; y++) {
            double v = -half + (y + 0.5) * h;
            for (int x = 0; x < GRID; x++) {
                if (o.contains(-half + (x + 0.5) * h, v, r)) {
                    in++;
                }
            }
        }
        return in * h * h;
    }

    private static int rgb(int r, int g, int b) {
        return r << 16 | g << 8 | b;
    }
}
