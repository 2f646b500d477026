package dev.perfusion.unet;

import dev.perfusion.tensor.Backend;

/**
 * diffusers' {@code UpBlock2D}: {@code resnets.0 … resnets.(layers−1)}, each after concatenating one skip
 * connection, and (except on the last level) {@code upsamplers.0}; no attention. See {@link UNetUpBlock}.
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/unets/unet_2d_blocks.py}, class {@code UpBlock2D}.
 */
public final class UpBlock2D extends UNetUpBlock {
    /**
     * @param inChannels         channels of the last skip consumed
     * @param prevOutputChannels channels of the hidden state entering the block
     * @param outChannels        channels of every resnet output
     * @param tembChannels       width of the time embedding
     * @param numLayers          resnets (layers_per_block + 1)
     * @param groups             GroupNorm groups
     * @param eps                GroupNorm eps
     * @param addUpsample        whether to end with an upsampler
     */
    public UpBlock2D(Backend backend, int inChannels, int prevOutputChannels, int outChannels, int tembChannels,
                     int numLayers, int groups, float eps, boolean addUpsample) {
        super(backend, inChannels, prevOutputChannels, outChannels, tembChannels, numLayers, groups, eps, addUpsample,
                null);
    }
}
