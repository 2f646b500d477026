package dev.perfusion.nn;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;

/**
 * Parameter initialisers for {@link Module#initializeParameter}. Values are drawn on the host from
 * {@link HostRandom}, so a seed gives the same parameters on every backend, and stored as FLOAT32.
 */
public final class Init {
    private Init() {
    }

    /** Fills {@code p} with samples of U(−bound, bound). */
    public static void uniform(Parameter p, long seed, double bound) {
        Shape s = p.shape();
        Backend be = p.value().backend();
        p.set(be.fromArray(HostRandom.uniform(seed, s.numelInt(), (float) -bound, (float) bound), s));
    }

    /** Fills {@code p} with samples of N(0, std²). */
    public static void normal(Parameter p, long seed, double std) {
        Shape s = p.shape();
        float[] v = HostRandom.normal(seed, s.numelInt());
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] * std);
        }
        p.set(p.value().backend().fromArray(v, s));
    }

    /** Fills {@code p} with {@code value}. */
    public static void constant(Parameter p, float value) {
        p.set(p.value().backend().full(p.shape(), value));
    }

    /**
     * PyTorch's default for {@code nn.Linear} and {@code nn.Conv2d} weights and biases: U(±1/√fan_in), where
     * fan_in is the number of inputs one output element sums over (in_features, or in_channels·k·k).
     */
    public static void pytorchDefault(Parameter p, long seed, int fanIn) {
        uniform(p, seed, 1.0 / Math.sqrt(fanIn));
    }

    /**
     * The seed of one parameter: {@code seed} mixed with the hash of its full dotted key (SplitMix64's
     * finaliser), so that a parameter's initial values depend on its name and not on the order in which
     * modules were built or registered. {@link String#hashCode()} is fixed by the Java specification.
     */
    public static long seedFor(long seed, String key) {
        return mix64(seed ^ mix64(0x9E3779B97F4A7C15L * (key.hashCode() + 1L)));
    }

    /** SplitMix64's finaliser (Stafford variant 13): a bijective avalanche of 64 bits. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
