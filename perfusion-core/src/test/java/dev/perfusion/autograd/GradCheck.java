package dev.perfusion.autograd;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.function.Function;

/**
 * Checks the gradients that {@link Autograd} computes for a function against central finite differences.
 *
 * <p>The scalar probed is L = Σ w ⊙ f(x) with fixed random weights w, evaluated in double from the float32
 * outputs. Storage is float32, so the finite differences carry about 1e-7·|L|/h of rounding noise and O(h²) of
 * truncation error; with h = 1e-2 this is why the default tolerance is atol 2e-3, rtol 2e-2 rather than tighter.
 */
final class GradCheck {
    static final double H = 1e-2;
    static final double ATOL = 2e-3;
    static final double RTOL = 2e-2;
    /** Elements probed per input at most (spread over the tensor), to keep big inputs cheap. */
    static final int MAX_PROBES = 48;

    private GradCheck() {
    }

    /** A leaf FLOAT32 tensor of seeded normal values scaled by {@code scale}, requiring grad. */
    static Tensor input(Backend be, long seed, float scale, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = HostRandom.normal(seed, s.numelInt());
        for (int i = 0; i < v.length; i++) {
            v[i] *= scale;
        }
        return TensorScope.detach(be.fromArray(v, s)).requiresGrad(true);
    }

    /** A leaf with seeded values in [lo, hi), requiring grad (for log, sqrt and friends). */
    static Tensor positive(Backend be, long seed, float lo, float hi, int... dims) {
        Shape s = Shape.of(dims);
        return TensorScope.detach(be.fromArray(HostRandom.uniform(seed, s.numelInt(), lo, hi), s)).requiresGrad(true);
    }

    /**
     * Runs f on the inputs, back-propagates Σ w⊙f, and compares every probed gradient element of every input
     * that requires grad with its central difference. Throws AssertionError naming the input, the element,
     * the analytic and numeric values.
     */
    static void check(String name, Function<Tensor[], Tensor> f, Tensor... inputs) {
        Backend be = inputs[0].backend();
        for (Tensor t : inputs) {
            t.zeroGrad();
        }
        float[] w;
        try (TensorScope scope = TensorScope.open()) {
            Tensor y = f.apply(inputs);
            w = HostRandom.normal(12345, y.shape().numelInt());
            Tensor wt = be.fromArray(w, y.shape());
            Tensor loss = Ops.sum(Ops.mul(y, wt), new int[0], false);
            loss.backward();
        }
        for (int i = 0; i < inputs.length; i++) {
            Tensor x = inputs[i];
            if (!x.requiresGrad()) {
                continue;
            }
            if (x.grad() == null) {
                throw new AssertionError(name + ": input " + i + " " + x.shape() + " got no gradient");
            }
            float[] analytic = x.grad().toFloatArray();
            float[] base = x.toFloatArray();
            int n = base.length;
            int step = Math.max(1, n / MAX_PROBES);
            for (int e = 0; e < n; e += step) {
                double plus = perturbedLoss(f, inputs, i, base, e, +H, w);
                double minus = perturbedLoss(f, inputs, i, base, e, -H, w);
                double numeric = (plus - minus) / (2 * H);
                double a = analytic[e];
                if (!(Math.abs(a - numeric) <= ATOL + RTOL * Math.abs(numeric))) {
                    throw new AssertionError(String.format("%s: d/d input %d %s element %d: analytic %.6g, numeric %.6g",
                            name, i, x.shape(), e, a, numeric));
                }
            }
        }
    }

    private static double perturbedLoss(Function<Tensor[], Tensor> f, Tensor[] inputs, int which, float[] base,
                                        int element, double h, float[] w) {
        float[] v = base.clone();
        v[element] = (float) (v[element] + h);
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Tensor[] args = inputs.clone();
            args[which] = inputs[which].backend().fromArray(v, inputs[which].shape());
            float[] y = f.apply(args).toFloatArray();
            double l = 0;
            for (int k = 0; k < y.length; k++) {
                l += (double) y[k] * w[k];
            }
            return l;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
