package dev.perfusion.vae;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.GroupNorm;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import java.util.function.BiConsumer;

/**
 * The VAE decoder, diffusers' {@code Decoder}: latent → image. With c_i = block_out_channels[i], n levels,
 * r_i = c_{n−1−i} (the channels reversed), L latent channels, f = 2^(n−1):
 * <pre>
 *   conv_in        3×3  L → c_{n−1}                         [B, L, h, w] → [B, c_{n−1}, h, w]
 *   mid_block      UNetMidBlock2D at c_{n−1}
 *   up_blocks.i    UpDecoderBlock2D r_{i−1} → r_i with layers_per_block + 1 resnets, doubling h, w except on the
 *                  last level
 *   conv_norm_out  GroupNorm over c_0, then SiLU
 *   conv_out       3×3  c_0 → out                           [B, out, f·h, f·w]
 * </pre>
 * All GroupNorms use eps 1e-6 (norm_type "group": no spatial norm).
 *
 * <p>Source: diffusers 0.30.3 {@code models/autoencoders/vae.py}, class {@code Decoder}.
 */
public final class Decoder extends Module {
    private final int latentChannels;
    private final Conv2d convIn;
    private final UpDecoderBlock2D[] upBlocks;
    private final UNetMidBlock2D midBlock;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    /** Builds the decoder of {@code config}, parameters zero until loaded or initialised. */
    public Decoder(Backend backend, AutoencoderKLConfig config) {
        super(backend);
        var ch = config.blockOutChannels();
        int n = ch.size();
        int groups = config.normNumGroups();
        int top = ch.get(n - 1);
        this.latentChannels = config.latentChannels();
        this.convIn = registerModule("conv_in", new Conv2d(backend, latentChannels, top, 3, 1, 1, true));
        // registration order as diffusers' __init__: up_blocks (ModuleList made before the mid block), then mid_block
        this.upBlocks = new UpDecoderBlock2D[n];
        for (int i = 0; i < n; i++) {
            int in = ch.get(n - 1 - Math.max(i - 1, 0)); // prev_output_channel: r_{i−1}, r_0 for the first block
            int out = ch.get(n - 1 - i);
            boolean last = i == n - 1;
            upBlocks[i] = registerModule("up_blocks." + i,
                    new UpDecoderBlock2D(backend, in, out, config.layersPerBlock() + 1, !last, groups, Encoder.EPS));
        }
        this.midBlock = registerModule("mid_block",
                new UNetMidBlock2D(backend, top, groups, Encoder.EPS, config.midBlockAddAttention()));
        this.convNormOut = registerModule("conv_norm_out", new GroupNorm(backend, groups, ch.get(0), Encoder.EPS, true));
        this.convOut = registerModule("conv_out", new Conv2d(backend, ch.get(0), config.outChannels(), 3, 1, 1, true));
    }

    /**
     * @param z     latent [B, L, h, w] (after post_quant_conv)
     * @param probe receives {@code conv_in}, {@code mid_block.resnets.0}, {@code mid_block.attentions.0},
     *              {@code mid_block}, {@code up_blocks.i} and {@code conv_norm_out} (before the SiLU); may be null
     * @return image [B, out, f·h, f·w]
     */
    public Tensor forward(Tensor z, BiConsumer<String, Tensor> probe) {
        if (z.rank() != 4 || z.dim(1) != latentChannels) {
            throw new IllegalArgumentException("Decoder needs [B, " + latentChannels + ", h, w], got " + z.shape());
        }
        Tensor h = convIn.forward(z);                                // [B, c_top, h, w]
        Probes.tap(probe, "conv_in", h);
        Tensor mid = midBlock.forward(h, Probes.prefixed(probe, "mid_block")); // [B, c_top, h, w]
        h = Intermediates.release(mid, h);
        Probes.tap(probe, "mid_block", h);
        for (int i = 0; i < upBlocks.length; i++) {
            Tensor next = upBlocks[i].forward(h);                    // [B, r_i, 2^(i+1)·h, 2^(i+1)·w] (last: no doubling)
            h = Intermediates.release(next, h);
            Probes.tap(probe, "up_blocks." + i, h);
        }
        Tensor n = convNormOut.forward(h);                           // [B, c_0, f·h, f·w]
        Probes.tap(probe, "conv_norm_out", n);
        Tensor a = Ops.silu(n);                                      // [B, c_0, f·h, f·w]
        Tensor out = convOut.forward(a);                             // [B, out, f·h, f·w]
        return Intermediates.release(out, h, n, a);
    }

    /** Latent channels expected. */
    public int latentChannels() {
        return latentChannels;
    }
}
