package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.JsonReader;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.UNet2DConditionModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ConceptFile}, {@link Concept} and {@link Fingerprints} (DESIGN §4). */
@Tag("unit")
class ConceptFileTest {
    private static final Path TINY = Path.of("src/test/resources/golden/tiny-sd15");
    /** SD v1.5's attn2 layers in run order (method §1.1). */
    private static final int[] SD15_WIDTHS = {320, 320, 640, 640, 1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640,
        320, 320, 320};

    @TempDir
    Path dir;

    private static List<ConceptLayer> sd15Layers() {
        String[] paths = {"down_blocks.0.attentions.0", "down_blocks.0.attentions.1", "down_blocks.1.attentions.0",
            "down_blocks.1.attentions.1", "down_blocks.2.attentions.0", "down_blocks.2.attentions.1",
            "mid_block.attentions.0", "up_blocks.1.attentions.0", "up_blocks.1.attentions.1", "up_blocks.1.attentions.2",
            "up_blocks.2.attentions.0", "up_blocks.2.attentions.1", "up_blocks.2.attentions.2", "up_blocks.3.attentions.0",
            "up_blocks.3.attentions.1", "up_blocks.3.attentions.2"};
        List<ConceptLayer> out = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            out.add(new ConceptLayer(paths[i] + ".transformer_blocks.0.attn2", SD15_WIDTHS[i]));
        }
        return out;
    }

    private static Concept concept(List<ConceptLayer> layers, int d, String placeholder, String superclass) {
        int sum = layers.stream().mapToInt(ConceptLayer::width).sum();
        return new Concept(placeholder, superclass, HostRandom.normal(1, d), HostRandom.normal(2, d),
                HostRandom.normal(3, sum), HostRandom.normal(4, sum), 0.7f, 0.15f, layers, "sha256:aa", "sha256:bb",
                "{\"steps\":400,\"lr\":[0.006,0.03]}");
    }

    @Test
    void anSd15ConceptRoundTripsAndFitsInTheBudget() throws Exception {
        List<ConceptLayer> layers = sd15Layers();
        int sum = layers.stream().mapToInt(ConceptLayer::width).sum();
        assertEquals(12_480, sum, "Σd of SD v1.5 (method §1.1)");
        assertEquals(105_984, ConceptFile.tensorBytes(768, sum), "tensor bytes (method §4)");
        Concept c = concept(layers, 768, "<teddy>", "teddy");
        Path f = dir.resolve("teddy.perfusion");
        ConceptFile.write(f, c);
        long size = Files.size(f);
        System.out.println("SD v1.5 concept file: " + size + " bytes (tensors 105,984)");
        assertTrue(size <= 110_000, "concept file is " + size + " bytes");

        Concept r = ConceptFile.read(f);
        assertEquals(c.placeholder(), r.placeholder());
        assertEquals(c.superclass(), r.superclass());
        assertArrayEquals(c.embedding(), r.embedding());
        assertArrayEquals(c.iStar(), r.iStar());
        assertArrayEquals(c.keys(), r.keys());
        assertArrayEquals(c.values(), r.values());
        assertEquals(0.7f, r.beta());
        assertEquals(0.15f, r.tau());
        assertEquals(layers, r.layers());
        assertEquals("sha256:aa", r.baseModel());
        assertEquals("sha256:bb", r.covariance());
        assertEquals(c.training(), r.training());
        assertArrayEquals(java.util.Arrays.copyOfRange(c.values(), 320 + 320 + 640 + 640, 320 + 320 + 640 + 640 + 1280),
                r.values(4), "layer 4's slice");
        try (SafeTensors st = SafeTensors.open(f)) {
            Map<String, String> m = st.metadata();
            assertEquals("perfusion-concept", m.get("format"));
            assertEquals("1", m.get("format_version"));
            assertEquals("0.7", m.get("beta"));
            List<?> lj = (List<?>) JsonReader.parse(m.get("layers"));
            assertEquals("down_blocks.0.attentions.0.transformer_blocks.0.attn2", ((Map<?, ?>) lj.get(0)).get("path"));
            assertEquals(1280L, ((Map<?, ?>) lj.get(6)).get("width"));
            assertEquals(List.of("embedding", "i_star", "keys", "values"), st.names().stream().sorted().toList());
        }
    }

    @Test
    void loadingChecksTheModelFingerprintsAndTokens() throws Exception {
        CLIPTokenizer tok = CLIPTokenizer.fromFolder(TINY.resolve("tokenizer"));
        List<ConceptLayer> layers = sd15Layers();
        Path f = dir.resolve("c.perfusion");
        ConceptFile.write(f, concept(layers, 768, "<teddy>", "teddy"));
        ConceptFile.Requirements ok = new ConceptFile.Requirements(layers, 768, "sha256:aa", "sha256:bb", tok, false);
        assertEquals("<teddy>", ConceptFile.load(f, ok).placeholder());

        fails(f, new ConceptFile.Requirements(layers, 768, "sha256:other", "sha256:bb", tok, false), "base model");
        fails(f, new ConceptFile.Requirements(layers, 768, "sha256:aa", "sha256:other", tok, false), "covariance");
        // the explicit override accepts a fingerprint mismatch
        ConceptFile.load(f, new ConceptFile.Requirements(layers, 768, "sha256:x", "sha256:y", tok, true));
        fails(f, new ConceptFile.Requirements(layers, 1024, "sha256:aa", "sha256:bb", tok, false), "text width");
        List<ConceptLayer> other = new ArrayList<>(layers);
        other.set(3, new ConceptLayer(other.get(3).path(), 1280));
        fails(f, new ConceptFile.Requirements(other, 768, "sha256:aa", "sha256:bb", tok, false), "layer 3");

        Path word = dir.resolve("word.perfusion");
        ConceptFile.write(word, concept(layers, 768, "dog", "dog"));
        fails(word, ok, "vocabulary word");
        Path sks = dir.resolve("sks.perfusion");
        ConceptFile.write(sks, concept(layers, 768, "sks", "dog"));
        fails(sks, ok, "vocabulary word");
        Path multi = dir.resolve("multi.perfusion");
        ConceptFile.write(multi, concept(layers, 768, "<toy>", "teddy bear"));
        fails(multi, ok, "one-token super-class");
    }

    @Test
    void wrongFormatVersionAndSizesAreRefused() throws Exception {
        Backend be = new ReferenceBackend();
        List<ConceptLayer> layers = List.of(new ConceptLayer("a.attn2", 4), new ConceptLayer("b.attn2", 2));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "perfusion-concept");
        meta.put("format_version", "1");
        meta.put("placeholder", "<x>");
        meta.put("superclass", "cat");
        meta.put("beta", "0.7");
        meta.put("tau", "0.15");
        meta.put("layers", "[{\"path\":\"a.attn2\",\"width\":4},{\"path\":\"b.attn2\",\"width\":2}]");
        Path good = write(be, "good", meta, 3, 3, 6, 6);
        assertEquals(layers, ConceptFile.read(good).layers());

        Map<String, String> badFormat = new LinkedHashMap<>(meta);
        badFormat.put("format", "something-else");
        readFails(write(be, "fmt", badFormat, 3, 3, 6, 6), "not a Perfusion concept file");
        Map<String, String> badVersion = new LinkedHashMap<>(meta);
        badVersion.put("format_version", "2");
        readFails(write(be, "ver", badVersion, 3, 3, 6, 6), "format_version");
        readFails(write(be, "keys", meta, 3, 3, 5, 6), "'keys'");
        readFails(write(be, "istar", meta, 3, 4, 6, 6), "'i_star'");
    }

    @Test
    void theBaseModelFingerprintHashesTokenEmbeddingAndAttn2KeyValueWeights() throws Exception {
        Backend be = new ReferenceBackend();
        try (CLIPTextModel te = CLIPTextModel.load(TINY.resolve("text_encoder"), be);
             UNet2DConditionModel unet = UNet2DConditionModel.load(TINY.resolve("unet"), be)) {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            md.update(le(te.tokenEmbedding().weight().value().toFloatArray()));
            unet.crossAttentionLayers().forEach(l -> {
                md.update(le(l.attention().toK().weight().value().toFloatArray()));
                md.update(le(l.attention().toV().weight().value().toFloatArray()));
            });
            String expected = "sha256:" + HexFormat.of().formatHex(md.digest());
            String fp = Fingerprints.baseModel(te, unet);
            System.out.println("tiny-sd15 base_model fingerprint " + fp);
            assertEquals(expected, fp);
            assertEquals(16, unet.crossAttentionLayers().size());
            // a different weight changes it
            float[] w = unet.crossAttentionLayers().get(15).attention().toV().weight().value().toFloatArray();
            w[0] += 1f;
            unet.crossAttentionLayers().get(15).attention().toV().weight().set(be.fromArray(w,
                    unet.crossAttentionLayers().get(15).attention().toV().weight().shape()));
            assertTrue(!fp.equals(Fingerprints.baseModel(te, unet)));
        }
        assertEquals("sha256:" + HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(le(new float[] {1f, -2f}))), Fingerprints.covariance(new float[] {1f, -2f}));
    }

    private static byte[] le(float[] v) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    private Path write(Backend be, String name, Map<String, String> meta, int emb, int iStar, int keys, int values)
            throws Exception {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("embedding", be.fromArray(new float[emb], Shape.of(emb)));
        t.put("i_star", be.fromArray(new float[iStar], Shape.of(iStar)));
        t.put("keys", be.fromArray(new float[keys], Shape.of(keys)));
        t.put("values", be.fromArray(new float[values], Shape.of(values)));
        Path p = dir.resolve(name + ".perfusion");
        SafeTensors.write(p, t, meta);
        t.values().forEach(Tensor::close);
        return p;
    }

    private static void readFails(Path f, String expectedText) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConceptFile.read(f));
        assertTrue(e.getMessage().contains(expectedText), e.getMessage());
    }

    private static void fails(Path f, ConceptFile.Requirements req, String expectedText) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConceptFile.load(f, req));
        assertTrue(e.getMessage().contains(expectedText), e.getMessage());
    }
}
