package dev.perfusion.schedulers;

import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * The tensor arithmetic of sampler steps, one backend op per torch op so that float32 rounding follows diffusers: a
 * scalar times a tensor is one rounding (as {@code c * x}), a tensor divided by a scalar is a true division (as
 * {@code x / c}, not a multiplication by 1/c). Calls the {@link dev.perfusion.tensor.Backend} directly: sampler
 * steps are not recorded by autograd (samplers run on model outputs, never inside a training graph), which lets
 * every temporary be closed at once.
 */
final class StepMath {
    private StepMath() {
    }

    /** c·x. */
    static Tensor scale(Tensor x, float c) {
        return x.backend().affine(x, c, 0f);
    }

    /** x / c. */
    static Tensor divide(Tensor x, float c) {
        try (Tensor s = scalar(x, c)) {
            return x.backend().binary(BinaryOp.DIV, x, s);
        }
    }

    /** x + y. */
    static Tensor add(Tensor x, Tensor y) {
        return x.backend().binary(BinaryOp.ADD, x, y);
    }

    /** x − y. */
    static Tensor sub(Tensor x, Tensor y) {
        return x.backend().binary(BinaryOp.SUB, x, y);
    }

    /** a·x + b·y (each product rounded, then the sum, as torch evaluates it). */
    static Tensor combine(float a, Tensor x, float b, Tensor y) {
        try (Tensor ax = scale(x, a); Tensor by = scale(y, b)) {
            return add(ax, by);
        }
    }

    /** x − c·y. */
    static Tensor subScaled(Tensor x, float c, Tensor y) {
        try (Tensor cy = scale(y, c)) {
            return sub(x, cy);
        }
    }

    /** x + c·y. */
    static Tensor addScaled(Tensor x, float c, Tensor y) {
        try (Tensor cy = scale(y, c)) {
            return add(x, cy);
        }
    }

    /** min(max(x, lo), hi) elementwise ({@code torch.clamp}). */
    static Tensor clamp(Tensor x, float lo, float hi) {
        try (Tensor l = scalar(x, lo); Tensor h = scalar(x, hi);
             Tensor m = x.backend().binary(BinaryOp.MAXIMUM, x, l)) {
            return x.backend().binary(BinaryOp.MINIMUM, m, h);
        }
    }

    /**
     * A second handle on x's memory (a same-shape view): it stays valid when x is closed, and closing it leaves x
     * alone. Used to hand back an input unchanged and to keep tensors in a run's state.
     */
    static Tensor view(Tensor x) {
        return x.backend().reshape(x, x.shape()); // [same as x]
    }

    /** A one-element tensor holding v, on x's backend (broadcasts against anything). */
    private static Tensor scalar(Tensor x, float v) {
        return x.backend().full(Shape.of(1), v); // [1]
    }
}
