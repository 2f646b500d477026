package dev.perfusion.nn;

import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * Layer normalisation over the last axis, {@code torch.nn.LayerNorm(dim)}:
 * y = (x − μ)/√(σ² + eps)·γ + β, μ and the biased σ² taken over the last axis.
 *
 * <ul>
 *   <li>input x: [..., D]</li>
 *   <li>{@code weight} γ: [D], {@code bias} β: [D], when affine</li>
 *   <li>output: like x</li>
 * </ul>
 * SD v1.x: eps 1e-5 in the UNet's transformer blocks and in CLIP. Initialisation: γ = 1, β = 0.
 */
public final class LayerNorm extends Module {
    private final int dim;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * @param dim    D, the size of the normalised last axis
     * @param eps    added to the variance
     * @param affine whether to learn γ and β
     */
    public LayerNorm(Backend backend, int dim, float eps, boolean affine) {
        super(backend);
        if (dim <= 0) {
            throw new IllegalArgumentException("LayerNorm needs a positive size, got " + dim);
        }
        this.dim = dim;
        this.eps = eps;
        this.weight = affine ? registerParameter("weight", Parameter.ones(backend, Shape.of(dim))) : null;
        this.bias = affine ? registerParameter("bias", Parameter.zeros(backend, Shape.of(dim))) : null;
    }

    /** [..., D] → [..., D]. */
    public Tensor forward(Tensor x) {
        if (x.rank() < 1 || x.dim(-1) != dim) {
            throw new IllegalArgumentException("LayerNorm(" + dim + ") got input " + x.shape());
        }
        Tensor g = Parameter.compute(weight);         // [D] FLOAT32, or null
        Tensor b = Parameter.compute(bias);           // [D], or null
        Tensor y = Ops.layerNorm(x, g, b, eps);       // [..., D]
        return Intermediates.release(y, Parameter.temporary(weight, g), Parameter.temporary(bias, b));
    }

    /** D, the size of the normalised axis. */
    public int dim() {
        return dim;
    }

    /** Added to the variance. */
    public float eps() {
        return eps;
    }

    /** γ [D], or null when not affine. */
    public Parameter weight() {
        return weight;
    }

    /** β [D], or null when not affine. */
    public Parameter bias() {
        return bias;
    }

    @Override
    protected void initializeParameter(String name, Parameter p, long seed) {
        Init.constant(p, "weight".equals(name) ? 1f : 0f); // γ = 1, β = 0: the identity affine map
    }
}
