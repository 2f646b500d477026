package dev.perfusion.nn;

import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * A 2-D convolution with square kernels, {@code torch.nn.Conv2d} (groups 1, dilation 1, zero padding):
 * y[n,o,i,j] = b[o] + Σ_{c,p,q} W[o,c,p,q] · x[n, c, i·s + p − pad, j·s + q − pad].
 *
 * <ul>
 *   <li>input x: [N, I, H, W]</li>
 *   <li>{@code weight} W: [O, I, k, k]</li>
 *   <li>{@code bias} b: [O], when enabled</li>
 *   <li>output y: [N, O, (H + 2·pad − k)/s + 1, (W + 2·pad − k)/s + 1]</li>
 * </ul>
 * Initialisation as PyTorch: W and b from U(±1/√(I·k·k)).
 */
public final class Conv2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kernelSize;
    private final int stride;
    private final int padding;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * @param inChannels  I
     * @param outChannels O
     * @param kernelSize  k (square kernels: SD uses 1×1 and 3×3)
     * @param stride      s (2 for SD's downsamplers)
     * @param padding     zero padding on each side
     * @param bias        whether to add a learned bias
     */
    public Conv2d(Backend backend, int inChannels, int outChannels, int kernelSize, int stride, int padding,
                  boolean bias) {
        super(backend);
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0) {
            throw new IllegalArgumentException("bad Conv2d configuration: in " + inChannels + ", out " + outChannels
                    + ", kernel " + kernelSize + ", stride " + stride + ", padding " + padding);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.weight = registerParameter("weight",
                Parameter.zeros(backend, Shape.of(outChannels, inChannels, kernelSize, kernelSize)));
        this.bias = bias ? registerParameter("bias", Parameter.zeros(backend, Shape.of(outChannels))) : null;
    }

    /** [N, I, H, W] → [N, O, H′, W′]. */
    public Tensor forward(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != inChannels) {
            throw new IllegalArgumentException("Conv2d(" + inChannels + " → " + outChannels + ") needs [N, "
                    + inChannels + ", H, W], got " + x.shape());
        }
        Tensor w = weight.compute();                  // [O, I, k, k] FLOAT32 (a widened copy when stored as half)
        Tensor b = Parameter.compute(bias);           // [O], or null
        Tensor y = Ops.conv2d(x, w, b, stride, padding); // [N, O, H′, W′]
        return Intermediates.release(y, Parameter.temporary(weight, w), Parameter.temporary(bias, b));
    }

    /** I, input channels. */
    public int inChannels() {
        return inChannels;
    }

    /** O, output channels. */
    public int outChannels() {
        return outChannels;
    }

    /** k, the side of the square kernel. */
    public int kernelSize() {
        return kernelSize;
    }

    /** s, the step between output positions. */
    public int stride() {
        return stride;
    }

    /** Zero padding on each side. */
    public int padding() {
        return padding;
    }

    /** W [O, I, k, k]. */
    public Parameter weight() {
        return weight;
    }

    /** b [O], or null when the layer has no bias. */
    public Parameter bias() {
        return bias;
    }

    @Override
    protected void initializeParameter(String name, Parameter p, long seed) {
        Init.pytorchDefault(p, seed, inChannels * kernelSize * kernelSize);
    }
}
