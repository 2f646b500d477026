package dev.perfusion.backend.reference;

import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;

/** Seeded inputs and small array helpers shared by the reference backend tests. */
final class TestData {
    private TestData() {
    }

    /** 0, 1, 2, … n−1 as floats. */
    static float[] arange(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i;
        }
        return v;
    }

    /** Standard normal values for {@code seed}, one per element of {@code shape}. */
    static float[] normal(long seed, Shape shape) {
        return HostRandom.normal(seed, shape.numelInt());
    }

    /** Uniform values in [lo, hi) for {@code seed}, one per element of {@code shape}. */
    static float[] uniform(long seed, Shape shape, float lo, float hi) {
        return HostRandom.uniform(seed, shape.numelInt(), lo, hi);
    }

    /** Σ a·b in double. */
    static double dot(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(a.length + " != " + b.length);
        }
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    /** Row-major flat index of {@code coord} in {@code dims}. */
    static int index(int[] dims, int... coord) {
        int flat = 0;
        for (int k = 0; k < dims.length; k++) {
            flat = flat * dims[k] + coord[k];
        }
        return flat;
    }
}
