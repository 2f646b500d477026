package dev.perfusion.nn;

import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;

/**
 * The gated GELU unit of diffusers' {@code GEGLU} (Shazeer 2020, "GLU Variants Improve Transformer"):
 * [a, g] = proj(x) split in two halves along the last axis, y = a ⊙ GELU(g) with the exact (erf) GELU.
 *
 * <ul>
 *   <li>input x: [..., dimIn]</li>
 *   <li>{@code proj.weight} [2·dimOut, dimIn], {@code proj.bias} [2·dimOut]: rows 0..dimOut−1 give a, the rest g</li>
 *   <li>output y: [..., dimOut]</li>
 * </ul>
 * Source: diffusers {@code src/diffusers/models/activations.py}, class {@code GEGLU} (snapshot 58eb52c).
 */
public final class GEGLU extends Module {
    private final int dimIn;
    private final int dimOut;
    private final Linear proj;

    /**
     * @param dimIn  width of the input
     * @param dimOut width of the output (the projection produces twice as many features)
     */
    public GEGLU(Backend backend, int dimIn, int dimOut) {
        super(backend);
        this.dimIn = dimIn;
        this.dimOut = dimOut;
        this.proj = registerModule("proj", new Linear(backend, dimIn, 2 * dimOut, true));
    }

    /** [..., dimIn] → [..., dimOut]. */
    public Tensor forward(Tensor x) {
        Tensor h = proj.forward(x); // [..., 2·dimOut]
        Tensor y = Ops.geglu(h);    // [..., dimOut]
        return Intermediates.release(y, h);
    }

    /** Width of the input. */
    public int dimIn() {
        return dimIn;
    }

    /** Width of the output. */
    public int dimOut() {
        return dimOut;
    }

    /** {@code proj}: dimIn → 2·dimOut. */
    public Linear proj() {
        return proj;
    }
}
