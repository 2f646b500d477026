package dev.perfusion.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link Module#initialize(long)}: deterministic, keyed by name (not by construction order), per-module rules. */
@Tag("unit")
class InitializeTest {
    private final Backend be = new ReferenceBackend();

    private static Map<String, float[]> values(Module m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.stateDict().forEach((k, t) -> out.put(k, t.toFloatArray()));
        return out;
    }

    private static void assertSameValues(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), k);
        }
    }

    @Test
    void sameSeedSameValues() {
        try (Attention a = new Attention(be, 8, 6, 2, 3); Attention b = new Attention(be, 8, 6, 2, 3)) {
            a.initialize(42);
            b.initialize(7);
            b.initialize(42);
            assertSameValues(values(a), values(b));
        }
    }

    @Test
    void differentSeedOrKeyDifferentValues() {
        try (Attention a = new Attention(be, 8, 8, 2, 4); Attention b = new Attention(be, 8, 8, 2, 4)) {
            a.initialize(1);
            b.initialize(2);
            Map<String, float[]> va = values(a);
            Map<String, float[]> vb = values(b);
            for (String k : va.keySet()) {
                assertFalse(Arrays.equals(va.get(k), vb.get(k)), k + " must change with the seed");
            }
            // to_k and to_v have the same shape; the key, not the shape, picks the values
            assertFalse(Arrays.equals(va.get("to_k.weight"), va.get("to_v.weight")));
        }
    }

    /** Two children registered in either order, with an unrelated module built in between. */
    private static final class Pair extends Module {
        Pair(Backend be, boolean linearFirst) {
            super(be);
            if (linearFirst) {
                registerModule("proj", new Linear(be, 3, 4, true));
                try (Linear unrelated = new Linear(be, 5, 5, true)) {
                    unrelated.initialize(99);
                }
                registerModule("attn", new Attention(be, 4, null, 1, 4));
            } else {
                registerModule("attn", new Attention(be, 4, null, 1, 4));
                registerModule("proj", new Linear(be, 3, 4, true));
            }
        }
    }

    @Test
    void independentOfConstructionOrder() {
        try (Pair a = new Pair(be, true); Pair b = new Pair(be, false)) {
            a.initialize(5);
            b.initialize(5);
            assertSameValues(values(a), values(b));
        }
    }

    @Test
    void linearAndConvFollowPytorchDefaults() {
        try (Linear l = new Linear(be, 16, 8, true); Conv2d c = new Conv2d(be, 4, 6, 3, 1, 1, true)) {
            l.initialize(3);
            c.initialize(3);
            assertBounded(l.weight().value(), 1 / Math.sqrt(16));
            assertBounded(l.bias().value(), 1 / Math.sqrt(16));
            assertBounded(c.weight().value(), 1 / Math.sqrt(4 * 9));
            assertBounded(c.bias().value(), 1 / Math.sqrt(4 * 9));
        }
    }

    /** All values in (−bound, bound), and spread over most of it (not all tiny, not constant). */
    private static void assertBounded(Tensor t, double bound) {
        double max = 0;
        for (float v : t.toFloatArray()) {
            assertTrue(Math.abs(v) <= bound, v + " outside ±" + bound);
            max = Math.max(max, Math.abs(v));
        }
        assertTrue(max > 0.5 * bound, "values should fill the range ±" + bound + ", max |v| " + max);
    }

    @Test
    void normsStartAsTheIdentity() {
        try (GroupNorm g = new GroupNorm(be, 2, 4, 1e-5f, true); LayerNorm l = new LayerNorm(be, 3, 1e-5f, true)) {
            NnTesting.randomized(g, 1);
            NnTesting.randomized(l, 1);
            g.initialize(8);
            l.initialize(8);
            assertArrayEquals(new float[] {1, 1, 1, 1}, g.weight().value().toFloatArray());
            assertArrayEquals(new float[] {0, 0, 0, 0}, g.bias().value().toFloatArray());
            assertArrayEquals(new float[] {1, 1, 1}, l.weight().value().toFloatArray());
            assertArrayEquals(new float[] {0, 0, 0}, l.bias().value().toFloatArray());
        }
    }

    @Test
    void embeddingsAreSmallGaussians() {
        try (Embedding e = new Embedding(be, 100, 40)) {
            e.initialize(4);
            double sum = 0;
            double sq = 0;
            float[] v = e.weight().value().toFloatArray();
            for (float x : v) {
                sum += x;
                sq += x * x;
            }
            double mean = sum / v.length;
            double std = Math.sqrt(sq / v.length - mean * mean);
            assertEquals(0, mean, 0.002);
            assertEquals(Embedding.INIT_STD, std, 0.1 * Embedding.INIT_STD); // 4000 samples: std of std ≈ 1%
        }
    }

    @Test
    void initializeReplacesValuesAndKeepsTrainability() {
        try (Linear l = new Linear(be, 2, 2, true)) {
            l.requiresGrad(true);
            Tensor old = l.weight().value();
            l.initialize(1);
            assertTrue(old.isClosed());
            assertTrue(l.weight().value().requiresGrad());
        }
    }

    private static final class NoRule extends Module {
        NoRule(Backend be) {
            super(be);
            registerParameter("scale", Parameter.ones(be, Shape.of(1)));
        }
    }

    @Test
    void aParameterWithoutARuleIsAnError() {
        try (NoRule m = new NoRule(be)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.initialize(1));
            assertTrue(e.getMessage().contains("'scale'"), e.getMessage());
        }
    }
}
