package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Fidelity is 1 on clean renders of the concept and lower on anything else; image scores and caption parsing. */
@Tag("unit")
class ToyFidelityTest {
    private static final ToyWorld.Size L = ToyWorld.Size.LARGE;

    @Test
    void cleanRenderOfTheConceptIsIdentical() {
        for (NovelConcept c : NovelConcept.values()) {
            for (ToyWorld.Background bg : ToyWorld.Background.values()) {
                for (ToyWorld.Position p : ToyWorld.Position.values()) {
                    for (int dx = -1; dx <= 1; dx++) {
                        for (int dy = -1; dy <= 1; dy++) {
                            Scene s = Scene.of(bg, SceneObject.concept(c, L, p).withJitter(dx, dy));
                            ToyFidelity.Match m = ToyFidelity.match(ToyRenderer.render(s), c, L, p);
                            assertEquals(1.0, m.similarity(), 0.0, s.caption() + " jitter " + dx + "," + dy);
                            assertEquals(dx, m.dx());
                            assertEquals(dy, m.dy());
                        }
                    }
                }
            }
        }
    }

    @Test
    void anythingElseScoresLower() {
        ToyWorld.Position left = ToyWorld.Position.LEFT;
        for (NovelConcept c : NovelConcept.values()) {
            for (ToyWorld.Background bg : ToyWorld.Background.values()) {
                NovelConcept other = NovelConcept.values()[(c.ordinal() + 1) % NovelConcept.values().length];
                double wrongObject = ToyFidelity.similarity(ToyRenderer.render(Scene.of(bg,
                        SceneObject.named(c.superclass(), ToyWorld.Color.RED, L, left))), c, L, left);
                double otherConcept = ToyFidelity.similarity(ToyRenderer.render(Scene.of(bg,
                        SceneObject.concept(other, L, left))), c, L, left);
                double elsewhere = ToyFidelity.similarity(ToyRenderer.render(Scene.of(bg,
                        SceneObject.concept(c, L, ToyWorld.Position.RIGHT))), c, L, left);
                double small = ToyFidelity.similarity(ToyRenderer.render(Scene.of(bg,
                        SceneObject.concept(c, ToyWorld.Size.SMALL, left))), c, L, left);
                String what = c + " on " + bg;
                assertTrue(wrongObject < 0.85, what + ": its superclass shape in red scores " + wrongObject);
                assertTrue(otherConcept < 0.85, what + ": the other concept scores " + otherConcept);
                assertTrue(elsewhere < 0.85, what + ": the concept at another position scores " + elsewhere);
                assertTrue(small < 0.95, what + ": a small concept scores " + small);
                for (double v : new double[] {wrongObject, otherConcept, elsewhere, small}) {
                    assertTrue(v >= 0 && v <= 1, what + " in [0, 1]: " + v);
                }
            }
        }
        // noise lowers it a little, not much
        int[] img = ToyRenderer.render(Scene.of(ToyWorld.Background.WHITE, SceneObject.concept(NovelConcept.RING, L,
                left)));
        java.util.Random rnd = new java.util.Random(1);
        for (int i = 0; i < img.length; i++) {
            int r = clamp(((img[i] >> 16) & 0xFF) + (int) (rnd.nextGaussian() * 10));
            int g = clamp(((img[i] >> 8) & 0xFF) + (int) (rnd.nextGaussian() * 10));
            int b = clamp((img[i] & 0xFF) + (int) (rnd.nextGaussian() * 10));
            img[i] = r << 16 | g << 8 | b;
        }
        double noisy = ToyFidelity.similarity(img, NovelConcept.RING, L, left);
        assertTrue(noisy > 0.95 && noisy < 1, "σ = 10 noise: " + noisy);
        assertThrows(IllegalArgumentException.class,
                () -> ToyFidelity.similarity(new int[10], NovelConcept.RING, L, left));
    }

    @Test
    void imageScoresCountTheChecks() {
        Scene s = Scene.of(ToyWorld.Background.BLACK,
                SceneObject.concept(NovelConcept.RING, L, ToyWorld.Position.LEFT),
                SceneObject.named(ToyWorld.Shape.SQUARE, ToyWorld.Color.RED, ToyWorld.Size.SMALL,
                        ToyWorld.Position.RIGHT));
        ToyImageScore clean = ToyImageScore.of(s, ToyRenderer.render(s));
        assertEquals(6, clean.total());
        assertEquals(6, clean.passed());
        assertTrue(clean.strict() && clean.conceptsPresent());
        assertEquals(1.0, clean.fidelity(), 0.0);
        // the concept replaced by its superclass: not present, fidelity lower, the rest right
        Scene plain = Scene.of(ToyWorld.Background.BLACK,
                SceneObject.named(ToyWorld.Shape.CIRCLE, ToyWorld.Color.BLUE, L, ToyWorld.Position.LEFT),
                s.objects().get(1));
        ToyImageScore wrong = ToyImageScore.of(s, ToyRenderer.render(plain));
        assertEquals(5, wrong.passed());
        assertFalse(wrong.strict() || wrong.conceptsPresent());
        assertEquals(5 / 6.0, wrong.alignment(), 1e-12);
        assertTrue(wrong.fidelity() < 0.9);
        // a grammar-only scene has no fidelity
        Scene named = ToyDataset.namedScene(3, 2);
        assertTrue(Double.isNaN(ToyImageScore.of(named, ToyRenderer.render(named)).fidelity()));
    }

    @Test
    void patchesOfAConceptsColoursStrewnOverTheImageAreNotTheConcept() {
        // what a failed composition looks like: blue and yellow blobs everywhere; <ring> is not present in any.
        // The layout share alone (ToyChecker.conceptPresent) accepts 3 of these 200 images.
        Scene s = Scene.of(ToyWorld.Background.WHITE, SceneObject.concept(NovelConcept.RING, L, ToyWorld.Position.LEFT));
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        int layoutOnly = 0;
        for (int trial = 0; trial < 200; trial++) {
            int[] img = new int[32 * 32];
            for (int cy = 0; cy < 8; cy++) {
                for (int cx = 0; cx < 8; cx++) {
                    double u = rnd.nextDouble();
                    int c = u < 0.3 ? ToyWorld.Color.BLUE.rgb() : u < 0.6 ? ToyWorld.Color.YELLOW.rgb()
                            : ToyWorld.Background.WHITE.rgb();
                    for (int y = 4 * cy; y < 4 * cy + 4; y++) {
                        for (int x = 4 * cx; x < 4 * cx + 4; x++) {
                            img[y * 32 + x] = c;
                        }
                    }
                }
            }
            assertFalse(ToyImageScore.of(s, img).conceptsPresent(), "trial " + trial);
            layoutOnly += ToyChecker.conceptPresent(img, NovelConcept.RING, ToyWorld.Position.LEFT) ? 1 : 0;
        }
        assertTrue(layoutOnly > 0, "the patches should fool the layout share now and then, else they test nothing");
    }

    @Test
    void captionsParseBack() {
        for (long seed = 0; seed < 300; seed++) {
            Scene s = ToyDataset.namedScene(seed, 1 + (int) (seed % 2));
            Scene parsed = ToyCaptions.parse(s.caption());
            assertEquals(s.caption(), parsed.caption());
            assertEquals(s.background(), parsed.background());
        }
        for (NovelConcept c : NovelConcept.values()) {
            for (Scene s : ToyEvaluation.prompts(c)) {
                assertEquals(s, ToyCaptions.parse(s.caption()));
            }
        }
        assertTrue(ToyCaptions.tryParse("a photo of a <ring>").isEmpty());
        assertTrue(ToyCaptions.tryParse("a large thing on the left, on a white background").isEmpty());
        assertTrue(ToyCaptions.tryParse("a large <teddy> on the left, on a white background").isEmpty());
        assertThrows(IllegalArgumentException.class,
                () -> ToyCaptions.parse("a large red circle on the left, on a grey background"));
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }
}
