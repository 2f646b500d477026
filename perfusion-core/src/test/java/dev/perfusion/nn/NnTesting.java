package dev.perfusion.nn;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/** Seeded inputs, the block configurations every nn test runs, and a finite-difference gradient check. */
final class NnTesting {
    /** Seed for {@link Module#initialize} in every case. */
    static final long INIT_SEED = 20240601L;
    /** Seed of the fixed weights w in the probed loss L = Σ w ⊙ y. */
    static final long LOSS_SEED = 777L;

    /** Finite-difference step. */
    static final double H = 1e-2;
    /*
     * Parameters and activations are stored in float32, so each probed loss carries ~1e-7·|L| of rounding noise,
     * amplified by 1/(2h) = 50 in the central difference, plus the O(h²) truncation error of the difference
     * quotient (h² = 1e-4 times the third derivative: noticeable through softmax, GELU and the norms). Hence
     * atol 1e-3 and rtol 1e-2 rather than float32's 1e-5/1e-4; a wrong gradient is off by far more.
     */
    static final double GRAD_ATOL = 1e-3;
    static final double GRAD_RTOL = 1e-2;

    private NnTesting() {
    }

    /** A FLOAT32 tensor of seeded N(0, scale²) values. */
    static Tensor normal(Backend be, long seed, float scale, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = HostRandom.normal(seed, s.numelInt());
        for (int i = 0; i < v.length; i++) {
            v[i] *= scale;
        }
        return be.fromArray(v, s);
    }

    /** Sets every parameter of {@code m} to seeded N(0, 0.5²) values (norm γ/β included), keyed by name. */
    static <M extends Module> M randomized(M m, long seed) {
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
            Init.normal(e.getValue(), Init.seedFor(seed, e.getKey()), 0.5);
        }
        return m;
    }

    /** float32 values widened to double. */
    static double[] doubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    /** y[r, o] = b[o] + Σ_i x[r, i]·W[o, i] in double; b may be null. */
    static double[] linear(double[] x, int rows, int in, float[] w, float[] b, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double acc = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) {
                    acc += x[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = acc;
            }
        }
        return y;
    }

    /** Copies an array of doubles to floats, for comparisons through {@link dev.perfusion.tensor.Tolerance}. */
    static float[] floats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    // ------------------------------------------------------------------ block cases

    /**
     * One block configuration: how to build it on a backend, its (seeded, deterministic) inputs, and its forward.
     * Floating inputs are differentiated; integer inputs (token ids) are not.
     */
    record BlockCase(String name, Function<Backend, Module> build, Function<Backend, Tensor[]> inputs,
                     BiFunction<Module, Tensor[], Tensor> forward) {
        /** The block built on {@code be} and initialised with {@link #INIT_SEED}. */
        Module module(Backend be) {
            Module m = build.apply(be);
            m.initialize(INIT_SEED);
            return m;
        }

        Tensor run(Module m, Tensor[] x) {
            return forward.apply(m, x);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @SuppressWarnings("unchecked")
    private static <M extends Module> BlockCase of(String name, Function<Backend, M> build,
                                                    Function<Backend, Tensor[]> inputs,
                                                    BiFunction<M, Tensor[], Tensor> forward) {
        return new BlockCase(name, build::apply, inputs, (m, x) -> forward.apply((M) m, x));
    }

    /** An additive mask [B=2, 1, 1, M=4] that hides the last context token of the second sample. */
    static Tensor crossMask(Backend be) {
        float[] m = new float[2 * 4];
        m[4 + 3] = -1e4f;
        return be.fromArray(m, Shape.of(2, 1, 1, 4));
    }

    /** Every block in small configurations, with inputs that exercise broadcasting over leading axes. */
    static List<BlockCase> cases() {
        List<BlockCase> c = new ArrayList<>();
        c.add(of("Linear", be -> new Linear(be, 5, 4, true),
                be -> new Tensor[] {normal(be, 1, 1f, 2, 3, 5)}, (m, x) -> m.forward(x[0])));
        c.add(of("Linear without bias", be -> new Linear(be, 5, 4, false),
                be -> new Tensor[] {normal(be, 2, 1f, 3, 5)}, (m, x) -> m.forward(x[0])));
        c.add(of("Conv2d 3x3", be -> new Conv2d(be, 2, 3, 3, 1, 1, true),
                be -> new Tensor[] {normal(be, 3, 1f, 2, 2, 4, 5)}, (m, x) -> m.forward(x[0])));
        c.add(of("Conv2d 3x3 stride 2 no bias", be -> new Conv2d(be, 2, 3, 3, 2, 1, false),
                be -> new Tensor[] {normal(be, 4, 1f, 1, 2, 5, 5)}, (m, x) -> m.forward(x[0])));
        c.add(of("GroupNorm", be -> randomized(new GroupNorm(be, 2, 4, 1e-5f, true), 5),
                be -> new Tensor[] {normal(be, 5, 1f, 2, 4, 3, 3)}, (m, x) -> m.forward(x[0])));
        c.add(of("GroupNorm without affine", be -> new GroupNorm(be, 2, 4, 1e-5f, false),
                be -> new Tensor[] {normal(be, 6, 1f, 1, 4, 2, 3)}, (m, x) -> m.forward(x[0])));
        c.add(of("LayerNorm", be -> randomized(new LayerNorm(be, 6, 1e-5f, true), 7),
                be -> new Tensor[] {normal(be, 7, 1f, 2, 3, 6)}, (m, x) -> m.forward(x[0])));
        c.add(of("Embedding", be -> new Embedding(be, 7, 4),
                be -> new Tensor[] {be.fromArray(new long[] {0, 3, 6, 3, 1, 0}, Shape.of(2, 3))},
                (m, x) -> m.forward(x[0])));
        c.add(of("GEGLU", be -> new GEGLU(be, 5, 3),
                be -> new Tensor[] {normal(be, 8, 1f, 2, 2, 5)}, (m, x) -> m.forward(x[0])));
        c.add(of("FeedForward", be -> new FeedForward(be, 4, 2, 3),
                be -> new Tensor[] {normal(be, 9, 1f, 2, 3, 4)}, (m, x) -> m.forward(x[0])));
        c.add(of("Attention cross", be -> new Attention(be, 8, 6, 2, 3),
                be -> new Tensor[] {normal(be, 10, 1f, 2, 3, 8), normal(be, 11, 1f, 2, 4, 6)},
                (m, x) -> m.forward(x[0], x[1], null)));
        c.add(of("Attention cross, qkv bias, mask", be -> new Attention(be, 8, 6, 2, 3, true, true),
                be -> new Tensor[] {normal(be, 12, 1f, 2, 3, 8), normal(be, 13, 1f, 2, 4, 6)},
                (m, x) -> m.forward(x[0], x[1], crossMask(m.backend()))));
        c.add(of("Attention self", be -> new Attention(be, 6, null, 2, 4),
                be -> new Tensor[] {normal(be, 14, 1f, 1, 5, 6)}, (m, x) -> m.forward(x[0])));
        return c;
    }

    // ------------------------------------------------------------------ gradients

    /** Analytic gradients of L = Σ w ⊙ f: one array per floating input, one per parameter key. */
    record Gradients(List<float[]> inputs, Map<String, float[]> parameters) {
    }

    /**
     * Runs the case forward and backward on {@code be} with L = Σ w ⊙ y and returns the gradients. Floating
     * inputs are marked requires-grad; parameters require grad when {@code trainable}. A missing gradient is
     * returned as null.
     */
    static Gradients gradients(Module m, Tensor[] x, BlockCase c, boolean trainable) {
        Backend be = m.backend();
        m.requiresGrad(trainable);
        m.zeroGrad();
        for (Tensor t : x) {
            if (t.dtype().isFloating()) {
                t.zeroGrad();
                t.requiresGrad(true);
            }
        }
        try (TensorScope scope = TensorScope.open()) {
            Tensor y = c.run(m, x);
            if (y.requiresGrad()) {
                Tensor w = be.fromArray(HostRandom.normal(LOSS_SEED, y.shape().numelInt()), y.shape());
                Ops.sum(Ops.mul(y, w), new int[0], false).backward();
            }
        }
        List<float[]> in = new ArrayList<>();
        for (Tensor t : x) {
            if (t.dtype().isFloating()) {
                in.add(t.grad() == null ? null : t.grad().toFloatArray());
            }
        }
        Map<String, float[]> params = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
            Tensor g = e.getValue().grad();
            params.put(e.getKey(), g == null ? null : g.toFloatArray());
        }
        return new Gradients(in, params);
    }

    /**
     * Compares every input and parameter gradient of the case (parameters trainable) with central finite
     * differences of L = Σ w ⊙ y, with L summed in double from the float32 outputs.
     */
    static void checkAgainstFiniteDifferences(BlockCase c, Backend be) {
        try (TensorScope scope = TensorScope.open(); Module m = c.module(be)) {
            Tensor[] x = c.inputs().apply(be);
            Gradients g = gradients(m, x, c, true);
            float[] w;
            try (TensorScope s = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
                w = HostRandom.normal(LOSS_SEED, c.run(m, x).shape().numelInt());
            }
            int floating = 0;
            for (int i = 0; i < x.length; i++) {
                if (!x[i].dtype().isFloating()) {
                    continue;
                }
                float[] analytic = g.inputs().get(floating++);
                if (analytic == null) {
                    throw new AssertionError(c + ": input " + i + " got no gradient");
                }
                Tensor[] args = x.clone();
                int which = i;
                compare(c + " d/d input " + i + " " + x[i].shape(), analytic, x[i].toFloatArray(), v -> {
                    args[which] = be.fromArray(v, x[which].shape());
                    return loss(c, m, args, w);
                });
            }
            for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
                Parameter p = e.getValue();
                float[] analytic = g.parameters().get(e.getKey());
                if (analytic == null) {
                    throw new AssertionError(c + ": parameter " + e.getKey() + " got no gradient");
                }
                float[] base = p.value().toFloatArray();
                compare(c + " d/d " + e.getKey() + " " + p.shape(), analytic, base, v -> {
                    p.set(be.fromArray(v, p.shape()));
                    return loss(c, m, x, w);
                });
                p.set(be.fromArray(base, p.shape()));
            }
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    private static void compare(String what, float[] analytic, float[] base, Function<float[], Double> lossAt) {
        for (int e = 0; e < base.length; e++) {
            float[] plus = base.clone();
            plus[e] = (float) (base[e] + H);
            float[] minus = base.clone();
            minus[e] = (float) (base[e] - H);
            double hPlus = plus[e] - (double) base[e]; // the step actually taken after rounding to float
            double hMinus = (double) base[e] - minus[e];
            double numeric = (lossAt.apply(plus) - lossAt.apply(minus)) / (hPlus + hMinus);
            double a = analytic[e];
            if (!(Math.abs(a - numeric) <= GRAD_ATOL + GRAD_RTOL * Math.abs(numeric))) {
                throw new AssertionError(String.format("%s: element %d: analytic %.6g, finite difference %.6g",
                        what, e, a, numeric));
            }
        }
    }

    /** L = Σ w ⊙ f(x) in double, without recording. */
    private static double loss(BlockCase c, Module m, Tensor[] x, float[] w) {
        try (TensorScope s = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            float[] y = c.run(m, x).toFloatArray();
            double l = 0;
            for (int k = 0; k < y.length; k++) {
                l += (double) y[k] * w[k];
            }
            return l;
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }
}
