package dev.perfusion.nn;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
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
 *
 * <p>Storage dtype: a value is FLOAT32, or (frozen parameters only) FLOAT16 / BFLOAT16 as loaded from an fp16
 * checkpoint with {@link WeightStorage#AS_STORED}. CPU arithmetic is FLOAT32, so blocks never compute with
 * {@link #value()} directly: they take {@link #compute()}, which widens a half value for one use, and release the
 * copy with {@link #temporary}. Trainable tensors are always FLOAT32: {@link #requiresGrad(boolean) requiresGrad(true)}
 * widens a half value, and {@link #set} widens a half value given to a trainable parameter.
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

    /**
     * The current tensor, in its storage dtype (FLOAT32, or FLOAT16 / BFLOAT16 when loaded
     * {@link WeightStorage#AS_STORED}). Owned by this parameter: do not close it. To compute with it use
     * {@link #compute()}.
     */
    public Tensor value() {
        checkOpen();
        return value;
    }

    /** The storage dtype of the current value. */
    public DType dtype() {
        return value().dtype();
    }

    /** True when the value is stored in a half type (FLOAT16 or BFLOAT16), so {@link #compute()} makes a copy. */
    public boolean isHalf() {
        return isHalf(value().dtype());
    }

    /** Bytes the value's elements take in its storage dtype: numel × {@link DType#byteSize()}. */
    public long storageBytes() {
        Tensor v = value();
        return v.shape().numel() * v.dtype().byteSize();
    }

    /**
     * The value as FLOAT32, for arithmetic: the value itself when it is stored as FLOAT32 (no cost; tracked by
     * autograd as the parameter), else w32 = cast(w, FLOAT32), a new untracked tensor the caller owns. Half values
     * belong to frozen parameters only, so the copy needs no gradient; gradients still flow through it to the
     * block's inputs.
     *
     * <p>Cost of half storage: one widening pass over the weight per call (2 bytes read, 4 written per element)
     * and a FLOAT32 copy that lives until the caller releases it — for the length of one block's forward in
     * inference, until the step's scope closes when autograd records (the backward reads it). Blocks release it
     * with {@code Intermediates.release(y, Parameter.temporary(p, w32))}.
     */
    public Tensor compute() {
        Tensor v = value();
        return v.dtype() == DType.FLOAT32 ? v : v.backend().cast(v, DType.FLOAT32);
    }

    /** {@code p.compute()}, or null when {@code p} is null (an absent bias). */
    public static Tensor compute(Parameter p) {
        return p == null ? null : p.compute();
    }

    /**
     * {@code computed} when it is a copy made by {@link #compute()} of {@code p} (the caller's to close), or null
     * when it is the parameter's own value (which must not be closed) or {@code p} is null: the form to pass to
     * {@code Intermediates.release}.
     */
    public static Tensor temporary(Parameter p, Tensor computed) {
        if (p == null || computed == null || computed == p.value) {
            return null;
        }
        return computed;
    }

    /** Shape of the current value. */
    public Shape shape() {
        return value().shape();
    }

    /**
     * Replaces the value. The old tensor is closed (with its gradient) unless it is {@code t} itself; the new one
     * is detached from its scope and gets this parameter's requires-grad flag. A half-precision {@code t} given to
     * a parameter that requires grad is widened to a FLOAT32 copy and {@code t} is closed (trainable tensors are
     * FLOAT32).
     *
     * @throws IllegalArgumentException if {@code t} is the output of a tracked op (use {@code Ops.detach}) or
     *                                  closed
     */
    public void set(Tensor t) {
        checkOpen();
        if (t == value) {
            return;
        }
        Tensor adopted = adopt(requiresGrad ? widened(t) : t);
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
     * <p>Unfreezing a half-precision value first replaces it with a FLOAT32 copy (the half tensor is closed):
     * optimizer updates of a few parts in 10⁴ would be lost to fp16's or bf16's rounding, and CPU backends do
     * arithmetic in FLOAT32 only. The memory of that parameter doubles; freezing it again does not narrow it back.
     *
     * @return this
     */
    public Parameter requiresGrad(boolean value) {
        checkOpen();
        if (value && isHalf(this.value.dtype())) {
            Tensor old = this.value;
            this.value = adopt(old.backend().cast(old, DType.FLOAT32));
            release(old);
        }
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

    /** {@code t} when it is not in a half type, else a FLOAT32 copy on its backend, and {@code t} closed. */
    private static Tensor widened(Tensor t) {
        if (t == null || t.isClosed() || !isHalf(t.dtype()) || !t.isLeaf()) {
            return t; // adopt() reports the problem
        }
        Tensor wide = t.backend().cast(t, DType.FLOAT32);
        release(t);
        return wide;
    }

    private static boolean isHalf(DType d) {
        return d == DType.FLOAT16 || d == DType.BFLOAT16;
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
