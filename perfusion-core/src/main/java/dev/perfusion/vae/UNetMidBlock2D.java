package dev.perfusion.vae;

import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.ResnetBlock2D;
import java.util.function.BiConsumer;

/**
 * diffusers' {@code UNetMidBlock2D} as the VAE's encoder and decoder use it (no time embedding, one attention):
 * <pre>
 *   h = resnets.0(x);  h = attentions.0(h);  out = resnets.1(h)
 * </pre>
 * All at C channels. Keys: {@code resnets.0}, {@code attentions.0} ({@link VaeAttention}), {@code resnets.1}.
 * With {@code mid_block_add_attention = false} the attention is absent (diffusers then skips it).
 *
 * <p>Source: diffusers 0.30.3 {@code models/unets/unet_2d_blocks.py}, class {@code UNetMidBlock2D}.
 */
public final class UNetMidBlock2D extends Module {
    private final int channels;
    private final ResnetBlock2D resnet0;
    private final VaeAttention attention;
    private final ResnetBlock2D resnet1;

    /**
     * @param channels     C
     * @param groups       GroupNorm groups
     * @param eps          GroupNorm eps (1e-6 in the VAE)
     * @param addAttention whether the block has its self-attention
     */
    public UNetMidBlock2D(Backend backend, int channels, int groups, float eps, boolean addAttention) {
        super(backend);
        this.channels = channels;
        this.resnet0 = registerModule("resnets.0", new ResnetBlock2D(backend, channels, channels, null, groups, eps));
        this.attention = addAttention ? registerModule("attentions.0", new VaeAttention(backend, channels, groups, eps))
                : null;
        this.resnet1 = registerModule("resnets.1", new ResnetBlock2D(backend, channels, channels, null, groups, eps));
    }

    /**
     * @param x     [B, C, H, W]
     * @param probe receives {@code resnets.0} and {@code attentions.0} as they are made (read them at once: they may
     *              be freed afterwards); may be null
     * @return [B, C, H, W]
     */
    public Tensor forward(Tensor x, BiConsumer<String, Tensor> probe) {
        Tensor r0 = resnet0.forward(x, null);                        // [B, C, H, W]
        Probes.tap(probe, "resnets.0", r0);
        Tensor a = r0;
        if (attention != null) {
            a = attention.forward(r0);                               // [B, C, H, W]
            Probes.tap(probe, "attentions.0", a);
        }
        Tensor out = resnet1.forward(a, null);                       // [B, C, H, W]
        return Intermediates.release(out, r0, a);
    }

    /** C. */
    public int channels() {
        return channels;
    }

    /** The attention, or null when the block has none. */
    public VaeAttention attention() {
        return attention;
    }
}
