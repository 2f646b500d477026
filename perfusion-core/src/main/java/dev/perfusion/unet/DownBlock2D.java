package dev.perfusion.unet;

import dev.perfusion.tensor.Backend;

/**
 * diffusers' {@code DownBlock2D}: {@code resnets.0 … resnets.(layers−1)} and, except on the last level,
 * {@code downsamplers.0} (3×3 stride-2 conv); no attention. See {@link UNetDownBlock} for the forward pass.
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/unets/unet_2d_blocks.py}, class {@code DownBlock2D}
 * (resnet i takes in_channels when i = 0, else out_channels).
 */
public final class DownBlock2D extends UNetDownBlock {
    /**
     * @param inChannels        channels entering the block
     * @param outChannels       channels of every resnet output
     * @param tembChannels      width of the time embedding
     * @param numLayers         resnets (layers_per_block)
     * @param groups            GroupNorm groups
     * @param eps               GroupNorm eps
     * @param addDownsample     whether to end with a downsampler
     * @param downsamplePadding 1 in SD (see {@link Downsample2D})
     */
    public DownBlock2D(Backend backend, int inChannels, int outChannels, int tembChannels, int numLayers, int groups,
                       float eps, boolean addDownsample, int downsamplePadding) {
        super(backend, inChannels, outChannels, tembChannels, numLayers, groups, eps, addDownsample, downsamplePadding,
                null);
    }
}
