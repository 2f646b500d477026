package dev.perfusion.nn;

import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * Group normalisation, {@code torch.nn.GroupNorm}: the C channels are split into G groups of C/G; each
 * group of one sample is normalised over its channels and all spatial positions,
 * y = (x − μ_g)/√(σ²_g + eps)·γ[c] + β[c], with the biased variance σ²_g.
 *
 * <ul>
 *   <li>input x: [N, C, *] (SD: [N, C, H, W])</li>
 *   <li>{@code weight} γ: [C], {@code bias} β: [C], when affine</li>
 *   <li>output: like x</li>
 * </ul>
 * SD v1.x uses G = 32, eps = 1e-5 in the UNet (1e-6 in the VAE). Initialisation: γ = 1, β = 0.
 */
public final class GroupNorm extends Module {
    private final int numGroups;
    private final int numChannels;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * @param numGroups   G; must divide numChannels
     * @param numChannels C
     * @param eps         added to the variance
     * @param affine      whether to learn γ and β
     */
    public GroupNorm(Backend backend, int numGroups, int numChannels, float eps, boolean affine) {
        super(backend);
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0) {
            throw new IllegalArgumentException("GroupNorm needs groups dividing channels, got " + numGroups
                    + " groups for " + numChannels + " channels");
        }
        this.numGroups = numGroups;
        this.numChannels = numChannels;
        this.eps = eps;
        this.weight = affine ? registerParameter("weight", Parameter.ones(backend, Shape.of(numChannels))) : null;
        this.bias = affine ? registerParameter("bias", Parameter.zeros(backend, Shape.of(numChannels))) : null;
    }

    /** [N, C, *] → [N, C, *]. */
    public Tensor forward(Tensor x) {
        if (x.rank() < 2 || x.dim(1) != numChannels) {
            throw new IllegalArgumentException("GroupNorm(" + numGroups + ", " + numChannels + ") needs [N, "
                    + numChannels + ", …], got " + x.shape());
        }
        Tensor g = Parameter.compute(weight);         // [C] FLOAT32, or null
        Tensor b = Parameter.compute(bias);           // [C], or null
        Tensor y = Ops.groupNorm(x, numGroups, g, b, eps); // [N, C, *]
        return Intermediates.release(y, Parameter.temporary(weight, g), Parameter.temporary(bias, b));
    }

    /** G. */
    public int numGroups() {
        return numGroups;
    }

    /** C. */
    public int numChannels() {
        return numChannels;
    }

    /** Added to the variance. */
    public float eps() {
        return eps;
    }

    /** γ [C], or null when not affine. */
    public Parameter weight() {
        return weight;
    }

    /** β [C], or null when not affine. */
    public Parameter bias() {
        return bias;
    }

    @Override
    protected void initializeParameter(String name, Parameter p, long seed) {
        Init.constant(p, "weight".equals(name) ? 1f : 0f); // γ = 1, β = 0: the identity affine map
    }
}
