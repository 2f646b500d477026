package dev.perfusion.unet;

import dev.perfusion.tensor.Backend;

/**
 * diffusers' {@code CrossAttnDownBlock2D}: pairs ({@code resnets.i}, {@code attentions.i}) where each attention is a
 * {@link Transformer2DModel} with {@code heads} heads of size out/heads, then (except on the last level)
 * {@code downsamplers.0}. See {@link UNetDownBlock} for the forward pass.
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/unets/unet_2d_blocks.py}, class
 * {@code CrossAttnDownBlock2D} ({@code Transformer2DModel(num_attention_heads, out_channels // num_attention_heads,
 * in_channels=out_channels, num_layers=transformer_layers_per_block[i], …)}).
 */
public final class CrossAttnDownBlock2D extends UNetDownBlock {
    /**
     * @param inChannels          channels entering the block
     * @param outChannels         channels of every resnet and attention output
     * @param tembChannels        width of the time embedding
     * @param numLayers           resnet/attention pairs (layers_per_block)
     * @param transformerLayers   transformer blocks inside each attention (1 in SD)
     * @param heads               attention heads (SD v1.x config's legacy "attention_head_dim")
     * @param crossAttentionDim   width of the encoder hidden states
     * @param groups              GroupNorm groups
     * @param eps                 GroupNorm eps of the resnets
     * @param addDownsample       whether to end with a downsampler
     * @param downsamplePadding   1 in SD
     * @param useLinearProjection Linear proj_in/proj_out (SD 2.x) instead of 1×1 convs
     */
    public CrossAttnDownBlock2D(Backend backend, int inChannels, int outChannels, int tembChannels, int numLayers,
                                int transformerLayers, int heads, int crossAttentionDim, int groups, float eps,
                                boolean addDownsample, int downsamplePadding, boolean useLinearProjection) {
        super(backend, inChannels, outChannels, tembChannels, numLayers, groups, eps, addDownsample, downsamplePadding,
                (be, channels) -> new Transformer2DModel(be, heads, headDim(channels, heads), channels,
                        transformerLayers, crossAttentionDim, groups, useLinearProjection));
    }

    static int headDim(int channels, int heads) {
        if (heads <= 0 || channels % heads != 0) {
            throw new IllegalArgumentException("cannot split " + channels + " channels into " + heads
                    + " attention heads (channels must be a multiple of the head count)");
        }
        return channels / heads;
    }
}
