package dev.perfusion.vae;

import dev.perfusion.io.DiffusersConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The configuration of diffusers' {@code AutoencoderKL}, read from its {@code config.json}.
 *
 * <p>Only the SD v1.x architecture is supported: every down block a {@code DownEncoderBlock2D}, every up block an
 * {@code UpDecoderBlock2D}, SiLU activations. Keys that change nothing inside the model are ignored:
 * {@code sample_size} (tiling hint), {@code force_upcast} (fp16 advice), and {@code shift_factor},
 * {@code latents_mean}, {@code latents_std} (applied, like {@code scaling_factor}, by pipelines outside the VAE).
 * Missing keys take diffusers' defaults ({@code AutoencoderKL.__init__}, diffusers 0.30.3).
 *
 * @param inChannels           image channels (3)
 * @param outChannels          decoded image channels (3)
 * @param latentChannels       L, latent channels (4); the encoder emits 2·L (mean ‖ logvar)
 * @param blockOutChannels     channels of each resolution level, outermost first (SD v1.5: 128, 256, 512, 512)
 * @param layersPerBlock       resnets per encoder block; decoder blocks have one more
 * @param normNumGroups        GroupNorm groups everywhere (32)
 * @param scalingFactor        latents are multiplied by it after encoding and divided by it before decoding, by
 *                             the caller (0.18215 for SD v1.x)
 * @param useQuantConv         whether {@code quant_conv} (1×1, 2L → 2L) follows the encoder
 * @param usePostQuantConv     whether {@code post_quant_conv} (1×1, L → L) precedes the decoder
 * @param midBlockAddAttention whether the mid blocks have their self-attention
 */
public record AutoencoderKLConfig(int inChannels, int outChannels, int latentChannels, List<Integer> blockOutChannels,
                                  int layersPerBlock, int normNumGroups, double scalingFactor, boolean useQuantConv,
                                  boolean usePostQuantConv, boolean midBlockAddAttention) {
    /** The only encoder block type SD v1.x's VAE uses. */
    public static final String DOWN_BLOCK = "DownEncoderBlock2D";
    /** The only decoder block type SD v1.x's VAE uses. */
    public static final String UP_BLOCK = "UpDecoderBlock2D";

    /** Validates the values; see the class comment. */
    public AutoencoderKLConfig {
        if (blockOutChannels == null || blockOutChannels.isEmpty()) {
            throw new IllegalArgumentException("AutoencoderKL: block_out_channels must list at least one level");
        }
        blockOutChannels = List.copyOf(blockOutChannels);
        if (inChannels <= 0 || outChannels <= 0 || latentChannels <= 0 || layersPerBlock <= 0 || normNumGroups <= 0) {
            throw new IllegalArgumentException("AutoencoderKL: in_channels " + inChannels + ", out_channels " + outChannels
                    + ", latent_channels " + latentChannels + ", layers_per_block " + layersPerBlock
                    + ", norm_num_groups " + normNumGroups + " must all be positive");
        }
        for (int c : blockOutChannels) {
            if (c <= 0 || c % normNumGroups != 0) {
                throw new IllegalArgumentException("AutoencoderKL: block_out_channels " + blockOutChannels
                        + " must be positive multiples of norm_num_groups " + normNumGroups);
            }
        }
        if (!(scalingFactor > 0) || Double.isInfinite(scalingFactor)) {
            throw new IllegalArgumentException("AutoencoderKL: scaling_factor must be positive, got " + scalingFactor);
        }
    }

    /** SD v1.5's VAE ({@code runwayml/stable-diffusion-v1-5/vae/config.json}). */
    public static AutoencoderKLConfig sd15() {
        return new AutoencoderKLConfig(3, 3, 4, List.of(128, 256, 512, 512), 2, 32, 0.18215, true, true, true);
    }

    /** Reads {@code vaeDir/config.json} (or the given file). */
    public static AutoencoderKLConfig read(Path vaeDir) throws IOException {
        return from(DiffusersConfig.read(vaeDir));
    }

    /**
     * The configuration from a parsed {@code config.json}.
     *
     * @throws IllegalArgumentException naming the file and key for an unsupported block type or activation, block
     *                                  type lists whose length differs from {@code block_out_channels}, or bad values
     */
    public static AutoencoderKLConfig from(DiffusersConfig c) {
        List<Integer> channels = c.intList("block_out_channels", List.of(64));
        int levels = channels.size();
        checkBlockTypes(c, "down_block_types", List.of(DOWN_BLOCK), DOWN_BLOCK, levels);
        checkBlockTypes(c, "up_block_types", List.of(UP_BLOCK), UP_BLOCK, levels);
        String act = c.string("act_fn", "silu");
        if (!act.equals("silu")) {
            throw new IllegalArgumentException(c.source() + ": act_fn '" + act + "' is not supported (only silu)");
        }
        try {
            return new AutoencoderKLConfig(
                    c.intValue("in_channels", 3),
                    c.intValue("out_channels", 3),
                    c.intValue("latent_channels", 4),
                    channels,
                    c.intValue("layers_per_block", 1),
                    c.intValue("norm_num_groups", 32),
                    c.doubleValue("scaling_factor", 0.18215),
                    c.boolValue("use_quant_conv", true),
                    c.boolValue("use_post_quant_conv", true),
                    c.boolValue("mid_block_add_attention", true));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(c.source() + ": " + e.getMessage(), e);
        }
    }

    private static void checkBlockTypes(DiffusersConfig c, String key, List<String> fallback, String supported,
                                        int levels) {
        List<String> types = c.stringList(key, fallback);
        if (types.size() != levels) {
            throw new IllegalArgumentException(c.source() + ": '" + key + "' has " + types.size()
                    + " entries but block_out_channels has " + levels);
        }
        for (int i = 0; i < types.size(); i++) {
            if (!types.get(i).equals(supported)) {
                throw new IllegalArgumentException(c.source() + ": " + key + "[" + i + "] = '" + types.get(i)
                        + "' is not supported; the SD v1.x VAE uses only " + supported);
            }
        }
    }

    /** Number of resolution levels (4 in SD). */
    public int levels() {
        return blockOutChannels.size();
    }

    /** How much smaller the latent is than the image per side: 2^(levels − 1) (8 in SD). */
    public int downsampleFactor() {
        return 1 << (levels() - 1);
    }
}
