package dev.perfusion.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;

/**
 * What the {@code cuda}-tagged tests share: one {@link CudaBackend} per JVM (opened on first use, only on a machine
 * with a GPU), the reference backend as the oracle, seeded inputs and comparisons. Without a GPU
 * {@link #needsAGpu()} makes every test report SKIPPED with the probe's reason.
 */
final class CudaTestSupport {
    /** The oracle. */
    static final ReferenceBackend REF = new ReferenceBackend();
    private static CudaBackend cuda;

    private CudaTestSupport() {
    }

    /** Per test (not per class, so that each test is reported skipped with the reason). */
    static void needsAGpu() {
        assumeTrue(CudaProbe.available(), () -> "no usable GPU: " + CudaProbe.summary());
    }

    /**
     * The CUDA backend, with debug synchronisation after every launch so that a failing kernel is named by the
     * launch that failed. Opened once and kept for the JVM (test classes share it); the driver releases it at exit.
     */
    static synchronized CudaBackend cuda() {
        if (cuda == null) {
            cuda = CudaBackend.open(0, true);
        }
        return cuda;
    }

    /** Seeded N(0, 1) values. */
    static float[] randn(long seed, int n) {
        return HostRandom.normal(seed, n);
    }

    /** Seeded N(0, 1) values scaled by {@code scale}. */
    static float[] randn(long seed, int n, float scale) {
        float[] v = HostRandom.normal(seed, n);
        for (int i = 0; i < n; i++) {
            v[i] *= scale;
        }
        return v;
    }

    /** Seeded uniform values in [lo, hi). */
    static float[] uniform(long seed, int n, float lo, float hi) {
        return HostRandom.uniform(seed, n, lo, hi);
    }

    /** {@code v} rounded to {@code dtype} (what a cast to it keeps). */
    static float[] rounded(float[] v, DType dtype) {
        float[] r = v.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] = HalfFloats.round(r[i], dtype);
        }
        return r;
    }

    /** The same values on the reference (FLOAT32) and on CUDA (as {@code dtype}; values pre-rounded to it). */
    record Pair(Tensor ref, Tensor gpu) {
    }

    /** A reference FLOAT32 tensor and a CUDA tensor of {@code dtype} holding {@code v} rounded to dtype. */
    static Pair pair(float[] v, Shape shape, DType dtype) {
        float[] r = rounded(v, dtype);
        Tensor ref = REF.fromArray(r, shape);
        Tensor g32 = cuda().fromArray(r, shape);
        if (dtype == DType.FLOAT32) {
            return new Pair(ref, g32);
        }
        Tensor g = cuda().cast(g32, dtype);
        g32.close();
        return new Pair(ref, g);
    }

    /** {@link #pair(float[], Shape, DType)} of seeded normal values. */
    static Pair randnPair(long seed, Shape shape, DType dtype) {
        return pair(randn(seed, shape.numelInt()), shape, dtype);
    }

    /** FLOAT32 pair of seeded normal values. */
    static Pair randnPair(long seed, Shape shape) {
        return randnPair(seed, shape, DType.FLOAT32);
    }

    /**
     * Asserts the CUDA result matches the reference's within {@code tol}: same shape, the CUDA tensor has
     * {@code dtype}, values compared widened to float.
     */
    static void check(String what, Tensor expected, Tensor actual, DType dtype, Tolerance tol) {
        assertEquals(expected.shape(), actual.shape(), what + ": shape");
        assertEquals(dtype, actual.dtype(), what + ": dtype");
        assertEquals("cuda", actual.backend().name(), what + ": backend");
        tol.assertClose(what, expected.shape(), expected.toFloatArray(), actual.toFloatArray());
    }

    /**
     * Asserts bit-identical values (after widening to float; any NaN equals any NaN): for exact ops whose results
     * may be infinite, which {@link Tolerance#EXACT} cannot compare.
     */
    static void checkBits(String what, Tensor expected, Tensor actual, DType dtype) {
        assertEquals(expected.shape(), actual.shape(), what + ": shape");
        assertEquals(dtype, actual.dtype(), what + ": dtype");
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            if (Float.floatToIntBits(e[i]) != Float.floatToIntBits(a[i])) {
                throw new AssertionError(what + ": element " + i + " expected " + e[i] + " ("
                        + Integer.toHexString(Float.floatToRawIntBits(e[i])) + "), actual " + a[i] + " ("
                        + Integer.toHexString(Float.floatToRawIntBits(a[i])) + ")");
            }
        }
    }

    /** {@link #check} of a FLOAT32 result with the FLOAT32 tolerance. */
    static void check(String what, Tensor expected, Tensor actual) {
        check(what, expected, actual, DType.FLOAT32, Tolerance.FLOAT32);
    }

    /** The tolerance of a float32-accumulated sum of {@code k} products of O(1) values. */
    static Tolerance sumTolerance(DType dtype, int k) {
        double root = Math.sqrt(Math.max(1, k));
        return switch (dtype) {
            // float accumulation: error grows like √K·eps·(typical |term|·√K)
            case FLOAT32 -> new Tolerance(2e-5 * root, 2e-4);
            case FLOAT16 -> new Tolerance(2e-4 * root, 1e-2);
            case BFLOAT16 -> new Tolerance(2e-3 * root, 5e-2);
            default -> Tolerance.EXACT;
        };
    }
}
