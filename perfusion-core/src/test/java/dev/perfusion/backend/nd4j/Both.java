package dev.perfusion.backend.nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;

/** The two backends under comparison, and seeded inputs made identically on both. */
final class Both {
    static final ReferenceBackend REF = new ReferenceBackend();
    static final Nd4jBackend ND = new Nd4jBackend();

    private Both() {
    }

    /** The same values on the reference backend and on ND4J. */
    record Pair(Tensor ref, Tensor nd) {
        Shape shape() {
            return ref.shape();
        }
    }

    static Pair of(float[] data, Shape shape) {
        return new Pair(REF.fromArray(data, shape), ND.fromArray(data, shape));
    }

    /** Standard normal values times {@code scale}. */
    static Pair randn(long seed, float scale, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = HostRandom.normal(seed, s.numelInt());
        for (int i = 0; i < v.length; i++) {
            v[i] *= scale;
        }
        return of(v, s);
    }

    static Pair randn(long seed, int... dims) {
        return randn(seed, 1f, dims);
    }

    static Pair uniform(long seed, float lo, float hi, int... dims) {
        Shape s = Shape.of(dims);
        return of(HostRandom.uniform(seed, s.numelInt(), lo, hi), s);
    }

    static Pair ids(long[] ids, int... dims) {
        Shape s = Shape.of(dims);
        return new Pair(REF.fromArray(ids, s), ND.fromArray(ids, s));
    }

    /** Asserts ND4J's result is close to the reference's, within the float32 tolerance. */
    static void check(String what, Tensor expected, Tensor actual) {
        check(what, expected, actual, Tolerance.FLOAT32);
    }

    static void check(String what, Tensor expected, Tensor actual, Tolerance tol) {
        assertEquals(REF, expected.backend(), what + ": expected must come from the reference");
        assertEquals(ND, actual.backend(), what + ": actual must come from ND4J");
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        tol.assertClose(what, expected, actual);
    }

    /** Exact comparison that also accepts NaN where the reference has NaN (Tolerance treats NaN as a failure). */
    static void checkWithNaN(String what, Tensor expected, Tensor actual) {
        assertEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            if (Float.isNaN(e[i]) || Float.isNaN(a[i])) {
                assertEquals(Float.isNaN(e[i]), Float.isNaN(a[i]), what + ": NaN at " + i + " expected " + e[i]
                        + " actual " + a[i]);
            } else {
                assertEquals(e[i], a[i], 1e-6f + 1e-5f * Math.abs(e[i]), what + " at " + i);
            }
        }
    }
}
