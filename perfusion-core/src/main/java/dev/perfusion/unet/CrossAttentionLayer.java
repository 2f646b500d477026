package dev.perfusion.unet;

import dev.perfusion.nn.Attention;

/**
 * One cross-attention ({@code attn2}) block of a UNet with its dotted path relative to the UNet, e.g.
 * {@code down_blocks.0.attentions.0.transformer_blocks.0.attn2}. Perfusion installs its processor on each and
 * stores per-layer data in the order {@link UNet2DConditionModel#crossAttentionLayers()} lists them.
 *
 * @param path      dotted path of the Attention module (its parameters are {@code path + ".to_k.weight"} …)
 * @param attention the module
 */
public record CrossAttentionLayer(String path, Attention attention) {
    /** Output width of the layer's to_k and to_v (heads·dimHead; 320/640/1280 in SD v1.5). */
    public int width() {
        return attention.innerDim();
    }
}
