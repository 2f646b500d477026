package dev.perfusion.vae;

import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.ResnetBlock2D;
import dev.perfusion.unet.Upsample2D;

/**
 * diffusers' {@code UpDecoderBlock2D}: {@code layers} resnets without time embedding (the first maps in → out
 * channels; the VAE decoder uses layers_per_block + 1 of them), then, except on the last level, an
 * {@code Upsample2D} (nearest ×2, 3×3 conv). No skip connections: the decoder is not a UNet.
 * <pre>
 *   [B, in, H, W] → resnets.0 … resnets.{layers−1} → [B, out, H, W] → upsamplers.0 → [B, out, 2H, 2W]
 * </pre>
 * Keys: {@code resnets.j}, {@code upsamplers.0.conv}.
 *
 * <p>Source: diffusers 0.30.3 {@code models/unets/unet_2d_blocks.py}, class {@code UpDecoderBlock2D}.
 */
public final class UpDecoderBlock2D extends Module {
    private final int inChannels;
    private final ResnetBlock2D[] resnets;
    private final Upsample2D upsampler;

    /**
     * @param inChannels  channels of the input
     * @param outChannels channels of the output
     * @param layers      number of resnets
     * @param addUpsample whether to double the resolution at the end
     * @param groups      GroupNorm groups
     * @param eps         GroupNorm eps
     */
    public UpDecoderBlock2D(Backend backend, int inChannels, int outChannels, int layers, boolean addUpsample,
                            int groups, float eps) {
        super(backend);
        this.inChannels = inChannels;
        this.resnets = new ResnetBlock2D[layers];
        for (int j = 0; j < layers; j++) {
            resnets[j] = registerModule("resnets." + j,
                    new ResnetBlock2D(backend, j == 0 ? inChannels : outChannels, outChannels, null, groups, eps));
        }
        this.upsampler = addUpsample ? registerModule("upsamplers.0", new Upsample2D(backend, outChannels, outChannels))
                : null;
    }

    /** [B, in, H, W] → [B, out, 2H, 2W] (or [B, out, H, W] without an upsampler). */
    public Tensor forward(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != inChannels) {
            throw new IllegalArgumentException("UpDecoderBlock2D needs [B, " + inChannels + ", H, W], got " + x.shape());
        }
        Tensor h = x;
        for (ResnetBlock2D r : resnets) {
            Tensor next = r.forward(h, null);            // [B, out, H, W]
            h = h == x ? next : Intermediates.release(next, h);
        }
        if (upsampler != null) {
            Tensor u = upsampler.forward(h);             // [B, out, 2H, 2W]
            h = h == x ? u : Intermediates.release(u, h);
        }
        return h;
    }

    /** True when the block ends with an upsampler. */
    public boolean hasUpsampler() {
        return upsampler != null;
    }
}
