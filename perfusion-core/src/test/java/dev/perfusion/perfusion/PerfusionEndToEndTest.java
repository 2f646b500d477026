package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTextOutput;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.unet.CrossAttentionLayer;
import dev.perfusion.unet.UNet2DConditionModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pieces together on the tiny SD v1.5-shaped model: covariance file → concept file with the model's
 * fingerprints → load with the model's requirements → edit → installed UNet. The concept is made as training
 * initialises one (method §2.3): i* = the super-class word's encoding, o*_K = o*_V = W·i*.
 */
@Tag("unit")
class PerfusionEndToEndTest {
    private static final Path TINY = Path.of("src/test/resources/golden/tiny-sd15");

    @TempDir
    Path dir;

    @Test
    void aConceptFileDrivesTheInstalledEdit() throws Exception {
        Backend be = new Nd4jBackend();
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             CLIPTextModel te = CLIPTextModel.load(TINY.resolve("text_encoder"), be);
             UNet2DConditionModel unet = UNet2DConditionModel.load(TINY.resolve("unet"), be)) {
            CLIPTokenizer tok = CLIPTokenizer.fromFolder(TINY.resolve("tokenizer"));
            int d = te.config().hiddenSize();
            String base = Fingerprints.baseModel(te, unet);

            Covariance cov = Covariance.estimate(te, tok, Files.readAllLines(Path.of("src/test/resources/data/partiprompts-300.txt")),
                    64, null);
            Path covFile = dir.resolve("c_inv.safetensors");
            cov.write(covFile, base, "partiprompts-300", 0);
            Covariance.InverseFile cInv = Covariance.read(covFile);

            // i* = encoding of "teddy" in "a photo of a teddy" (BOS + 4 words: position 5), as training starts
            int[] ids = tok.encode("a photo of a teddy");
            assertEquals(tok.tokenId("teddy</w>"), ids[5]);
            float[] iStar;
            try (Tensor idT = be.fromArray(toLong(ids), Shape.of(1, 77)); CLIPTextOutput out = te.forward(idT)) {
                float[] all = out.lastHiddenState().toFloatArray();
                iStar = java.util.Arrays.copyOfRange(all, 5 * d, 6 * d);
            }
            List<CrossAttentionLayer> layers = unet.crossAttentionLayers();
            int sum = layers.stream().mapToInt(CrossAttentionLayer::width).sum();
            float[] keys = new float[sum];
            float[] values = new float[sum];
            int off = 0;
            for (CrossAttentionLayer l : layers) {
                float[] wk = l.attention().toK().weight().value().toFloatArray();
                float[] wv = l.attention().toV().weight().value().toFloatArray();
                for (int r = 0; r < l.width(); r++) {
                    double k = 0;
                    double v = 0;
                    for (int c = 0; c < d; c++) {
                        k += wk[r * d + c] * iStar[c];
                        v += wv[r * d + c] * iStar[c];
                    }
                    keys[off + r] = (float) k;
                    values[off + r] = (float) v;
                }
                off += l.width();
            }
            Concept made = new Concept("<teddy>", "teddy", HostRandom.normal(5, d), iStar, keys, values, 0.7f, 0.15f,
                    Concept.layersOf(layers), base, cInv.fingerprint(), "{}");
            Path file = dir.resolve("teddy.perfusion");
            ConceptFile.write(file, made);

            Concept concept = ConceptFile.load(file, ConceptFile.Requirements.of(te, unet, tok, cInv.fingerprint(), false));
            assertThrows(IllegalArgumentException.class, () -> ConceptFile.load(file,
                    ConceptFile.Requirements.of(te, unet, tok, Fingerprints.covariance(new float[] {1f}), false)));

            Tensor text;
            try (Tensor idT = be.fromArray(toLong(ids), Shape.of(1, 77)); CLIPTextOutput out = te.forward(idT)) {
                text = TensorScope.detach(dev.perfusion.autograd.Ops.detach(out.lastHiddenState())); // [1, 77, d]
            }
            Tensor sample = be.fromArray(HostRandom.normal(6, 4 * 8 * 8), Shape.of(1, 4, 8, 8));
            Tensor t = be.fromArray(new long[] {400}, Shape.of());
            float[] plain = unet.forward(sample, t, text).toFloatArray();
            try (KeyLockedEdit edit = KeyLockedEdit.forConcepts(be, cInv.cInv(), List.of(concept), null, null);
                 EditContext ctx = EditContext.local(edit, text);
                 PerfusionInstallation inst = PerfusionInstallation.install(unet, List.of(concept), ctx)) {
                float[] s = ctx.values().scores().toFloatArray();
                assertEquals(1.0, s[5], 1e-4, "s(i*) at the concept's own position");
                float[] edited = unet.forward(sample, t, text).toFloatArray();
                for (float v : edited) {
                    assertTrue(Float.isFinite(v));
                }
                assertFalse(java.util.Arrays.equals(plain, edited));
            }
        }
    }

    private static long[] toLong(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return l;
    }
}
