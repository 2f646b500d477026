package dev.perfusion.nn;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;

/**
 * The feed-forward block of SD v1.x's transformer blocks, diffusers' {@code FeedForward} with
 * {@code activation_fn="geglu"}: y = net.2(GEGLU(x)), inner width F = mult·dim.
 *
 * <pre>
 *   net.0.proj.weight  [2F, dim]    net.0.proj.bias [2F]     GEGLU: dim → F
 *   net.1              Dropout: no parameters; never applied here (SD v1.x's dropout is 0)
 *   net.2.weight       [dimOut, F]  net.2.bias      [dimOut]  Linear: F → dimOut
 * </pre>
 * SD v1.5: dim 320/640/1280, mult 4 (F = 1280/2560/5120), dimOut = dim.
 *
 * <p>Source: diffusers {@code src/diffusers/models/attention.py}, class {@code FeedForward} (snapshot 58eb52c).
 */
public final class FeedForward extends Module {
    /** diffusers' default width multiplier. */
    public static final int DEFAULT_MULT = 4;

    private final int dim;
    private final int innerDim;
    private final int dimOut;
    private final GEGLU geglu;
    private final Linear out;

    /** SD's configuration: F = 4·dim, output width dim. */
    public FeedForward(Backend backend, int dim) {
        this(backend, dim, DEFAULT_MULT, dim);
    }

    /**
     * @param dim    width of the input
     * @param mult   F = mult·dim
     * @param dimOut width of the output
     */
    public FeedForward(Backend backend, int dim, int mult, int dimOut) {
        super(backend);
        if (dim <= 0 || mult <= 0 || dimOut <= 0) {
            throw new IllegalArgumentException("bad FeedForward configuration: dim " + dim + ", mult " + mult
                    + ", dimOut " + dimOut);
        }
        this.dim = dim;
        this.innerDim = dim * mult;
        this.dimOut = dimOut;
        this.geglu = registerModule("net.0", new GEGLU(backend, dim, innerDim));
        // net.1 is Dropout (no parameters)
        this.out = registerModule("net.2", new Linear(backend, innerDim, dimOut, true));
    }

    /** [..., dim] → [..., dimOut]. */
    public Tensor forward(Tensor x) {
        Tensor h = geglu.forward(x); // [..., F]
        Tensor y = out.forward(h);   // [..., dimOut]
        return Intermediates.release(y, h);
    }

    /** Width of the input. */
    public int dim() {
        return dim;
    }

    /** F. */
    public int innerDim() {
        return innerDim;
    }

    /** Width of the output. */
    public int dimOut() {
        return dimOut;
    }

    /** {@code net.0}. */
    public GEGLU geglu() {
        return geglu;
    }

    /** {@code net.2}. */
    public Linear out() {
        return out;
    }
}
