package dev.perfusion.nn;

import dev.perfusion.tensor.Tensor;

/**
 * Frees a forward pass's temporary tensors as early as is safe, so inference does not wait for a scope to
 * release activation memory.
 *
 * <p>When the result of a block is not tracked by autograd (inference, {@code Autograd.noGrad()}, frozen
 * weights with inputs that need no gradient), nothing will ever read the block's intermediate tensors
 * again, so they are closed at once. When it is tracked, backward closures may hold them; they are left to
 * the caller's {@link dev.perfusion.tensor.TensorScope}.
 */
public final class Intermediates {
    private Intermediates() {
    }

    /**
     * Closes {@code intermediates} unless {@code result} requires grad, and returns {@code result}. Null
     * entries and {@code result} itself are skipped. Never pass a tensor the caller of the block still owns
     * (an input).
     */
    public static Tensor release(Tensor result, Tensor... intermediates) {
        if (result.requiresGrad()) {
            return result;
        }
        for (Tensor t : intermediates) {
            if (t != null && t != result) {
                t.close();
            }
        }
        return result;
    }
}
