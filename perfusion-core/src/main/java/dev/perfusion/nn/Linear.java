package dev.perfusion.nn;

import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * A fully connected layer, {@code torch.nn.Linear}: y = x·Wᵀ + b over the last axis.
 *
 * <ul>
 *   <li>input x: [..., in]</li>
 *   <li>{@code weight} W: [out, in] (PyTorch layout, as stored in checkpoints)</li>
 *   <li>{@code bias} b: [out], when enabled</li>
 *   <li>output y: [..., out]</li>
 * </ul>
 * Initialisation as PyTorch: W and b from U(±1/√in).
 */
public final class Linear extends Module {
    private final int inFeatures;
    private final int outFeatures;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * @param inFeatures  size of the input's last axis
     * @param outFeatures size of the output's last axis
     * @param bias        whether to add a learned bias
     */
    public Linear(Backend backend, int inFeatures, int outFeatures, boolean bias) {
        super(backend);
        if (inFeatures <= 0 || outFeatures <= 0) {
            throw new IllegalArgumentException("Linear needs positive sizes, got in " + inFeatures + ", out " + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = registerParameter("weight", Parameter.zeros(backend, Shape.of(outFeatures, inFeatures)));
        this.bias = bias ? registerParameter("bias", Parameter.zeros(backend, Shape.of(outFeatures))) : null;
    }

    /** y = x·Wᵀ + b: [..., in] → [..., out]. */
    public Tensor forward(Tensor x) {
        if (x.rank() < 1 || x.dim(-1) != inFeatures) {
            throw new IllegalArgumentException("Linear(" + inFeatures + " → " + outFeatures + ") got input " + x.shape());
        }
        Tensor w = weight.compute();                  // [out, in] FLOAT32 (a widened copy when stored as half)
        Tensor b = Parameter.compute(bias);           // [out], or null
        Tensor y = Ops.linear(x, w, b);               // [..., out]
        return Intermediates.release(y, Parameter.temporary(weight, w), Parameter.temporary(bias, b));
    }

    /** Size of the input's last axis. */
    public int inFeatures() {
        return inFeatures;
    }

    /** Size of the output's last axis. */
    public int outFeatures() {
        return outFeatures;
    }

    /** W [out, in]. */
    public Parameter weight() {
        return weight;
    }

    /** b [out], or null when the layer has no bias. */
    public Parameter bias() {
        return bias;
    }

    @Override
    protected void initializeParameter(String name, Parameter p, long seed) {
        Init.pytorchDefault(p, seed, inFeatures);
    }
}
