package dev.perfusion.perfusion;

import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.CrossAttentionLayer;
import dev.perfusion.unet.UNet2DConditionModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Fingerprints that tie concept files to the model and covariance they were made with (DESIGN §4). Both are
 * {@code "sha256:" + hex(SHA-256(bytes))} over float32 little-endian, row-major bytes, so any tool can compute them:
 * <ul>
 *   <li>{@link #baseModel}: {@code text_model.embeddings.token_embedding.weight}, then each {@code attn2}'s
 *       {@code to_k.weight} and {@code to_v.weight} in UNet run order (half-precision weights widened to float32
 *       first) — exactly what a concept depends on;</li>
 *   <li>{@link #covariance}: C⁻¹'s values.</li>
 * </ul>
 */
public final class Fingerprints {
    /** Prefix of every fingerprint. */
    public static final String PREFIX = "sha256:";

    private Fingerprints() {
    }

    /** The base-model fingerprint of a text encoder and UNet. */
    public static String baseModel(CLIPTextModel textEncoder, UNet2DConditionModel unet) {
        MessageDigest md = sha256();
        update(md, textEncoder.tokenEmbedding().weight());
        for (CrossAttentionLayer l : unet.crossAttentionLayers()) {
            update(md, l.attention().toK().weight());
            update(md, l.attention().toV().weight());
        }
        return PREFIX + HexFormat.of().formatHex(md.digest());
    }

    /** The covariance fingerprint of C⁻¹ (float32 values, row-major). */
    public static String covariance(float[] cInv) {
        MessageDigest md = sha256();
        update(md, cInv);
        return PREFIX + HexFormat.of().formatHex(md.digest());
    }

    private static void update(MessageDigest md, Parameter p) {
        Tensor w = p.compute(); // FLOAT32 (widened copy when stored as half)
        try {
            update(md, w.toFloatArray());
        } finally {
            if (Parameter.temporary(p, w) != null) {
                w.close();
            }
        }
    }

    private static void update(MessageDigest md, float[] v) {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            if (!buf.hasRemaining()) {
                buf.flip();
                md.update(buf);
                buf.clear();
            }
            buf.putFloat(f);
        }
        buf.flip();
        md.update(buf);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }
}
