package dev.perfusion.nn;

import static dev.perfusion.nn.NnTesting.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link Module#loadStateDict} and {@link Module#stateDict()}: strictness, error reports, dtypes, ownership. */
@Tag("unit")
class StateDictTest {
    private final Backend be = new ReferenceBackend();

    /** A fresh FLOAT32 copy of every value of {@code m}, each filled from its own seed. */
    private Map<String, Tensor> randomState(Module m, long seed) {
        Map<String, Tensor> state = new LinkedHashMap<>();
        long s = seed;
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
            state.put(e.getKey(), normal(be, s++, 1f, e.getValue().shape().dims()));
        }
        return state;
    }

    @Test
    void roundTripThroughStateDict() {
        try (TensorScope scope = TensorScope.open();
             Attention a = new Attention(be, 8, 6, 2, 3);
             Attention b = new Attention(be, 8, 6, 2, 3)) {
            a.initialize(11);
            Map<String, Tensor> copy = new LinkedHashMap<>();
            a.stateDict().forEach((k, t) -> copy.put(k, be.fromArray(t.toFloatArray(), t.shape())));
            Module.LoadResult r = b.loadStateDict(copy, true);
            assertEquals(List.of(), r.missingKeys());
            assertEquals(List.of(), r.unexpectedKeys());
            for (String k : a.stateDict().keySet()) {
                assertArrayEquals(a.stateDict().get(k).toFloatArray(), b.stateDict().get(k).toFloatArray(), k);
                assertSame(copy.get(k), b.stateDict().get(k), "a FLOAT32 value on the same backend is kept, not copied");
            }
        }
    }

    @Test
    void strictLoadingReportsEveryProblemAtOnce() {
        try (TensorScope scope = TensorScope.open(); Attention a = new Attention(be, 8, 6, 2, 3)) {
            a.initialize(3);
            Map<String, Tensor> before = new LinkedHashMap<>();
            a.stateDict().forEach((k, t) -> before.put(k, t));
            Map<String, Tensor> state = randomState(a, 100);
            state.remove("to_v.weight");                                               // missing
            state.put("to_q.weight", normal(be, 1, 1f, 6, 9));                          // wrong shape
            state.put("to_out.0.bias", be.fromArray(new long[8], Shape.of(8)));         // integer dtype
            state.put("to_out.1.weight", normal(be, 2, 1f, 8));                         // unexpected
            state.put("to_q.bias", normal(be, 3, 1f, 6));                               // unexpected

            StateDictException e = assertThrows(StateDictException.class, () -> a.loadStateDict(state, true));
            assertEquals(List.of("to_v.weight"), e.missingKeys());
            assertEquals(List.of("to_out.1.weight", "to_q.bias"), e.unexpectedKeys());
            assertEquals(1, e.shapeMismatches().size());
            assertTrue(e.shapeMismatches().get(0).startsWith("to_q.weight: checkpoint [6, 9] vs module [6, 8]"),
                    e.shapeMismatches().get(0));
            assertEquals(1, e.dtypeMismatches().size());
            assertTrue(e.dtypeMismatches().get(0).startsWith("to_out.0.bias: INT64"), e.dtypeMismatches().get(0));
            for (String s : List.of("to_v.weight", "to_out.1.weight", "to_q.bias", "to_q.weight", "to_out.0.bias")) {
                assertTrue(e.getMessage().contains(s), "message names " + s + ": " + e.getMessage());
            }
            // nothing was loaded: the old values are still in place and open
            for (Map.Entry<String, Tensor> b : before.entrySet()) {
                assertSame(b.getValue(), a.stateDict().get(b.getKey()));
                assertFalse(b.getValue().isClosed());
            }
        }
    }

    @Test
    void nonStrictIgnoresUnexpectedAndMissingButNotShapes() {
        try (TensorScope scope = TensorScope.open(); FeedForward ff = new FeedForward(be, 4, 2, 3)) {
            ff.initialize(5);
            float[] keptBias = ff.stateDict().get("net.2.bias").toFloatArray();
            Map<String, Tensor> state = randomState(ff, 200);
            state.remove("net.2.bias");
            state.put("net.3.weight", normal(be, 4, 1f, 3, 3));
            Tensor given = state.get("net.0.proj.weight");
            Module.LoadResult r = ff.loadStateDict(state, false);
            assertEquals(List.of("net.2.bias"), r.missingKeys());
            assertEquals(List.of("net.3.weight"), r.unexpectedKeys());
            assertSame(given, ff.stateDict().get("net.0.proj.weight"));
            assertArrayEquals(keptBias, ff.stateDict().get("net.2.bias").toFloatArray(), "a missing key keeps its value");

            state.put("net.2.weight", normal(be, 5, 1f, 3, 7));
            StateDictException e = assertThrows(StateDictException.class, () -> ff.loadStateDict(state, false));
            assertEquals(List.of(), e.missingKeys());
            assertEquals(List.of(), e.unexpectedKeys());
            assertEquals(1, e.shapeMismatches().size());
        }
    }

    @Test
    void longListsAreCappedInTheMessage() {
        try (TensorScope scope = TensorScope.open(); Linear l = new Linear(be, 2, 2, true)) {
            Map<String, Tensor> state = randomState(l, 1);
            for (int i = 0; i < 25; i++) {
                state.put("extra." + i, normal(be, i, 1f, 1));
            }
            StateDictException e = assertThrows(StateDictException.class, () -> l.loadStateDict(state, true));
            assertEquals(25, e.unexpectedKeys().size(), "the list itself is complete");
            assertTrue(e.getMessage().contains("extra.19"), e.getMessage());
            assertFalse(e.getMessage().contains("extra.20"), e.getMessage());
            assertTrue(e.getMessage().contains("and 5 more"), e.getMessage());
        }
    }

    @Test
    void halfPrecisionValuesAreWidenedToFloat32() {
        for (DType half : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
            try (TensorScope scope = TensorScope.open(); Linear l = new Linear(be, 3, 2, true)) {
                Map<String, Tensor> f32 = randomState(l, 300);
                Map<String, Tensor> state = new LinkedHashMap<>();
                f32.forEach((k, t) -> state.put(k, be.cast(t, half)));
                l.loadStateDict(state, true);
                for (String k : state.keySet()) {
                    Tensor loaded = l.stateDict().get(k);
                    assertEquals(DType.FLOAT32, loaded.dtype(), k);
                    float[] source = f32.get(k).toFloatArray();
                    float[] expected = new float[source.length];
                    for (int i = 0; i < source.length; i++) {
                        expected[i] = HalfFloats.round(source[i], half);
                    }
                    assertArrayEquals(expected, loaded.toFloatArray(), k + " from " + half);
                    assertTrue(state.get(k).isClosed(), "the module took the " + half + " tensor and freed it after casting");
                }
            }
        }
    }

    @Test
    void loadingClosesOldValuesAndDetachesNewOnes() {
        Linear l = new Linear(be, 3, 2, true);
        l.requiresGrad(true);
        Tensor oldWeight = l.weight().value();
        Tensor oldBias = l.bias().value();
        try (TensorScope scope = TensorScope.open()) {
            l.loadStateDict(randomState(l, 400), true);
        }
        assertTrue(oldWeight.isClosed());
        assertTrue(oldBias.isClosed());
        assertFalse(l.weight().value().isClosed(), "loaded values must survive the scope they were made in");
        assertEquals(3, l.weight().value().toFloatArray().length / 2);
        assertTrue(l.weight().value().requiresGrad(), "loading keeps a trainable parameter trainable");
        l.close();
    }

    @Test
    void valuesFromAnotherBackendAreCopied() {
        Backend other = new ReferenceBackend();
        try (TensorScope scope = TensorScope.open(); Linear l = new Linear(be, 3, 2, false)) {
            Tensor w = normal(other, 9, 1f, 2, 3);
            l.loadStateDict(Map.of("weight", w), true);
            assertSame(be, l.weight().value().backend());
            assertArrayEquals(normal(be, 9, 1f, 2, 3).toFloatArray(), l.weight().value().toFloatArray());
        }
    }
}
