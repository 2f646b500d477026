package dev.perfusion.unet;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.GroupNorm;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Linear;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * diffusers' {@code ResnetBlock2D} with SD v1.x's settings (output_scale_factor 1, SiLU, no dropout,
 * time_embedding_norm "default"):
 * <pre>
 *   h   = conv1(SiLU(norm1(x)))
 *   h   = h + time_emb_proj(SiLU(temb))[:, :, None, None]      (only with a time embedding)
 *   h   = conv2(SiLU(norm2(h)))
 *   out = shortcut(x) + h,   shortcut = conv_shortcut (1×1) when in ≠ out, else identity
 * </pre>
 * Keys: {@code norm1} GroupNorm(groups, in), {@code conv1} 3×3 in→out, {@code time_emb_proj} Linear(temb, out),
 * {@code norm2} GroupNorm(groups, out), {@code conv2} 3×3 out→out, {@code conv_shortcut} 1×1 in→out.
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/resnet.py}, class {@code ResnetBlock2D}. Used by the UNet
 * (with a time embedding) and the VAE (without one: {@code temb_channels=None}).
 */
public final class ResnetBlock2D extends Module {
    private final int inChannels;
    private final int outChannels;
    private final Integer tembChannels;
    private final GroupNorm norm1;
    private final Conv2d conv1;
    private final Linear timeEmbProj;
    private final GroupNorm norm2;
    private final Conv2d conv2;
    private final Conv2d convShortcut;

    /**
     * @param inChannels   channels of x
     * @param outChannels  channels of the output
     * @param tembChannels width of the time embedding, or null for a block without one (the VAE)
     * @param groups       GroupNorm groups of both norms (32 in SD)
     * @param eps          GroupNorm eps (1e-5 in the UNet, 1e-6 in the VAE)
     */
    public ResnetBlock2D(Backend backend, int inChannels, int outChannels, Integer tembChannels, int groups, float eps) {
        super(backend);
        if (inChannels <= 0 || outChannels <= 0 || (tembChannels != null && tembChannels <= 0)) {
            throw new IllegalArgumentException("bad ResnetBlock2D configuration: in " + inChannels + ", out "
                    + outChannels + ", temb " + tembChannels);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.tembChannels = tembChannels;
        // registration order follows diffusers' __init__ so namedParameters lists keys as the checkpoint does
        this.norm1 = registerModule("norm1", new GroupNorm(backend, groups, inChannels, eps, true));
        this.conv1 = registerModule("conv1", new Conv2d(backend, inChannels, outChannels, 3, 1, 1, true));
        this.timeEmbProj = tembChannels == null ? null
                : registerModule("time_emb_proj", new Linear(backend, tembChannels, outChannels, true));
        this.norm2 = registerModule("norm2", new GroupNorm(backend, groups, outChannels, eps, true));
        this.conv2 = registerModule("conv2", new Conv2d(backend, outChannels, outChannels, 3, 1, 1, true));
        // diffusers: use_in_shortcut defaults to in_channels != out_channels; the shortcut is a 1×1 conv
        this.convShortcut = inChannels == outChannels ? null
                : registerModule("conv_shortcut", new Conv2d(backend, inChannels, outChannels, 1, 1, 0, true));
    }

    /**
     * @param x    [B, in, H, W]
     * @param temb [B, temb] time embedding (not yet activated), or null when the block has none
     * @return [B, out, H, W]
     */
    public Tensor forward(Tensor x, Tensor temb) {
        if (x.rank() != 4 || x.dim(1) != inChannels) {
            throw new IllegalArgumentException("ResnetBlock2D(" + inChannels + " → " + outChannels + ") needs [B, "
                    + inChannels + ", H, W], got " + x.shape());
        }
        if (timeEmbProj == null && temb != null) {
            throw new IllegalArgumentException("this ResnetBlock2D has no time embedding projection, got temb " + temb.shape());
        }
        if (timeEmbProj != null && (temb == null || temb.rank() != 2 || temb.dim(0) != x.dim(0)
                || temb.dim(1) != tembChannels)) {
            throw new IllegalArgumentException("ResnetBlock2D needs temb [" + x.dim(0) + ", " + tembChannels + "], got "
                    + (temb == null ? "null" : temb.shape()));
        }
        int b = x.dim(0);
        Tensor n1 = norm1.forward(x);     // [B, in, H, W]
        Tensor a1 = Ops.silu(n1);         // [B, in, H, W]
        Tensor h1 = conv1.forward(a1);    // [B, out, H, W]
        Tensor ta = null;
        Tensor tp = null;
        Tensor t4 = null;
        Tensor h2 = h1;
        if (timeEmbProj != null) {
            ta = Ops.silu(temb);                                      // [B, temb]
            tp = timeEmbProj.forward(ta);                             // [B, out]
            t4 = Ops.reshape(tp, Shape.of(b, outChannels, 1, 1));     // [B, out, 1, 1]
            h2 = Ops.add(h1, t4);                                     // [B, out, H, W]
        }
        Tensor n2 = norm2.forward(h2);    // [B, out, H, W]
        Tensor a2 = Ops.silu(n2);         // [B, out, H, W]
        Tensor h3 = conv2.forward(a2);    // [B, out, H, W]
        Tensor sc = convShortcut == null ? x : convShortcut.forward(x); // [B, out, H, W]
        Tensor out = Ops.add(sc, h3);     // [B, out, H, W]; output_scale_factor 1
        return Intermediates.release(out, n1, a1, h1, ta, tp, t4, h2 == h1 ? null : h2, n2, a2, h3,
                sc == x ? null : sc);
    }

    /** Channels of the input. */
    public int inChannels() {
        return inChannels;
    }

    /** Channels of the output. */
    public int outChannels() {
        return outChannels;
    }

    /** Width of the time embedding, or null when the block has none. */
    public Integer tembChannels() {
        return tembChannels;
    }
}
