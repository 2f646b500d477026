package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The analytic checker: exact on clean renders, rejects wrong scenes, robust to noise, finds concepts, fast. */
@Tag("unit")
class ToyCheckerTest {
    private static final ToyWorld.Position L = ToyWorld.Position.LEFT;
    private static final ToyWorld.Position C = ToyWorld.Position.CENTER;
    private static final ToyWorld.Position R = ToyWorld.Position.RIGHT;

    @Test
    void readsEveryLookExactly() {
        for (ToyWorld.Background bg : ToyWorld.Background.values()) {
            for (ToyWorld.Size size : ToyWorld.Size.values()) {
                for (ToyWorld.Shape shape : ToyWorld.Shape.values()) {
                    for (ToyWorld.Color color : ToyWorld.Color.values()) {
                        for (ToyWorld.Position p : ToyWorld.Position.values()) {
                            Scene s = Scene.of(bg, SceneObject.named(shape, color, size, p));
                            ImageReading r = ToyChecker.read(ToyRenderer.render(s));
                            assertEquals(bg, r.background());
                            assertEquals(1, r.detections().size(), s.caption() + " → " + r.detections());
                            Detection d = r.detections().get(0);
                            assertEquals(color, d.color(), s.caption());
                            assertEquals(shape, d.shape(), s.caption() + " → " + d);
                            assertEquals(size, d.size(), s.caption() + " → " + d);
                            assertEquals(p, d.position(), s.caption() + " → " + d);
                            assertEquals(p.centerX(), d.x(), 0.2, s.caption());
                        }
                    }
                }
            }
        }
    }

    @Test
    void datasetScenesAreAllCorrectOnCleanRenders() {
        int scenes = 0;
        Set<String> seen = new HashSet<>();
        Set<Integer> jitters = new HashSet<>();
        for (long seed = 0; seed < 2400; seed++) {
            Scene s = ToyDataset.namedScene(ToyDataset.GATE_SEED_BASE + seed, seed % 2 == 0 ? 1 : 2);
            CheckResult r = ToyChecker.check(s, ToyRenderer.render(s));
            if (!r.allCorrect()) {
                fail("seed " + seed + ": " + r);
            }
            scenes++;
            for (SceneObject o : s.objects()) {
                seen.add(o.shape() + " " + o.color() + " " + o.size() + " " + o.position() + " " + s.background());
                jitters.add(o.dx() * 10 + o.dy());
            }
        }
        // every shape × colour × size × position × background, and every jitter, was among them
        assertEquals(3 * 4 * 2 * 3 * 2, seen.size());
        assertEquals(9, jitters.size());
        System.out.println("clean renders: " + scenes + "/" + scenes + " scenes all-attributes correct");
    }

    @Test
    void touchingObjectsOfOneColourAreSeparated() {
        // the only jitter that makes two large objects touch (at x = 16): left dx = +1, right dx = -1; every look pair
        int checked = 0;
        for (ToyWorld.Background bg : ToyWorld.Background.values()) {
            for (SceneObject left : looks(L)) {
                for (SceneObject right : looks(R)) {
                    for (int dyl = -1; dyl <= 1; dyl++) {
                        for (int dyr = -1; dyr <= 1; dyr++) {
                            Scene s = Scene.of(bg, left.withJitter(1, dyl), right.withJitter(-1, dyr));
                            CheckResult r = ToyChecker.check(s, ToyRenderer.render(s));
                            if (!r.allCorrect()) {
                                fail(r.toString());
                            }
                            checked++;
                        }
                    }
                }
            }
        }
        assertEquals(2 * 24 * 24 * 9, checked);
    }

    @Test
    void wrongScenesAreRejected() {
        int rejected = 0;
        for (long seed = 0; seed < 400; seed++) {
            Scene s = ToyDataset.namedScene(seed, seed % 2 == 0 ? 1 : 2);
            int[] img = ToyRenderer.render(s);
            SceneObject o = s.objects().get(0);
            // colour
            ToyWorld.Color otherColor = ToyWorld.Color.values()[(o.color().ordinal() + 1 + (int) (seed % 3)) % 4];
            CheckResult r = ToyChecker.check(replace(s, 0, new SceneObject(o.kind(), o.shape(), otherColor, null, null,
                    o.size(), o.position(), o.dx(), o.dy())), img);
            assertFalse(r.allCorrect());
            assertFalse(r.objects().get(0).colorCorrect());
            assertTrue(r.objects().get(0).shapeCorrect() && r.objects().get(0).sizeCorrect()
                    && r.objects().get(0).positionCorrect());
            // shape
            ToyWorld.Shape otherShape = ToyWorld.Shape.values()[(o.shape().ordinal() + 1 + (int) (seed % 2)) % 3];
            r = ToyChecker.check(replace(s, 0, new SceneObject(o.kind(), otherShape, o.color(), null, null, o.size(),
                    o.position(), o.dx(), o.dy())), img);
            assertFalse(r.allCorrect());
            assertFalse(r.objects().get(0).shapeCorrect());
            assertTrue(r.objects().get(0).colorCorrect() && r.objects().get(0).sizeCorrect());
            // size
            ToyWorld.Size otherSize = o.size() == ToyWorld.Size.SMALL ? ToyWorld.Size.LARGE : ToyWorld.Size.SMALL;
            r = ToyChecker.check(replace(s, 0, new SceneObject(o.kind(), o.shape(), o.color(), null, null, otherSize,
                    o.position(), o.dx(), o.dy())), img);
            assertFalse(r.allCorrect());
            assertFalse(r.objects().get(0).sizeCorrect());
            assertTrue(r.objects().get(0).colorCorrect() && r.objects().get(0).shapeCorrect());
            // background
            ToyWorld.Background otherBg = s.background() == ToyWorld.Background.WHITE
                    ? ToyWorld.Background.BLACK : ToyWorld.Background.WHITE;
            r = ToyChecker.check(new Scene(s.objects(), otherBg), img);
            assertFalse(r.allCorrect());
            assertFalse(r.backgroundCorrect());
            assertTrue(r.objectsCorrect());
            // position: move a single object elsewhere; swap the two objects' places
            if (s.objects().size() == 1) {
                ToyWorld.Position p = ToyWorld.Position.values()[(o.position().ordinal() + 1 + (int) (seed % 2)) % 3];
                r = ToyChecker.check(replace(s, 0, o.withPosition(p)), img);
                assertFalse(r.allCorrect());
                assertFalse(r.objects().get(0).positionCorrect(), r.toString());
                assertTrue(r.objects().get(0).colorCorrect() && r.objects().get(0).shapeCorrect()
                        && r.objects().get(0).sizeCorrect(), r.toString());
            } else {
                SceneObject b = s.objects().get(1);
                boolean same = o.shape() == b.shape() && o.color() == b.color() && o.size() == b.size();
                r = ToyChecker.check(Scene.of(s.background(), o.withPosition(b.position()),
                        b.withPosition(o.position())), img);
                assertEquals(same, r.allCorrect(), r.toString());
                // a scene that lacks one of the two objects: the image has an extra one
                r = ToyChecker.check(Scene.of(s.background(), o), img);
                assertFalse(r.allCorrect());
                assertTrue(r.objectsCorrect());
                assertEquals(1, r.extras().size());
            }
            rejected += 5;
        }
        System.out.println("wrong scenes rejected: " + rejected + "/" + rejected);
    }

    @Test
    void aMissingObjectIsReported() {
        Scene two = Scene.of(ToyWorld.Background.WHITE,
                SceneObject.named(ToyWorld.Shape.CIRCLE, ToyWorld.Color.RED, ToyWorld.Size.LARGE, L),
                SceneObject.named(ToyWorld.Shape.SQUARE, ToyWorld.Color.BLUE, ToyWorld.Size.SMALL, R));
        Scene one = Scene.of(ToyWorld.Background.WHITE, two.objects().get(0));
        CheckResult r = ToyChecker.check(two, ToyRenderer.render(one));
        assertFalse(r.allCorrect());
        assertTrue(r.objects().get(0).allCorrect());
        assertEquals(null, r.objects().get(1).found());
        assertFalse(r.objects().get(1).allCorrect());
    }

    @Test
    void gaussianNoiseSigma10KeepsAtLeast98PercentCorrect() {
        Random noise = new Random(7);
        int n = 2000;
        int correct = 0;
        int objects = 0;
        int objectsCorrect = 0;
        List<String> failures = new ArrayList<>();
        for (long seed = 0; seed < n; seed++) {
            Scene s = ToyDataset.namedScene(1000 + seed, seed % 2 == 0 ? 1 : 2);
            int[] img = addNoise(ToyRenderer.render(s), 10, noise);
            CheckResult r = ToyChecker.check(s, img);
            if (r.allCorrect()) {
                correct++;
            } else if (failures.size() < 5) {
                failures.add(r.toString());
            }
            for (ObjectCheck o : r.objects()) {
                objects++;
                objectsCorrect += o.allCorrect() ? 1 : 0;
            }
        }
        System.out.printf("noise sigma=10: %d/%d scenes (%.2f %%) all correct, objects %d/%d; first failures: %s%n",
                correct, n, 100.0 * correct / n, objectsCorrect, objects, failures);
        assertTrue(correct >= 0.98 * n, correct + "/" + n + " " + failures);
    }

    @Test
    void conceptsAreFoundWhereTheyAre() {
        for (NovelConcept c : NovelConcept.values()) {
            NovelConcept other = NovelConcept.values()[(c.ordinal() + 1) % NovelConcept.values().length];
            // its training images: alone, centre, large, both backgrounds, jitter
            for (Scene s : ToyDataset.conceptScenes(c, 8, 3)) {
                int[] img = ToyRenderer.render(s);
                assertTrue(ToyChecker.conceptPresent(img, c, C), s.caption());
                assertEquals(1.0, ToyChecker.conceptShare(img, c, C), 1e-12);
                assertFalse(ToyChecker.conceptPresent(img, other, C));
                assertFalse(ToyChecker.conceptPresent(img, c, L));
                assertTrue(ToyChecker.check(s, img).allCorrect(), ToyChecker.check(s, img).toString());
            }
            // composed with a named object, every size, position pair and background
            for (ToyWorld.Background bg : ToyWorld.Background.values()) {
                for (ToyWorld.Size size : ToyWorld.Size.values()) {
                    for (ToyWorld.Position p : List.of(L, R)) {
                        ToyWorld.Position q = p == L ? R : L;
                        for (SceneObject named : looks(q)) {
                            Scene s = Scene.of(bg, SceneObject.concept(c, size, p).withJitter(p == L ? 1 : -1, 0),
                                    named.withJitter(q == L ? 1 : -1, 1));
                            int[] img = ToyRenderer.render(s);
                            assertTrue(ToyChecker.conceptPresent(img, c, p), s.caption());
                            assertFalse(ToyChecker.conceptPresent(img, c, q), s.caption());
                            CheckResult r = ToyChecker.check(s, img);
                            if (!r.allCorrect()) {
                                fail(r.toString());
                            }
                        }
                    }
                }
            }
        }
        // grammar objects never look like a concept
        for (long seed = 0; seed < 300; seed++) {
            Scene s = ToyDataset.namedScene(seed, 2);
            int[] img = ToyRenderer.render(s);
            for (NovelConcept c : NovelConcept.values()) {
                for (ToyWorld.Position p : ToyWorld.Position.values()) {
                    assertEquals(0.0, ToyChecker.conceptShare(img, c, p), s.caption());
                }
            }
        }
    }

    @Test
    void aConceptWhoseHalvesDoNotTouchIsStillOneObject() {
        // after a VAE the seam of <ring>'s halves can fade to the background and leave two arcs: still one <ring>
        for (ToyWorld.Background bg : ToyWorld.Background.values()) {
            Scene s = Scene.of(bg, SceneObject.concept(NovelConcept.RING, ToyWorld.Size.LARGE, C));
            int[] img = ToyRenderer.render(s);
            for (int y = 0; y < 32; y++) {
                img[y * 32 + 15] = bg.rgb(); // the seam is at x = 16 (u = 0): clear the column left of it
            }
            ImageReading r = ToyChecker.read(img, EnumSet.of(NovelConcept.RING));
            assertEquals(1, r.detections().size(), r.toString());
            assertTrue(ToyChecker.check(s, img).allCorrect(), ToyChecker.check(s, img).toString());
            assertEquals(1.0, ToyChecker.conceptShare(img, NovelConcept.RING, C), 1e-12);
            // a gap wider than ConceptLayout.GAP is two objects, each half of the layout
            for (int y = 0; y < 32; y++) {
                for (int x = 13; x <= 16; x++) {
                    img[y * 32 + x] = bg.rgb();
                }
            }
            assertFalse(ToyChecker.conceptPresent(img, NovelConcept.RING, C), bg.toString());
        }
    }

    @Test
    void anOutlineWithoutTheConceptsLayoutIsNotTheConcept() {
        // <ring> is blue on the left, yellow on the right: plain, swapped or in other colours it is not <ring>
        int blue = ToyWorld.Color.BLUE.rgb();
        int yellow = ToyWorld.Color.YELLOW.rgb();
        int red = ToyWorld.Color.RED.rgb();
        for (ToyWorld.Background bg : ToyWorld.Background.values()) {
            for (int[] ab : new int[][] {{blue, blue}, {yellow, yellow}, {yellow, blue}, {red, blue}, {blue, red}}) {
                SceneObject.Thing fake = new SceneObject.Thing(ToyWorld.Outline.RING, ToyWorld.Pattern.TWO_TONE,
                        ab[0], ab[1]);
                Scene s = Scene.of(bg, new SceneObject(SceneObject.Kind.THING, null, null, fake, null,
                        ToyWorld.Size.LARGE, C, 0, 0));
                int[] img = ToyRenderer.render(s);
                String what = bg + " " + Integer.toHexString(ab[0]) + "|" + Integer.toHexString(ab[1]);
                assertFalse(ToyChecker.conceptPresent(img, NovelConcept.RING, C), what);
                assertTrue(ToyChecker.conceptShare(img, NovelConcept.RING, C) < 0.2, what);
            }
            // a blue circle touching a yellow one is two objects, not a ring
            Scene two = Scene.of(bg, SceneObject.named(ToyWorld.Shape.CIRCLE, ToyWorld.Color.BLUE, ToyWorld.Size.LARGE,
                    L).withJitter(1, 0), SceneObject.named(ToyWorld.Shape.CIRCLE, ToyWorld.Color.YELLOW,
                    ToyWorld.Size.LARGE, R).withJitter(-1, 0));
            int[] img = ToyRenderer.render(two);
            for (ToyWorld.Position p : ToyWorld.Position.values()) {
                assertEquals(0.0, ToyChecker.conceptShare(img, NovelConcept.RING, p), bg + " " + p);
            }
            assertTrue(ToyChecker.check(two, img).allCorrect(), ToyChecker.check(two, img).toString());
        }
    }

    @Test
    void pureColoursAndTheirBlendsWithTheBackgroundClassifyToTheirClass() {
        List<int[]> classes = new ArrayList<>();
        for (ToyWorld.Color c : ToyWorld.Color.values()) {
            classes.add(new int[] {c.rgb()});
        }
        for (NovelConcept c : NovelConcept.values()) {
            classes.add(new int[] {c.rgbA(), c.rgbB()});
        }
        for (ToyWorld.Background bg : ToyWorld.Background.values()) {
            for (int k = 0; k < classes.size(); k++) {
                for (int col : classes.get(k)) {
                    // a concept's pure colours are grammar colours: they classify as those (its layout makes it a
                    // concept, see ConceptLayout); only the blends of its two colours are its own class
                    int expected = classes.get(k).length == 1 ? k : colorClass(col);
                    for (double a : new double[] {0.5, 0.75, 1.0}) {
                        int[] img = new int[32 * 32];
                        java.util.Arrays.fill(img, bg.rgb());
                        img[16 * 32 + 16] = blend(col, bg.rgb(), a);
                        assertEquals(expected, ToyChecker.classify(img, bg.rgb())[16 * 32 + 16],
                                bg + " class " + k + " a=" + a);
                    }
                    if (classes.get(k).length == 2) { // inside a concept's pattern: blends of its two colours
                        int[] pair = classes.get(k);
                        for (double a : new double[] {0.375, 0.5, 0.625}) {
                            int[] img = new int[32 * 32];
                            java.util.Arrays.fill(img, bg.rgb());
                            img[16 * 32 + 16] = blend(pair[0], pair[1], a);
                            assertEquals(k, ToyChecker.classify(img, bg.rgb())[16 * 32 + 16], "blend " + a);
                        }
                    }
                    int[] img = new int[32 * 32];
                    java.util.Arrays.fill(img, bg.rgb());
                    img[0] = blend(col, bg.rgb(), 0.4);
                    assertEquals(-1, ToyChecker.classify(img, bg.rgb())[0], "40 % coverage is background");
                }
            }
        }
    }

    @Test
    void bufferedImagesAreReadLikePixelArrays() {
        Scene s = ToyDataset.namedScene(5, 2);
        int[] img = ToyRenderer.render(s);
        BufferedImage bi = ToyRenderer.toImage(img);
        assertEquals(ToyChecker.read(img).detections().toString(), ToyChecker.read(bi).detections().toString());
        assertTrue(ToyChecker.check(s, bi).allCorrect());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ToyChecker.read(new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB)));
        assertTrue(e.getMessage().contains("64x64"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ToyChecker.read(new int[100]));
    }

    @Test
    void emptyImageHasNoObjects() {
        int[] img = new int[32 * 32];
        java.util.Arrays.fill(img, ToyWorld.Background.BLACK.rgb());
        ImageReading r = ToyChecker.read(img);
        assertEquals(ToyWorld.Background.BLACK, r.background());
        assertTrue(r.detections().isEmpty());
        Scene s = ToyDataset.namedScene(1, 1);
        CheckResult c = ToyChecker.check(s, img);
        assertFalse(c.allCorrect());
        assertEquals(null, c.objects().get(0).found());
    }

    @Test
    void isFast() {
        List<int[]> images = new ArrayList<>();
        List<Scene> scenes = new ArrayList<>();
        for (long seed = 0; seed < 500; seed++) {
            Scene s = ToyDataset.namedScene(seed, 2);
            scenes.add(s);
            images.add(ToyRenderer.render(s));
        }
        int ok = 0;
        for (int i = 0; i < 500; i++) { // warm-up
            ok += ToyChecker.check(scenes.get(i), images.get(i)).allCorrect() ? 1 : 0;
        }
        long t0 = System.nanoTime();
        int rounds = 4;
        for (int k = 0; k < rounds; k++) {
            for (int i = 0; i < 500; i++) {
                ok += ToyChecker.check(scenes.get(i), images.get(i)).allCorrect() ? 1 : 0;
            }
        }
        double msPer = (System.nanoTime() - t0) / 1e6 / (rounds * 500);
        System.out.printf("checker: %.3f ms per image%n", msPer);
        assertEquals(500 * (rounds + 1), ok);
        assertTrue(msPer < 1.0, msPer + " ms per image");
    }

    @Test
    void onlyTheScenesConceptsAreRecognised() {
        // a <diamond> where the scene asks for a named green object: it reads as its green and red halves
        Scene asked = Scene.of(ToyWorld.Background.BLACK,
                SceneObject.concept(NovelConcept.DIAMOND, ToyWorld.Size.LARGE, C));
        int[] img = ToyRenderer.render(asked);
        ImageReading all = ToyChecker.read(img);
        assertEquals(1, all.detections().size(), all.toString());
        assertEquals(NovelConcept.DIAMOND, all.detections().get(0).concept(), all.toString());
        ImageReading none = ToyChecker.read(img, EnumSet.noneOf(NovelConcept.class));
        assertEquals(EnumSet.of(ToyWorld.Color.GREEN, ToyWorld.Color.RED),
                none.detections().stream().map(Detection::color).collect(java.util.stream.Collectors.toCollection(
                        () -> EnumSet.noneOf(ToyWorld.Color.class))), none.toString());
        assertTrue(ToyChecker.check(asked, img).allCorrect());
        Scene named = Scene.of(ToyWorld.Background.BLACK,
                SceneObject.named(ToyWorld.Shape.SQUARE, ToyWorld.Color.GREEN, ToyWorld.Size.LARGE, C));
        CheckResult c = ToyChecker.check(named, img);
        assertFalse(c.allCorrect(), c.toString());
        assertThrows(NullPointerException.class, () -> ToyChecker.read(img, null));
    }

    @Test
    void detectionKeepsItsPixels() {
        Scene s = Scene.of(ToyWorld.Background.WHITE,
                SceneObject.named(ToyWorld.Shape.SQUARE, ToyWorld.Color.GREEN, ToyWorld.Size.LARGE, C));
        Detection d = ToyChecker.read(ToyRenderer.render(s)).detections().get(0);
        assertEquals(12.6 * 12.6, d.area(), 3.0); // soft area ≈ the outline's (1.8 r)²
        assertEquals(144, d.pixels().length);
        boolean[] mask = d.mask();
        assertTrue(mask[16 * 32 + 16]);
        assertFalse(mask[0]);
        assertNotNull(d.toString());
        assertEquals(EnumSet.of(ToyWorld.Size.SMALL, ToyWorld.Size.LARGE), EnumSet.allOf(ToyWorld.Size.class));
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private static int colorClass(int rgb) {
        for (ToyWorld.Color c : ToyWorld.Color.values()) {
            if (c.rgb() == rgb) {
                return c.ordinal();
            }
        }
        throw new AssertionError("not a grammar colour: " + Integer.toHexString(rgb));
    }

    /** The 24 named looks (shape × colour × size) at a position, without jitter. */
    private static List<SceneObject> looks(ToyWorld.Position p) {
        List<SceneObject> out = new ArrayList<>();
        for (ToyWorld.Shape sh : ToyWorld.Shape.values()) {
            for (ToyWorld.Color c : ToyWorld.Color.values()) {
                for (ToyWorld.Size sz : ToyWorld.Size.values()) {
                    out.add(SceneObject.named(sh, c, sz, p));
                }
            }
        }
        return out;
    }

    private static Scene replace(Scene s, int i, SceneObject o) {
        List<SceneObject> objects = new ArrayList<>(s.objects());
        objects.set(i, o);
        return new Scene(objects, s.background());
    }

    static int[] addNoise(int[] img, double sigma, Random rnd) {
        int[] out = new int[img.length];
        for (int i = 0; i < img.length; i++) {
            int c = img[i];
            int r = clamp(((c >> 16) & 0xFF) + (int) Math.round(sigma * rnd.nextGaussian()));
            int g = clamp(((c >> 8) & 0xFF) + (int) Math.round(sigma * rnd.nextGaussian()));
            int b = clamp((c & 0xFF) + (int) Math.round(sigma * rnd.nextGaussian()));
            out[i] = r << 16 | g << 8 | b;
        }
        return out;
    }

    private static int blend(int fg, int bg, double a) {
        int r = (int) Math.round(a * ((fg >> 16) & 0xFF) + (1 - a) * ((bg >> 16) & 0xFF));
        int g = (int) Math.round(a * ((fg >> 8) & 0xFF) + (1 - a) * ((bg >> 8) & 0xFF));
        int b = (int) Math.round(a * (fg & 0xFF) + (1 - a) * (bg & 0xFF));
        return r << 16 | g << 8 | b;
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }
}
