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
 * The VAE encoder, diffusers' {@code Encoder} with {@code double_z=True}: image → moments (mean ‖ logvar).
 * With c_i = block_out_channels[i], n levels, L latent channels, f = 2^(n−1):
 * <pre>
 *   conv_in        3×3  in → c_0                          [B, in, H, W] → [B, c_0, H, W]
 *   down_blocks.i  DownEncoderBlock2D c_{i−1} → c_i        halves H, W except on the last level
 *   mid_block      UNetMidBlock2D at c_{n−1}               [B, c_{n−1}, H/f, W/f]
 *   conv_norm_out  GroupNorm, then SiLU
 *   conv_out       3×3  c_{n−1} → 2L                       [B, 2L, H/f, W/f]
 * </pre>
 * All GroupNorms use eps 1e-6. SD v1.5: c = 128, 256, 512, 512, 2 resnets per block, L = 4, f = 8.
 *
 * <p>Source: diffusers 0.30.3 {@code models/autoencoders/vae.py}, class {@code Encoder}.
 */
public final class Encoder extends Module {
    /** GroupNorm eps of every VAE block ({@code resnet_eps=1e-6} in diffusers' Encoder and Decoder). */
    static final float EPS = 1e-6f;

    private final int inChannels;
    private final Conv2d convIn;
    private final DownEncoderBlock2D[] downBlocks;
    private final UNetMidBlock2D midBlock;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    /** Builds the encoder of {@code config}, parameters zero until loaded or initialised. */
    public Encoder(Backend backend, AutoencoderKLConfig config) {
        super(backend);
        var ch = config.blockOutChannels();
        int groups = config.normNumGroups();
        int top = ch.get(ch.size() - 1);
        this.inChannels = config.inChannels();
        this.convIn = registerModule("conv_in", new Conv2d(backend, inChannels, ch.get(0), 3, 1, 1, true));
        this.downBlocks = new DownEncoderBlock2D[ch.size()];
        for (int i = 0; i < ch.size(); i++) {
            int in = i == 0 ? ch.get(0) : ch.get(i - 1);
            boolean last = i == ch.size() - 1;
            downBlocks[i] = registerModule("down_blocks." + i, new DownEncoderBlock2D(backend, in, ch.get(i),
                    config.layersPerBlock(), !last, groups, EPS));
        }
        this.midBlock = registerModule("mid_block",
                new UNetMidBlock2D(backend, top, groups, EPS, config.midBlockAddAttention()));
        this.convNormOut = registerModule("conv_norm_out", new GroupNorm(backend, groups, top, EPS, true));
        this.convOut = registerModule("conv_out", new Conv2d(backend, top, 2 * config.latentChannels(), 3, 1, 1, true));
    }

    /**
     * @param x     image [B, in, H, W]
     * @param probe receives {@code conv_in}, {@code down_blocks.i}, {@code mid_block.resnets.0},
     *              {@code mid_block.attentions.0}, {@code mid_block}, {@code conv_norm_out} (before the SiLU) and
     *              {@code conv_out}; may be null (read each at once: it may be freed afterwards)
     * @return moments [B, 2L, H/f, W/f]
     */
    public Tensor forward(Tensor x, BiConsumer<String, Tensor> probe) {
        if (x.rank() != 4 || x.dim(1) != inChannels) {
            throw new IllegalArgumentException("Encoder needs [B, " + inChannels + ", H, W], got " + x.shape());
        }
        Tensor h = convIn.forward(x);                                // [B, c_0, H, W]
        Probes.tap(probe, "conv_in", h);
        for (int i = 0; i < downBlocks.length; i++) {
            Tensor next = downBlocks[i].forward(h);                  // [B, c_i, H/2^(i+1), W/2^(i+1)] (last: no halving)
            h = Intermediates.release(next, h);
            Probes.tap(probe, "down_blocks." + i, h);
        }
        Tensor mid = midBlock.forward(h, Probes.prefixed(probe, "mid_block")); // [B, c_top, H/f, W/f]
        h = Intermediates.release(mid, h);
        Probes.tap(probe, "mid_block", h);
        Tensor n = convNormOut.forward(h);                           // [B, c_top, H/f, W/f]
        Probes.tap(probe, "conv_norm_out", n);
        Tensor a = Ops.silu(n);                                      // [B, c_top, H/f, W/f]
        Tensor out = convOut.forward(a);                             // [B, 2L, H/f, W/f]
        Probes.tap(probe, "conv_out", out);
        return Intermediates.release(out, h, n, a);
    }

    /** Image channels expected. */
    public int inChannels() {
        return inChannels;
    }
}
