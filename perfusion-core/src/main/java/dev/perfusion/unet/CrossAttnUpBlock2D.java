package dev.perfusion.unet;

import dev.perfusion.tensor.Backend;

/**
 * diffusers' {@code CrossAttnUpBlock2D}: per layer, concatenate a skip connection, {@code resnets.i}, then
 * {@code attentions.i} (a {@link Transformer2DModel} with {@code heads} heads of size out/heads); then (except on
 * the last level) {@code upsamplers.0}. See {@link UNetUpBlock}.
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/unets/unet_2d_blocks.py}, class {@code CrossAttnUpBlock2D}.
 */
public final class CrossAttnUpBlock2D extends UNetUpBlock {
    /**
     * @param inChannels          channels of the last skip consumed
     * @param prevOutputChannels  channels of the hidden state entering the block
     * @param outChannels         channels of every resnet and attention output
     * @param tembChannels        width of the time embedding
     * @param numLayers           resnet/attention pairs (layers_per_block + 1)
     * @param transformerLayers   transformer blocks inside each attention (1 in SD)
     * @param heads               attention heads
     * @param crossAttentionDim   width of the encoder hidden states
     * @param groups              GroupNorm groups
     * @param eps                 GroupNorm eps of the resnets
     * @param addUpsample         whether to end with an upsampler
     * @param useLinearProjection Linear proj_in/proj_out (SD 2.x) instead of 1×1 convs
     */
    public CrossAttnUpBlock2D(Backend backend, int inChannels, int prevOutputChannels, int outChannels,
                              int tembChannels, int numLayers, int transformerLayers, int heads, int crossAttentionDim,
                              int groups, float eps, boolean addUpsample, boolean useLinearProjection) {
        super(backend, inChannels, prevOutputChannels, outChannels, tembChannels, numLayers, groups, eps, addUpsample,
                (be, channels) -> new Transformer2DModel(be, heads, CrossAttnDownBlock2D.headDim(channels, heads),
                        channels, transformerLayers, crossAttentionDim, groups, useLinearProjection));
    }
}
