package dev.perfusion.unet;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;

/**
 * diffusers' {@code Upsample2D} with {@code use_conv=True}: nearest-neighbour ×2 upsampling, then a 3×3 convolution
 * with padding 1, key {@code conv}: [B, C, H, W] → [B, out, 2H, 2W].
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/upsampling.py}, class {@code Upsample2D}
 * ({@code F.interpolate(scale_factor=2.0, mode="nearest")} then {@code conv}).
 */
public final class Upsample2D extends Module {
    private final int channels;
    private final int outChannels;
    private final Conv2d conv;

    /**
     * @param channels    input channels
     * @param outChannels output channels
     */
    public Upsample2D(Backend backend, int channels, int outChannels) {
        super(backend);
        this.channels = channels;
        this.outChannels = outChannels;
        this.conv = registerModule("conv", new Conv2d(backend, channels, outChannels, 3, 1, 1, true));
    }

    /** [B, C, H, W] → [B, out, 2H, 2W]. */
    public Tensor forward(Tensor x) {
        checkInput(x);
        return forward(x, 2 * x.dim(2), 2 * x.dim(3));
    }

    /**
     * Nearest-neighbour resize to an explicit size, then the conv: [B, C, H, W] → [B, out, outH, outW]. diffusers
     * passes the skip connection's size here when the latent size is not a multiple of the UNet's total
     * downsampling ({@code upsample_size}, {@code F.interpolate(size=…, mode="nearest")}).
     */
    public Tensor forward(Tensor x, int outH, int outW) {
        checkInput(x);
        Tensor u = outH == 2 * x.dim(2) && outW == 2 * x.dim(3)
                ? Ops.upsampleNearest2x(x)                     // [B, C, 2H, 2W]
                : NearestResize.resize(x, outH, outW);          // [B, C, outH, outW]
        Tensor y = conv.forward(u);                             // [B, out, outH, outW]
        return Intermediates.release(y, u);
    }

    private void checkInput(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != channels) {
            throw new IllegalArgumentException("Upsample2D(" + channels + ") needs [B, " + channels
                    + ", H, W], got " + x.shape());
        }
    }

    /** Input channels. */
    public int channels() {
        return channels;
    }

    /** Output channels. */
    public int outChannels() {
        return outChannels;
    }
}
