package dev.perfusion.optim;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov &amp; Hutter 2019) with decoupled weight decay, as {@code torch.optim.AdamW} computes it, over
 * parameter groups that each have their own learning rate. For a parameter θ with gradient g at step t (1-based):
 * <pre>
 *   θ ← θ·(1 − lr·λ)                              (decoupled weight decay, applied before the Adam step)
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   m̂ = m/(1 − β1ᵗ),  v̂ = v/(1 − β2ᵗ)
 *   θ ← θ − lr·m̂/(√v̂ + ε)
 * </pre>
 * Defaults β1 0.9, β2 0.999, ε 1e-8, λ 0.01 (torch's). The step counter is shared by all parameters (every
 * parameter of a Perfusion run gets a gradient on every step); a parameter without a gradient is skipped, as torch
 * skips {@code p.grad is None}, but still counts the shared step.
 *
 * <p>The state is kept on the host in double precision (the trained tensors are small: v* and the 16 o*_V of a
 * concept, 13,248 floats for SD v1.5), which also makes it exact to export for checkpoints ({@link #state()},
 * {@link #loadState}). The updated value is written back with {@link Parameter#set}, so it stays a leaf that
 * requires grad.
 */
public final class AdamW {
    /** One parameter group: its parameters and their learning rate. */
    public record ParamGroup(String name, double lr, List<Parameter> params) {
        public ParamGroup {
            if (name == null || params == null || params.isEmpty()) {
                throw new IllegalArgumentException("parameter group " + name + " needs a name and at least one parameter");
            }
            if (!(lr > 0) || Double.isInfinite(lr)) {
                throw new IllegalArgumentException("parameter group " + name + ": learning rate must be > 0, got " + lr);
            }
            params = List.copyOf(params);
        }
    }

    private final List<ParamGroup> groups;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final List<double[]> m = new ArrayList<>();
    private final List<double[]> v = new ArrayList<>();
    private long step;
    private double lrScale = 1;

    /** AdamW with torch's defaults β = (0.9, 0.999), ε = 1e-8 and the given weight decay λ. */
    public AdamW(List<ParamGroup> groups, double weightDecay) {
        this(groups, 0.9, 0.999, 1e-8, weightDecay);
    }

    /**
     * @throws IllegalArgumentException for β outside [0, 1), ε ≤ 0, λ &lt; 0, no groups, or a parameter in two groups
     */
    public AdamW(List<ParamGroup> groups, double beta1, double beta2, double eps, double weightDecay) {
        if (groups == null || groups.isEmpty()) {
            throw new IllegalArgumentException("AdamW needs at least one parameter group");
        }
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(eps > 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("AdamW needs eps > 0 and weight decay >= 0, got " + eps + ", " + weightDecay);
        }
        List<Parameter> seen = new ArrayList<>();
        for (ParamGroup g : groups) {
            for (Parameter p : g.params()) {
                for (Parameter s : seen) {
                    if (s == p) {
                        throw new IllegalArgumentException("a parameter appears twice (group " + g.name() + ")");
                    }
                }
                seen.add(p);
                m.add(new double[(int) p.shape().numel()]);
                v.add(new double[(int) p.shape().numel()]);
            }
        }
        this.groups = List.copyOf(groups);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    /** The groups, in the order given. */
    public List<ParamGroup> groups() {
        return groups;
    }

    /**
     * Multiplies every group's learning rate by {@code scale} from the next {@link #step()} on (warm-up and decay
     * schedules); 1 by default. Not part of {@link #state()}: a schedule is a function of the step count.
     */
    public void setLearningRateScale(double scale) {
        if (!(scale >= 0) || !Double.isFinite(scale)) {
            throw new IllegalArgumentException("learning-rate scale must be finite and >= 0, got " + scale);
        }
        lrScale = scale;
    }

    /** Optimizer steps taken so far. */
    public long stepCount() {
        return step;
    }

    /** One update of every parameter that has a gradient (see the class comment for the maths). */
    public void step() {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2 = 1 - Math.pow(beta2, step);
        int k = 0;
        try (AutoCloseable ng = Autograd.noGrad()) {
            for (ParamGroup g : groups) {
                for (Parameter p : g.params()) {
                    Tensor grad = p.grad();
                    double[] mk = m.get(k);
                    double[] vk = v.get(k);
                    k++;
                    if (grad == null) {
                        continue;
                    }
                    double lr = g.lr() * lrScale;
                    float[] gv = grad.toFloatArray();
                    float[] theta = p.value().toFloatArray();
                    for (int i = 0; i < theta.length; i++) {
                        double th = theta[i] * (1 - lr * weightDecay);
                        mk[i] = beta1 * mk[i] + (1 - beta1) * gv[i];
                        vk[i] = beta2 * vk[i] + (1 - beta2) * (double) gv[i] * gv[i];
                        double denom = Math.sqrt(vk[i] / bc2) + eps;
                        theta[i] = (float) (th - lr * (mk[i] / bc1) / denom);
                    }
                    Tensor old = p.value();
                    p.set(old.backend().fromArray(theta, old.shape()));
                }
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Drops every parameter's gradient. */
    public void zeroGrad() {
        for (ParamGroup g : groups) {
            for (Parameter p : g.params()) {
                p.zeroGrad();
            }
        }
    }

    /**
     * The optimizer state for a checkpoint: {@code step} and, per parameter (in group order, index k),
     * {@code m.k} and {@code v.k} as double arrays.
     */
    public Map<String, double[]> state() {
        Map<String, double[]> s = new LinkedHashMap<>();
        s.put("step", new double[] {step});
        for (int k = 0; k < m.size(); k++) {
            s.put("m." + k, m.get(k).clone());
            s.put("v." + k, v.get(k).clone());
        }
        return s;
    }

    /**
     * Restores a state exported by {@link #state()} from an optimizer over parameters of the same sizes.
     *
     * @throws IllegalArgumentException naming a missing entry or a size mismatch
     */
    public void loadState(Map<String, double[]> s) {
        double[] st = s.get("step");
        if (st == null || st.length != 1 || st[0] < 0 || st[0] != Math.rint(st[0])) {
            throw new IllegalArgumentException("optimizer state lacks a valid 'step'");
        }
        for (int k = 0; k < m.size(); k++) {
            for (String kind : new String[] {"m.", "v."}) {
                double[] a = s.get(kind + k);
                int n = m.get(k).length;
                if (a == null || a.length != n) {
                    throw new IllegalArgumentException("optimizer state entry '" + kind + k + "' is "
                            + (a == null ? "missing" : a.length + " long") + "; parameter " + k + " has " + n + " values");
                }
            }
        }
        if (s.size() != 1 + 2 * m.size()) {
            throw new IllegalArgumentException("optimizer state has " + s.size() + " entries; expected " + (1 + 2 * m.size()));
        }
        for (int k = 0; k < m.size(); k++) {
            System.arraycopy(s.get("m." + k), 0, m.get(k), 0, m.get(k).length);
            System.arraycopy(s.get("v." + k), 0, v.get(k), 0, v.get(k).length);
        }
        step = (long) st[0];
    }
}
