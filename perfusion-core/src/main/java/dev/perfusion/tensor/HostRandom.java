package dev.perfusion.tensor;

import java.util.SplittableRandom;

/**
 * Seeded noise generated on the host, so that every backend (CPU or GPU) starts from the same numbers.
 * {@link SplittableRandom}'s algorithm is fixed by its specification, so a seed gives the same values on
 * every JVM.
 */
public final class HostRandom {
    private HostRandom() {
    }

    /** {@code n} standard normal samples (Box–Muller on pairs of uniforms) for {@code seed}. */
    public static float[] normal(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i += 2) {
            double u1 = 1.0 - r.nextDouble(); // (0, 1]: log is finite
            double u2 = r.nextDouble();
            double rad = Math.sqrt(-2 * Math.log(u1));
            out[i] = (float) (rad * Math.cos(2 * Math.PI * u2));
            if (i + 1 < n) {
                out[i + 1] = (float) (rad * Math.sin(2 * Math.PI * u2));
            }
        }
        return out;
    }

    /** {@code n} uniform samples in [lo, hi) for {@code seed}. */
    public static float[] uniform(long seed, int n, float lo, float hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return out;
    }
}
