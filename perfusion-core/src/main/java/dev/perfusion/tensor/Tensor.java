package dev.perfusion.tensor;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.GradNode;

/**
 * An n-dimensional array owned by one {@link Backend}. Tensors are immutable values: ops return new tensors.
 *
 * <p>Memory: a tensor holds backend memory (native for ND4J and CUDA) until {@link #close()} is called, by
 * the caller or by the {@link TensorScope} it was created in. Views (a reshape) share the memory, which is
 * freed when the last of them is closed. Using a closed tensor throws {@link IllegalStateException}.
 *
 * <p>Autograd: a tensor that {@link #requiresGrad()} is tracked: ops applied to it through
 * {@link dev.perfusion.autograd.Ops} record a {@link GradNode}, and {@link #backward()} fills {@link #grad()} of
 * every tracked leaf. Tensors that do not require grad (frozen weights, data) cost no gradient memory.
 */
public final class Tensor implements AutoCloseable {
    private final Backend backend;
    private final Shape shape;
    private final DType dtype;
    private final Object handle;
    private final Storage storage;
    private boolean closed;
    TensorScope scope;

    private boolean requiresGrad;
    private GradNode gradNode;
    private Tensor grad;

    /**
     * Made by backends only.
     *
     * @param handle  the backend's own representation (an array, an INDArray view, a device pointer)
     * @param storage the memory behind {@code handle}, shared with views; this tensor holds one reference
     */
    public Tensor(Backend backend, Shape shape, DType dtype, Object handle, Storage storage) {
        this.backend = backend;
        this.shape = shape;
        this.dtype = dtype;
        this.handle = handle;
        this.storage = storage;
        TensorScope.register(this);
    }

    public Backend backend() {
        return backend;
    }

    public Shape shape() {
        return shape;
    }

    public DType dtype() {
        return dtype;
    }

    /** Number of axes. */
    public int rank() {
        return shape.rank();
    }

    /** Size of one axis (negative counts from the end). */
    public int dim(int axis) {
        return shape.dim(axis);
    }

    /** Number of elements. */
    public long numel() {
        return shape.numel();
    }

    /** The backend's representation; for backend code only. */
    public Object handle() {
        checkOpen();
        return handle;
    }

    /** The memory behind this tensor; for backend code only (views retain it). */
    public Storage storage() {
        checkOpen();
        return storage;
    }

    /** Copies the values to a host float array (half types are widened), row-major. */
    public float[] toFloatArray() {
        return backend.toFloatArray(this);
    }

    /** Copies integer values to a host long array, row-major. */
    public long[] toLongArray() {
        return backend.toLongArray(this);
    }

    /** The value of a one-element tensor. */
    public float item() {
        if (numel() != 1) {
            throw new IllegalStateException("item() needs a one-element tensor, got shape " + shape);
        }
        return toFloatArray()[0];
    }

    public boolean isClosed() {
        return closed;
    }

    /** Throws if this tensor was closed. */
    public void checkOpen() {
        if (closed) {
            throw new IllegalStateException("use of a closed tensor " + shape + " " + dtype + " on " + backend.name());
        }
    }

    /** Releases this tensor's reference to its memory, and its gradient. Closing twice is harmless. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (grad != null) {
            grad.close();
            grad = null;
        }
        if (scope != null) {
            TensorScope.detach(this);
        }
        storage.release();
    }

    // ---------------------------------------------------------------- autograd

    /** True when gradients flow to or through this tensor. */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /**
     * Marks a leaf tensor (a parameter or an input) as needing a gradient. Only floating tensors can.
     *
     * @return this
     */
    public Tensor requiresGrad(boolean value) {
        if (value && !dtype.isFloating()) {
            throw new IllegalArgumentException("only floating tensors can require grad, got " + dtype);
        }
        if (gradNode != null && !value) {
            throw new IllegalStateException("cannot stop gradients on a non-leaf tensor; use Ops.detach");
        }
        this.requiresGrad = value;
        return this;
    }

    /** The node that produced this tensor, or null for a leaf. For autograd internals. */
    public GradNode gradNode() {
        return gradNode;
    }

    /** Attaches the producing node (autograd internals); the tensor then requires grad. */
    public void setGradNode(GradNode node) {
        this.gradNode = node;
        this.requiresGrad = true;
    }

    /** True for a tensor not produced by a tracked op. */
    public boolean isLeaf() {
        return gradNode == null;
    }

    /** The accumulated gradient of a leaf (same shape), or null before any backward. */
    public Tensor grad() {
        return grad;
    }

    /** Replaces the gradient; the tensor is detached from any scope, since it lives as long as this leaf. */
    public void setGrad(Tensor g) {
        if (g != null && !g.shape.equals(shape)) {
            throw new IllegalArgumentException("gradient shape " + g.shape + " does not match tensor shape " + shape);
        }
        if (grad != null && grad != g) {
            grad.close();
        }
        grad = g == null ? null : TensorScope.detach(g);
    }

    /** Removes and returns the gradient without closing it (the caller owns it); null if none. */
    public Tensor takeGrad() {
        Tensor g = grad;
        grad = null;
        return g;
    }

    /** Closes and clears the gradient. */
    public void zeroGrad() {
        setGrad(null);
    }

    /** Back-propagates from this one-element tensor (a loss) with seed gradient 1. */
    public void backward() {
        Autograd.backward(this);
    }

    @Override
    public String toString() {
        return "Tensor" + shape + " " + dtype + " on " + backend.name() + (closed ? " (closed)" : "")
                + (requiresGrad ? " requiresGrad" : "");
    }
}
