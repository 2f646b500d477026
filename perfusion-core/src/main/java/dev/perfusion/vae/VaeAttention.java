package dev.perfusion.vae;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Attention;
import dev.perfusion.nn.GroupNorm;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * The VAE mid-block's self-attention: diffusers' {@code Attention} as {@code UNetMidBlock2D} builds it for the VAE
 * ({@code heads = C / attention_head_dim = 1}, {@code dim_head = C}, {@code bias=True}, {@code norm_num_groups},
 * {@code residual_connection=True}, {@code rescale_output_factor=1}), on 4-D feature maps:
 * <pre>
 *   t   = GroupNorm(x) viewed as tokens           [B, C, H, W] → [B, H·W, C]
 *   a   = to_out.0( softmax(q·kᵀ/√C)·v ),  q, k, v = to_q(t), to_k(t), to_v(t)   (one head over all C channels)
 *   out = a viewed back as [B, C, H, W]  +  x
 * </pre>
 * Keys: {@code group_norm} (γ, β [C]), {@code to_q}, {@code to_k}, {@code to_v}, {@code to_out.0} (Linear [C, C],
 * each with a bias — unlike the UNet's attention). Older files name them {@code query}, {@code key}, {@code value},
 * {@code proj_attn}: see {@link VaeKeys#renameLegacyAttention}.
 *
 * <p>Source: diffusers 0.30.3 {@code models/unets/unet_2d_blocks.py} ({@code UNetMidBlock2D}) and
 * {@code models/attention_processor.py} ({@code AttnProcessor}, the {@code input_ndim == 4} and
 * {@code residual_connection} branches).
 */
public final class VaeAttention extends Attention {
    private final int channels;
    private final GroupNorm groupNorm;

    /**
     * @param channels C
     * @param groups   GroupNorm groups (norm_num_groups)
     * @param eps      GroupNorm eps (1e-6 in the VAE)
     */
    public VaeAttention(Backend backend, int channels, int groups, float eps) {
        super(backend, channels, null, 1, channels, true, true);
        this.channels = channels;
        this.groupNorm = registerModule("group_norm", new GroupNorm(backend, groups, channels, eps, true));
    }

    /**
     * Self-attention over the H·W positions of a feature map, with the residual added.
     *
     * @param x [B, C, H, W]
     * @return [B, C, H, W]
     */
    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != channels) {
            throw new IllegalArgumentException("VaeAttention(" + channels + ") needs [B, " + channels + ", H, W], got "
                    + x.shape());
        }
        int b = x.dim(0);
        int h = x.dim(2);
        int w = x.dim(3);
        Tensor n = groupNorm.forward(x);                                // [B, C, H, W]
        Tensor flat = Ops.reshape(n, Shape.of(b, channels, h * w));     // [B, C, HW]
        Tensor tokens = Ops.transpose(flat, 1, 2);                      // [B, HW, C]
        Tensor a = forward(tokens, null, null);                         // [B, HW, C]
        Tensor back = Ops.transpose(a, 1, 2);                           // [B, C, HW]
        Tensor map = Ops.reshape(back, Shape.of(b, channels, h, w));    // [B, C, H, W]
        Tensor out = Ops.add(map, x);                                   // [B, C, H, W]; rescale_output_factor 1
        return Intermediates.release(out, n, flat, tokens, a, back, map);
    }

    /** C. */
    public int channels() {
        return channels;
    }

    /** The GroupNorm applied before the projections ({@code group_norm}). */
    public GroupNorm groupNorm() {
        return groupNorm;
    }
}
