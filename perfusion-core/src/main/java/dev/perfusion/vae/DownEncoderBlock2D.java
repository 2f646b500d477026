package dev.perfusion.vae;

import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.Downsample2D;
import dev.perfusion.unet.ResnetBlock2D;

/**
 * diffusers' {@code DownEncoderBlock2D}: {@code layers} resnets without time embedding (the first maps in → out
 * channels), then, except on the last level, a stride-2 {@code Downsample2D} with diffusers' asymmetric (0, 1, 0, 1)
 * padding ({@code downsample_padding=0}).
 * <pre>
 *   [B, in, H, W] → resnets.0 … resnets.{layers−1} → [B, out, H, W] → downsamplers.0 → [B, out, H/2, W/2]
 * </pre>
 * Keys: {@code resnets.j}, {@code downsamplers.0.conv}.
 *
 * <p>Source: diffusers 0.30.3 {@code models/unets/unet_2d_blocks.py}, class {@code DownEncoderBlock2D}; the VAE
 * {@code Encoder} passes {@code resnet_eps=1e-6}, {@code downsample_padding=0}.
 */
public final class DownEncoderBlock2D extends Module {
    private final int inChannels;
    private final ResnetBlock2D[] resnets;
    private final Downsample2D downsampler;

    /**
     * @param inChannels    channels of the input
     * @param outChannels   channels of the output
     * @param layers        number of resnets
     * @param addDownsample whether to halve the resolution at the end
     * @param groups        GroupNorm groups
     * @param eps           GroupNorm eps
     */
    public DownEncoderBlock2D(Backend backend, int inChannels, int outChannels, int layers, boolean addDownsample,
                              int groups, float eps) {
        super(backend);
        this.inChannels = inChannels;
        this.resnets = new ResnetBlock2D[layers];
        for (int j = 0; j < layers; j++) {
            resnets[j] = registerModule("resnets." + j,
                    new ResnetBlock2D(backend, j == 0 ? inChannels : outChannels, outChannels, null, groups, eps));
        }
        this.downsampler = addDownsample
                ? registerModule("downsamplers.0", new Downsample2D(backend, outChannels, outChannels, 0)) : null;
    }

    /** [B, in, H, W] → [B, out, H/2, W/2] (or [B, out, H, W] without a downsampler). */
    public Tensor forward(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != inChannels) {
            throw new IllegalArgumentException("DownEncoderBlock2D needs [B, " + inChannels + ", H, W], got " + x.shape());
        }
        Tensor h = x;
        for (ResnetBlock2D r : resnets) {
            Tensor next = r.forward(h, null);            // [B, out, H, W]
            h = h == x ? next : Intermediates.release(next, h);
        }
        if (downsampler != null) {
            Tensor d = downsampler.forward(h);           // [B, out, H/2, W/2]
            h = h == x ? d : Intermediates.release(d, h);
        }
        return h;
    }

    /** True when the block ends with a downsampler. */
    public boolean hasDownsampler() {
        return downsampler != null;
    }
}
