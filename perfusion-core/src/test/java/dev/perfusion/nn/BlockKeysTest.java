package dev.perfusion.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Parameter keys and shapes of every block, exactly as in diffusers' state dicts for SD v1.5. */
@Tag("unit")
class BlockKeysTest {
    private final Backend be = new ReferenceBackend();

    /** key → shape, in registration order. */
    private static Map<String, Shape> keys(Module m) {
        Map<String, Shape> out = new LinkedHashMap<>();
        m.namedParameters().forEach((k, p) -> out.put(k, p.shape()));
        return out;
    }

    private static Map<String, Shape> expected(Object... keyAndDims) {
        Map<String, Shape> out = new LinkedHashMap<>();
        for (int i = 0; i < keyAndDims.length; i += 2) {
            out.put((String) keyAndDims[i], Shape.of((int[]) keyAndDims[i + 1]));
        }
        return out;
    }

    private static int[] d(int... dims) {
        return dims;
    }

    /** Compares keys in order (so the map order is part of the contract) and shapes. */
    private static void assertKeys(Map<String, Shape> expected, Module m) {
        Map<String, Shape> actual = keys(m);
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(actual.keySet()), "keys");
        assertEquals(expected, actual, "shapes");
    }

    @Test
    void crossAttentionAsInTheUnet() {
        // down_blocks.0.attentions.0.transformer_blocks.0.attn2 of SD v1.5
        try (Attention a = new Attention(be, 320, 768, 8, 40)) {
            assertKeys(expected(
                    "to_q.weight", d(320, 320),
                    "to_k.weight", d(320, 768),
                    "to_v.weight", d(320, 768),
                    "to_out.0.weight", d(320, 320),
                    "to_out.0.bias", d(320)), a);
            assertTrue(a.isCrossAttention());
            assertEquals(320, a.innerDim());
            assertEquals(1 / Math.sqrt(40), a.scale(), 1e-7);
            assertEquals(List.of("to_q", "to_k", "to_v", "to_out.0"), List.copyOf(a.namedModules().keySet()));
        }
    }

    @Test
    void selfAttentionProjectsKeysFromTheQueryWidth() {
        for (Integer none : new Integer[] {null, 0}) {
            try (Attention a = new Attention(be, 640, none, 8, 80)) {
                assertKeys(expected(
                        "to_q.weight", d(640, 640),
                        "to_k.weight", d(640, 640),
                        "to_v.weight", d(640, 640),
                        "to_out.0.weight", d(640, 640),
                        "to_out.0.bias", d(640)), a);
                assertFalse(a.isCrossAttention());
                assertEquals(640, a.crossAttentionDim());
            }
        }
    }

    @Test
    void attentionBiasFlags() {
        try (Attention a = new Attention(be, 16, 12, 2, 4, true, false)) {
            assertKeys(expected(
                    "to_q.weight", d(8, 16), "to_q.bias", d(8),
                    "to_k.weight", d(8, 12), "to_k.bias", d(8),
                    "to_v.weight", d(8, 12), "to_v.bias", d(8),
                    "to_out.0.weight", d(16, 8)), a);
        }
    }

    @Test
    void feedForwardWithGeglu() {
        try (FeedForward ff = new FeedForward(be, 320)) {
            assertKeys(expected(
                    "net.0.proj.weight", d(2560, 320),
                    "net.0.proj.bias", d(2560),
                    "net.2.weight", d(320, 1280),
                    "net.2.bias", d(320)), ff);
            assertEquals(1280, ff.innerDim());
        }
        try (FeedForward ff = new FeedForward(be, 8, 2, 5)) {
            assertKeys(expected(
                    "net.0.proj.weight", d(32, 8),
                    "net.0.proj.bias", d(32),
                    "net.2.weight", d(5, 16),
                    "net.2.bias", d(5)), ff);
        }
    }

    @Test
    void geglu() {
        try (GEGLU g = new GEGLU(be, 320, 1280)) {
            assertKeys(expected("proj.weight", d(2560, 320), "proj.bias", d(2560)), g);
        }
    }

    @Test
    void linear() {
        try (Linear l = new Linear(be, 768, 320, true); Linear n = new Linear(be, 768, 320, false)) {
            assertKeys(expected("weight", d(320, 768), "bias", d(320)), l);
            assertKeys(expected("weight", d(320, 768)), n);
            assertSame(null, n.bias());
        }
    }

    @Test
    void conv2d() {
        // conv_in of the SD v1.5 UNet
        try (Conv2d c = new Conv2d(be, 4, 320, 3, 1, 1, true); Conv2d n = new Conv2d(be, 320, 320, 1, 1, 0, false)) {
            assertKeys(expected("weight", d(320, 4, 3, 3), "bias", d(320)), c);
            assertKeys(expected("weight", d(320, 320, 1, 1)), n);
        }
    }

    @Test
    void norms() {
        try (GroupNorm g = new GroupNorm(be, 32, 320, 1e-5f, true);
             GroupNorm plain = new GroupNorm(be, 32, 320, 1e-5f, false);
             LayerNorm l = new LayerNorm(be, 768, 1e-5f, true);
             LayerNorm lPlain = new LayerNorm(be, 768, 1e-5f, false)) {
            assertKeys(expected("weight", d(320), "bias", d(320)), g);
            assertKeys(expected(), plain);
            assertKeys(expected("weight", d(768), "bias", d(768)), l);
            assertKeys(expected(), lPlain);
        }
    }

    @Test
    void embedding() {
        // text_model.embeddings.position_embedding of CLIP ViT-L/14
        try (Embedding e = new Embedding(be, 77, 768)) {
            assertKeys(expected("weight", d(77, 768)), e);
        }
    }

    /** A transformer-block-like container: nested keys are the dotted paths diffusers uses. */
    private static final class Block extends Module {
        Block(Backend be) {
            super(be);
            registerModule("norm1", new LayerNorm(be, 8, 1e-5f, true));
            registerModule("attn1", new Attention(be, 8, null, 2, 4));
            registerModule("attn2", new Attention(be, 8, 6, 2, 4));
            registerModule("ff", new FeedForward(be, 8));
        }
    }

    @Test
    void nestedModulesGiveDottedPaths() {
        try (Block b = new Block(be)) {
            Map<String, Shape> k = keys(b);
            assertEquals(List.of("norm1.weight", "norm1.bias",
                    "attn1.to_q.weight", "attn1.to_k.weight", "attn1.to_v.weight", "attn1.to_out.0.weight", "attn1.to_out.0.bias",
                    "attn2.to_q.weight", "attn2.to_k.weight", "attn2.to_v.weight", "attn2.to_out.0.weight", "attn2.to_out.0.bias",
                    "ff.net.0.proj.weight", "ff.net.0.proj.bias", "ff.net.2.weight", "ff.net.2.bias"),
                    List.copyOf(k.keySet()));
            assertEquals(Shape.of(8, 6), k.get("attn2.to_k.weight"));
            assertTrue(b.namedModules().get("attn2") instanceof Attention);
            assertEquals(List.of("norm1", "attn1", "attn2", "ff"), List.copyOf(b.namedChildren().keySet()));
            assertEquals(b.parameters().size(), k.size());
        }
    }
}
