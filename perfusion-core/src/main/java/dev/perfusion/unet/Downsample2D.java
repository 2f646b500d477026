package dev.perfusion.unet;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;

/**
 * diffusers' {@code Downsample2D} with {@code use_conv=True}: a 3×3 convolution of stride 2, key {@code conv}.
 * <ul>
 *   <li>padding 1 (UNet): symmetric zero padding, [B, C, H, W] → [B, out, ⌈H/2⌉, ⌈W/2⌉]</li>
 *   <li>padding 0 (VAE encoder): diffusers first pads (0, 1, 0, 1) — one zero column on the right and one zero row
 *       at the bottom — then convolves without padding: [B, C, H, W] → [B, out, ⌊(H−2)/2⌋+1, ⌊(W−2)/2⌋+1]</li>
 * </ul>
 * Source: diffusers 0.30.3 {@code src/diffusers/models/downsampling.py}, class {@code Downsample2D}
 * ({@code if self.use_conv and self.padding == 0: pad = (0, 1, 0, 1)}).
 */
public final class Downsample2D extends Module {
    private final int channels;
    private final int outChannels;
    private final int padding;
    private final Conv2d conv;

    /**
     * @param channels    input channels
     * @param outChannels output channels
     * @param padding     1 (symmetric) or 0 (asymmetric (0,1,0,1) pre-padding, as the VAE encoder uses)
     */
    public Downsample2D(Backend backend, int channels, int outChannels, int padding) {
        super(backend);
        if (padding != 0 && padding != 1) {
            throw new IllegalArgumentException("Downsample2D supports padding 0 or 1, got " + padding);
        }
        this.channels = channels;
        this.outChannels = outChannels;
        this.padding = padding;
        this.conv = registerModule("conv", new Conv2d(backend, channels, outChannels, 3, 2, padding, true));
    }

    /** [B, C, H, W] → [B, out, H′, W′] (see the class comment for H′, W′). */
    public Tensor forward(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != channels) {
            throw new IllegalArgumentException("Downsample2D(" + channels + ") needs [B, " + channels
                    + ", H, W], got " + x.shape());
        }
        if (padding == 1) {
            return conv.forward(x); // [B, out, ⌈H/2⌉, ⌈W/2⌉]
        }
        Tensor p = Ops.pad(x, new int[] {0, 0, 0, 0}, new int[] {0, 0, 1, 1}, 0f); // [B, C, H+1, W+1]
        Tensor y = conv.forward(p); // [B, out, ⌊(H−2)/2⌋+1, ⌊(W−2)/2⌋+1]
        return Intermediates.release(y, p);
    }

    /** Input channels. */
    public int channels() {
        return channels;
    }

    /** Output channels. */
    public int outChannels() {
        return outChannels;
    }

    /** 1 for symmetric padding, 0 for diffusers' (0, 1, 0, 1) pre-padding. */
    public int padding() {
        return padding;
    }
}
