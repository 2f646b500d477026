package dev.perfusion.perfusion;

/**
 * One edited cross-attention layer as a concept file records it: its dotted path in the UNet
 * ({@code down_blocks.0.attentions.0.transformer_blocks.0.attn2}) and the width d of its to_k/to_v outputs.
 */
public record ConceptLayer(String path, int width) {
    public ConceptLayer {
        if (path == null || path.isEmpty() || width <= 0) {
            throw new IllegalArgumentException("bad concept layer: path '" + path + "', width " + width);
        }
    }
}
