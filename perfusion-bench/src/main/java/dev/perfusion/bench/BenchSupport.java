package dev.perfusion.bench;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;

/** Helpers shared by the benchmark states: backend selection and seeded inputs. */
final class BenchSupport {
    private BenchSupport() {
    }

    /** The {@code backend} parameter value for the plain-Java baseline, which is not a {@link Backend}. */
    static final String PLAIN = "plain";

    /** The backend called {@code name}, or null for {@link #PLAIN}. */
    static Backend backend(String name) {
        return PLAIN.equals(name) ? null : Backends.create(name);
    }

    /**
     * {@code n} seeded standard-normal values times {@code scale}; scales of 1/√fan-in keep outputs of order 1, as
     * in a real network (the timing does not depend on it, but NaN or overflow would make a run meaningless).
     */
    static float[] normal(long seed, int n, double scale) {
        float[] x = HostRandom.normal(seed, n);
        for (int i = 0; i < n; i++) {
            x[i] = (float) (x[i] * scale);
        }
        return x;
    }

    /** A tensor on {@code backend}, owned by the caller (kept out of any open {@link TensorScope}). */
    static Tensor tensor(Backend backend, float[] data, int... dims) {
        return TensorScope.detach(backend.fromArray(data, Shape.of(dims)));
    }

    /** Closes what is not null (teardown helper). */
    static void close(AutoCloseable... xs) {
        for (AutoCloseable x : xs) {
            if (x != null) {
                try {
                    x.close();
                } catch (Exception e) {
                    throw new IllegalStateException("close failed: " + x, e);
                }
            }
        }
    }
}
