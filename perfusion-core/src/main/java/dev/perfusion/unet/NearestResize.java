package dev.perfusion.unet;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * Nearest-neighbour resize to any size, as PyTorch's {@code F.interpolate(size=…, mode="nearest")}: output row i
 * reads input row ⌊i·H/H'⌋ (likewise for columns). Written as two products with 0/1 selection matrices,
 * y = S_H · x · S_Wᵀ, which copy values exactly and are differentiable through {@link Ops#matmul}.
 */
final class NearestResize {
    private NearestResize() {
    }

    /** [B, C, H, W] → [B, C, outH, outW]. */
    static Tensor resize(Tensor x, int outH, int outW) {
        if (outH < 1 || outW < 1) {
            throw new IllegalArgumentException("nearest resize to an empty size " + outH + "×" + outW);
        }
        Tensor sh = selection(x, outH, x.dim(2));               // [outH, H]
        Tensor sw = selection(x, outW, x.dim(3));               // [outW, W]
        Tensor cols = Ops.matmul(x, sw, false, true);           // [B, C, H, outW]
        Tensor y = Ops.matmul(sh, cols);                        // [B, C, outH, outW]
        return Intermediates.release(y, sh, sw, cols);
    }

    /** S[i, ⌊i·in/out⌋] = 1 (PyTorch's nearest rule with scale in/out), zeros elsewhere. */
    private static Tensor selection(Tensor like, int out, int in) {
        float[] s = new float[out * in];
        double scale = (double) in / out;
        for (int i = 0; i < out; i++) {
            int src = Math.min((int) Math.floor(i * (float) scale), in - 1);
            s[i * in + src] = 1f;
        }
        return like.backend().fromArray(s, Shape.of(out, in)); // [out, in]
    }
}
