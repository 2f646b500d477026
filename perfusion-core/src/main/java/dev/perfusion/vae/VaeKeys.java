package dev.perfusion.vae;

import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Key conversions for VAE checkpoints written with older names.
 *
 * <p>Before diffusers 0.14 the VAE's mid-block attention was an {@code AttentionBlock} whose projections were named
 * {@code query}, {@code key}, {@code value} and {@code proj_attn}; many SD v1.5 VAE files still carry those names.
 * diffusers renames them on load ({@code ModelMixin._convert_deprecated_attention_blocks}):
 * <pre>
 *   …mid_block.attentions.N.query.*      → …mid_block.attentions.N.to_q.*
 *   …mid_block.attentions.N.key.*        → …mid_block.attentions.N.to_k.*
 *   …mid_block.attentions.N.value.*      → …mid_block.attentions.N.to_v.*
 *   …mid_block.attentions.N.proj_attn.*  → …mid_block.attentions.N.to_out.0.*
 * </pre>
 * LDM-derived files store these projections as 1×1 convolutions, weights [C, C, 1, 1]; they are the same
 * matrices as Linear weights [C, C] and are reshaped.
 */
public final class VaeKeys {
    private static final Pattern LEGACY = Pattern.compile(
            "^(.*mid_block\\.attentions\\.\\d+\\.)(query|key|value|proj_attn)\\.(weight|bias)$");
    private static final Pattern PROJECTION_WEIGHT = Pattern.compile(
            "^.*mid_block\\.attentions\\.\\d+\\.(to_q|to_k|to_v|to_out\\.0)\\.weight$");

    private VaeKeys() {
    }

    /**
     * A copy of {@code state} with the mid-block attention's legacy names replaced by diffusers' current ones and its
     * 1×1-convolution weights [C, C, 1, 1] reshaped to [C, C]; every other entry is passed through unchanged, in
     * the original order.
     *
     * <p>Ownership: the returned map holds the given tensors; a reshaped weight replaces its original, which is
     * closed (the reshape may share its memory).
     *
     * @throws IllegalArgumentException when a file has both the old and the new name of one parameter
     */
    public static LinkedHashMap<String, Tensor> renameLegacyAttention(Map<String, Tensor> state) {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            String key = newName(e.getKey());
            if (!key.equals(e.getKey()) && state.containsKey(key)) {
                throw new IllegalArgumentException("state dict has both '" + e.getKey() + "' (legacy name) and '" + key
                        + "'; keep one of them");
            }
            out.put(key, e.getValue());
        }
        for (Map.Entry<String, Tensor> e : out.entrySet()) {
            Tensor t = e.getValue();
            if (PROJECTION_WEIGHT.matcher(e.getKey()).matches() && t.rank() == 4 && t.dim(2) == 1 && t.dim(3) == 1) {
                Tensor linear = t.backend().reshape(t, Shape.of(t.dim(0), t.dim(1))); // [C, C]
                e.setValue(linear);
                t.close();
            }
        }
        return out;
    }

    /** The current name for {@code key}: a legacy attention name renamed, any other key unchanged. */
    public static String newName(String key) {
        Matcher m = LEGACY.matcher(key);
        if (!m.matches()) {
            return key;
        }
        String proj = switch (m.group(2)) {
            case "query" -> "to_q";
            case "key" -> "to_k";
            case "value" -> "to_v";
            default -> "to_out.0";
        };
        return m.group(1) + proj + "." + m.group(3);
    }
}
