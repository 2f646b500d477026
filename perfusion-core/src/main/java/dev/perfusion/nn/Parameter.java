package dev.perfusion.nn;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;

/**
 * A mutable holder of one weight tensor, registered in a {@link Module} under its checkpoint key.
 *
 * <p>The parameter owns its tensor: the tensor is detached from any {@link TensorScope}, {@link #set(Tensor)}
 * closes the value it replaces, and {@link #close()} frees it. The {@link #requiresGrad()} flag belongs to the
 * parameter and is applied to every tensor it holds, so replacing the value (loading a checkpoint) keeps a
 * trainable parameter trainable. Parameters are frozen ({@code requiresGrad == false}) when created.
 */
public final class Parameter implements AutoCloseable {
    private Tensor value;
    private boolean requiresGrad;
    private String name;

    /**
     * Wraps {@code value}, which must be a leaf tensor (not produced by a tracked op). The parameter takes
     * ownership: the tensor is detached from its scope and is no longer tracked.
     */
    public Parameter(Tensor value) {
        this.value = adopt(value);
    }

    /** A FLOAT32 parameter of {@code shape} filled with zeros. */
    public static Parameter zeros(Backend backend, Shape shape) {
        return new Parameter(backend.full(shape, 0f));
    }

    /** A FLOAT32 parameter of {@code shape} filled with ones. */
    public static Parameter ones(Backend backend, Shape shape) {
        return new Parameter(backend.full(shape, 1f));
    }

    /**
     * The local key this parameter was registered under in its module (e.g. {@code weight}), or null before
     * registration. Full dotted keys come from {@link Module#namedParameters()}.
     */
    public String name() {
        return name;
    }

    /** Called once by {@link Module#registerParameter}. */
    void bindName(String key) {
        if (name != null) {
            throw new IllegalStateException("parameter '" + name + "' is already registered; cannot register it again as '"
                    + key + "'");
        }
        name = key;
    }

    /** The current tensor. Owned by this parameter: do not close it. */
    public Tensor value() {
        checkOpen();
        return value;
    }

    /** Shape of the current value. */
    public Shape shape() {
        return value().shape();
    }

    /**
     * Replaces the value. The old tensor is closed (with its gradient) unless it is {@code t} itself; the new one
     * is detached from its scope and gets this parameter's requires-grad flag.
     *
     * @throws IllegalArgumentException if {@code t} is the output of a tracked op (use {@code Ops.detach}) or
     *                                  closed
     */
    public void set(Tensor t) {
        checkOpen();
        if (t == value) {
            return;
        }
        Tensor adopted = adopt(t);
        Tensor old = value;
        value = adopted;
        release(old);
    }

    /** True when gradients are computed for this parameter. */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /**
     * Freezes ({@code false}) or unfreezes ({@code true}) this parameter. Freezing keeps an existing gradient
     * ({@link #zeroGrad()} drops it).
     *
     * @return this
     */
    public Parameter requiresGrad(boolean value) {
        checkOpen();
        this.value.requiresGrad(value);
        this.requiresGrad = value;
        return this;
    }

    /** The gradient accumulated by backward passes since the last {@link #zeroGrad()}, or null. */
    public Tensor grad() {
        checkOpen();
        return value.grad();
    }

    /** Closes and clears the gradient. */
    public void zeroGrad() {
        checkOpen();
        value.zeroGrad();
    }

    /** True once {@link #close()} was called. */
    public boolean isClosed() {
        return value == null;
    }

    /** Frees the value and its gradient. Closing twice is harmless. */
    @Override
    public void close() {
        if (value != null) {
            release(value);
            value = null;
        }
    }

    private Tensor adopt(Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException("a parameter value cannot be null");
        }
        t.checkOpen();
        if (!t.isLeaf()) {
            throw new IllegalArgumentException("a parameter value must be a leaf tensor, got the output of '"
                    + t.gradNode().op() + "'; pass Ops.detach(t)");
        }
        TensorScope.detach(t);
        t.requiresGrad(requiresGrad);
        return t;
    }

    /** Tensor.close() does not free a leaf's gradient, so the parameter does it. */
    private static void release(Tensor t) {
        t.zeroGrad();
        t.close();
    }

    private void checkOpen() {
        if (value == null) {
            throw new IllegalStateException("use of a closed parameter" + (name == null ? "" : " '" + name + "'"));
        }
    }

    @Override
    public String toString() {
        return "Parameter[" + (name == null ? "?" : name) + " " + (value == null ? "closed" : value.shape() + " "
                + value.dtype()) + (requiresGrad ? " requiresGrad" : "") + "]";
    }
}
