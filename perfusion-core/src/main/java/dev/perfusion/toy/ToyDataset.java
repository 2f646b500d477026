package dev.perfusion.toy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded random scenes of the toy world. {@link #trainingScene} is the base model's training distribution:
 * 40 % one named object, 45 % two named objects (left and right, either named first), 15 % scenes with an unnamed
 * "thing" (random outline, pattern and hues) alone or beside a named object. Every scene is a pure function of its
 * seed, so "fresh seeds" for the quality gate are simply seeds the training never drew (see {@link #GATE_SEED_BASE}).
 */
public final class ToyDataset {
    /** Seeds at or above this value are never used by base-model training (which counts up from 0). */
    public static final long GATE_SEED_BASE = 1L << 40;

    private ToyDataset() {
    }

    /** The training scene of a seed. */
    public static Scene trainingScene(long seed) {
        SplittableRandom rnd = new SplittableRandom(mix(seed));
        double u = rnd.nextDouble();
        ToyWorld.Background bg = pick(rnd, ToyWorld.Background.values());
        if (u < 0.40) {
            return Scene.of(bg, jitter(rnd, randomNamed(rnd, pick(rnd, ToyWorld.Position.values()))));
        }
        boolean thing = u >= 0.85;
        if (thing && rnd.nextBoolean()) {
            return Scene.of(bg, jitter(rnd, randomThing(rnd, pick(rnd, ToyWorld.Position.values()))));
        }
        SceneObject left = jitter(rnd, randomNamed(rnd, ToyWorld.Position.LEFT));
        SceneObject right = jitter(rnd, randomNamed(rnd, ToyWorld.Position.RIGHT));
        if (thing) {
            if (rnd.nextBoolean()) {
                left = jitter(rnd, randomThing(rnd, ToyWorld.Position.LEFT));
            } else {
                right = jitter(rnd, randomThing(rnd, ToyWorld.Position.RIGHT));
            }
        }
        return rnd.nextBoolean() ? Scene.of(bg, left, right) : Scene.of(bg, right, left);
    }

    /** A scene of {@code objects} (1 or 2) named grammar objects, for evaluation; no things, no concepts. */
    public static Scene namedScene(long seed, int objects) {
        if (objects != 1 && objects != 2) {
            throw new IllegalArgumentException("objects must be 1 or 2, got " + objects);
        }
        SplittableRandom rnd = new SplittableRandom(mix(seed ^ 0x5DEECE66DL));
        ToyWorld.Background bg = pick(rnd, ToyWorld.Background.values());
        if (objects == 1) {
            return Scene.of(bg, jitter(rnd, randomNamed(rnd, pick(rnd, ToyWorld.Position.values()))));
        }
        SceneObject left = jitter(rnd, randomNamed(rnd, ToyWorld.Position.LEFT));
        SceneObject right = jitter(rnd, randomNamed(rnd, ToyWorld.Position.RIGHT));
        return rnd.nextBoolean() ? Scene.of(bg, left, right) : Scene.of(bg, right, left);
    }

    /**
     * {@code count} images of a novel concept alone, in the centre, large, on random backgrounds with jitter: the
     * training set of a Perfusion concept.
     */
    public static List<Scene> conceptScenes(NovelConcept concept, int count, long seed) {
        SplittableRandom rnd = new SplittableRandom(mix(seed ^ concept.ordinal() * 0x9E3779B97F4A7C15L));
        List<Scene> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ToyWorld.Background bg = ToyWorld.Background.values()[i % 2];
            SceneObject o = SceneObject.concept(concept, ToyWorld.Size.LARGE, ToyWorld.Position.CENTER);
            out.add(Scene.of(bg, jitter(rnd, o)));
        }
        return out;
    }

    private static SceneObject randomNamed(SplittableRandom rnd, ToyWorld.Position p) {
        return SceneObject.named(pick(rnd, ToyWorld.Shape.values()), pick(rnd, ToyWorld.Color.values()),
                pick(rnd, ToyWorld.Size.values()), p);
    }

    private static SceneObject randomThing(SplittableRandom rnd, ToyWorld.Position p) {
        ToyWorld.Outline outline = pick(rnd, ToyWorld.Outline.values());
        ToyWorld.Pattern pattern = pick(rnd, ToyWorld.Pattern.values());
        SceneObject.Thing t = new SceneObject.Thing(outline, pattern, randomHue(rnd), randomHue(rnd));
        return new SceneObject(SceneObject.Kind.THING, null, null, t, null, pick(rnd, ToyWorld.Size.values()), p, 0, 0);
    }

    /** A saturated colour of random hue (HSV with s, v in [0.6, 1]). */
    private static int randomHue(SplittableRandom rnd) {
        float h = (float) rnd.nextDouble();
        float s = (float) (0.6 + 0.4 * rnd.nextDouble());
        float v = (float) (0.6 + 0.4 * rnd.nextDouble());
        return java.awt.Color.HSBtoRGB(h, s, v) & 0xFFFFFF;
    }

    private static SceneObject jitter(SplittableRandom rnd, SceneObject o) {
        return o.withJitter(rnd.nextInt(3) - 1, rnd.nextInt(3) - 1);
    }

    private static <T> T pick(SplittableRandom rnd, T[] values) {
        return values[rnd.nextInt(values.length)];
    }

    /** SplitMix64's finaliser, so neighbouring seeds give unrelated streams. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
