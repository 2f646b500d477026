package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.toy.ToyWorld.Background;
import dev.perfusion.toy.ToyWorld.Color;
import dev.perfusion.toy.ToyWorld.Position;
import dev.perfusion.toy.ToyWorld.Shape;
import dev.perfusion.toy.ToyWorld.Size;
import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The renderer: purity, exact background and object colours, anti-aliased edges as exact blends, conversions. */
@Tag("unit")
class ToyRendererTest {
    private static final int N = ToyWorld.SIZE;

    @Test
    void renderingIsPureAndDeterministic() {
        for (long seed = 0; seed < 50; seed++) {
            Scene s = ToyDataset.trainingScene(seed);
            int[] a = ToyRenderer.render(s);
            int[] b = ToyRenderer.render(s);
            assertEquals(N * N, a.length);
            assertArrayEquals(a, b, "seed " + seed);
            // an equal scene built independently renders identically
            assertArrayEquals(a, ToyRenderer.render(new Scene(s.objects(), s.background())));
            for (int p : a) {
                assertEquals(0, p & 0xFF000000, "pixels are 0xRRGGBB");
            }
        }
    }

    @Test
    void backgroundCornersAreExact() {
        for (Background bg : Background.values()) {
            for (Shape shape : Shape.values()) {
                for (Position pos : Position.values()) {
                    Scene s = Scene.of(bg, SceneObject.named(shape, Color.GREEN, Size.LARGE, pos).withJitter(-1, 1));
                    int[] px = ToyRenderer.render(s);
                    for (int i : new int[] {0, N - 1, (N - 1) * N, N * N - 1}) {
                        assertEquals(bg.rgb(), px[i], s.caption() + ": corner pixel " + i);
                    }
                }
            }
        }
    }

    @Test
    void aPlainObjectsCentrePixelIsExactlyItsColour() {
        for (Color c : Color.values()) {
            for (Shape shape : Shape.values()) {
                for (Size size : Size.values()) {
                    for (Position pos : Position.values()) {
                        for (int d = -1; d <= 1; d++) {
                            SceneObject o = SceneObject.named(shape, c, size, pos).withJitter(d, -d);
                            int[] px = ToyRenderer.render(Scene.of(Background.BLACK, o));
                            int cx = (int) o.centerX();
                            int cy = (int) o.centerY();
                            // pixel (cx, cy) covers [cx, cx+1) × [cy, cy+1): inside every outline of radius ≥ 4
                            assertEquals(c.rgb(), px[cy * N + cx], o + " centre pixel");
                            assertEquals(c.rgb(), px[(cy - 1) * N + cx - 1], o + " pixel up-left of centre");
                        }
                    }
                }
            }
        }
    }

    @Test
    void edgePixelsAreExactSixteenSampleBlends() {
        for (Background bg : Background.values()) {
            for (Shape shape : Shape.values()) {
                Color c = Color.YELLOW;
                int[] px = ToyRenderer.render(Scene.of(bg, SceneObject.named(shape, c, Size.LARGE, Position.CENTER)));
                int object = 0;
                int background = 0;
                int blends = 0;
                for (int p : px) {
                    if (p == c.rgb()) {
                        object++;
                    } else if (p == bg.rgb()) {
                        background++;
                    } else {
                        blends++;
                        // the renderer averages 4 × 4 sub-samples: k of them object, 16 − k background, rounded
                        assertTrue(isBlend(p, c.rgb(), bg.rgb()), String.format("%s pixel %06x is no blend of %06x and %06x",
                                shape, p, c.rgb(), bg.rgb()));
                    }
                }
                assertTrue(blends > 10, shape + ": anti-aliased edge pixels " + blends);
                // the exact coverage (blends weighted by k/16) is close to the outline's area
                double area = object + blendCoverage(px, c.rgb(), bg.rgb());
                double r = Size.LARGE.radius();
                double want = switch (shape) {
                    case CIRCLE -> Math.PI * r * r;
                    case SQUARE -> 1.8 * r * 1.8 * r;
                    case TRIANGLE -> 2 * r * r;
                };
                assertEquals(want, area, 0.03 * want, shape + " rendered area");
                assertEquals(N * N, object + background + blends);
            }
        }
    }

    @Test
    void laterObjectsAreDrawnOverEarlierOnes() {
        // large objects at the left and the centre overlap between x = 9 and 15
        SceneObject red = SceneObject.named(Shape.SQUARE, Color.RED, Size.LARGE, Position.LEFT);
        SceneObject blue = SceneObject.named(Shape.SQUARE, Color.BLUE, Size.LARGE, Position.CENTER);
        int[] a = ToyRenderer.render(Scene.of(Background.WHITE, red, blue));
        int[] b = ToyRenderer.render(Scene.of(Background.WHITE, blue, red));
        int i = 16 * N + 12;
        assertEquals(Color.BLUE.rgb(), a[i]);
        assertEquals(Color.RED.rgb(), b[i]);
    }

    @Test
    void patternedObjectsShowBothColours() {
        for (NovelConcept c : NovelConcept.values()) {
            int[] px = ToyRenderer.render(Scene.of(Background.WHITE, SceneObject.concept(c, Size.LARGE, Position.CENTER)));
            int a = 0;
            int b = 0;
            for (int p : px) {
                a += p == c.rgbA() ? 1 : 0;
                b += p == c.rgbB() ? 1 : 0;
            }
            assertTrue(a > 10 && b > 10, c + ": " + a + " pixels of colour A, " + b + " of colour B");
        }
        // the ring's hole shows the background
        int[] ring = ToyRenderer.render(Scene.of(Background.BLACK,
                SceneObject.concept(NovelConcept.RING, Size.LARGE, Position.CENTER)));
        assertEquals(Background.BLACK.rgb(), ring[16 * N + 16]);
    }

    @Test
    void chwRoundTripIsExactForEveryEightBitValue() {
        int[] px = new int[N * N];
        for (int i = 0; i < px.length; i++) {
            px[i] = (i % 256) << 16 | ((i * 7 + 3) % 256) << 8 | (255 - i % 256);
        }
        float[] chw = ToyRenderer.toCHW(px);
        assertEquals(3 * N * N, chw.length);
        assertEquals(-1f, chw[0]);                   // red of pixel 0 is 0
        assertEquals(1f, chw[2 * N * N]);            // blue of pixel 0 is 255
        assertEquals(255 / 127.5f - 1f, chw[255]);   // red of pixel 255
        for (float v : chw) {
            assertTrue(v >= -1f && v <= 1f);
        }
        assertArrayEquals(px, ToyRenderer.fromCHW(chw, 0, N * N));

        // a batch of two images: the second starts at offset 3·hw
        int[] other = ToyRenderer.render(ToyDataset.trainingScene(3));
        float[] batch = new float[6 * N * N];
        System.arraycopy(chw, 0, batch, 0, chw.length);
        System.arraycopy(ToyRenderer.toCHW(other), 0, batch, chw.length, chw.length);
        assertArrayEquals(other, ToyRenderer.fromCHW(batch, 3 * N * N, N * N));
        assertArrayEquals(px, ToyRenderer.fromCHW(batch, 0, N * N));

        // out-of-range values clamp to 0 and 255
        float[] wild = new float[3];
        wild[0] = 2.5f;
        wild[1] = -3f;
        wild[2] = Float.NEGATIVE_INFINITY;
        assertEquals(0xFF0000, ToyRenderer.fromCHW(wild, 0, 1)[0]);
    }

    @Test
    void imageRoundTrip() {
        int[] px = ToyRenderer.render(ToyDataset.trainingScene(42));
        BufferedImage img = ToyRenderer.toImage(px);
        assertEquals(N, img.getWidth());
        assertEquals(N, img.getHeight());
        assertEquals(px[5 * N + 9], img.getRGB(9, 5) & 0xFFFFFF, "row-major: index y·32 + x");
        assertArrayEquals(px, ToyRenderer.pixels(img));
        // any image type: an ARGB copy reads back as the same 0xRRGGBB
        BufferedImage argb = new BufferedImage(N, N, BufferedImage.TYPE_INT_ARGB);
        argb.getGraphics().drawImage(img, 0, 0, null);
        assertArrayEquals(px, ToyRenderer.pixels(argb));
    }

    private static boolean isBlend(int p, int obj, int bg) {
        return blendK(p, obj, bg) > 0;
    }

    /** The k in 1..15 with p = round((k·obj + (16−k)·bg) / 16) per channel, or 0. */
    private static int blendK(int p, int obj, int bg) {
        for (int k = 1; k < 16; k++) {
            boolean ok = true;
            for (int sh = 0; sh <= 16; sh += 8) {
                int o = (obj >> sh) & 0xFF;
                int b = (bg >> sh) & 0xFF;
                int want = (k * o + (16 - k) * b + 8) / 16;
                ok &= ((p >> sh) & 0xFF) == want;
            }
            if (ok) {
                return k;
            }
        }
        return 0;
    }

    private static double blendCoverage(int[] px, int obj, int bg) {
        double sum = 0;
        for (int p : px) {
            if (p != obj && p != bg) {
                sum += blendK(p, obj, bg) / 16.0;
            }
        }
        return sum;
    }
}
