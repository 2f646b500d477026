package dev.perfusion.perfusion;

import static dev.perfusion.perfusion.PerfusionTesting.projector;
import static dev.perfusion.perfusion.PerfusionTesting.randomSpd;
import static dev.perfusion.perfusion.PerfusionTesting.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.nn.Attention;
import dev.perfusion.nn.AttentionProcessor;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.unet.CrossAttentionLayer;
import dev.perfusion.unet.UNet2DConditionModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link PerfusionAttnProcessor} and {@link PerfusionInstallation}: wiring of the edit into attn2. */
@Tag("unit")
class PerfusionAttnProcessorTest {
    private static final int C = 8;   // query width
    private static final int D = 6;   // text width
    private static final int HEADS = 2;
    private static final int DH = 3;  // inner = 6
    private static final int B = 2;
    private static final int N = 5;   // query tokens
    private static final int M = 4;   // text tokens

    private final Backend be = new ReferenceBackend();

    /**
     * K and V formed in double on the host from the definitions (h = W(e − Pe) + Σ_c g_c o*_c, method §3), then the
     * same attention as AttnProcessor: the processor must agree, for local and global key-locking.
     */
    @Test
    void theProcessorProjectsKeysAndValuesThroughTheEdit() {
        float[] cInv = randomSpd(21, D);
        List<float[]> iStars = List.of(HostRandom.normal(22, D), HostRandom.normal(23, D));
        float[] betas = {0.7f, 0.6f};
        float[] taus = {0.15f, 0.2f};
        float[] e = HostRandom.normal(24, B * M * D);
        float[] eSuper = HostRandom.normal(25, B * M * D);
        float[] oK = HostRandom.normal(26, 2 * HEADS * DH);
        float[] oV = HostRandom.normal(27, 2 * HEADS * DH);
        for (boolean global : new boolean[] {false, true}) {
            try (TensorScope scope = TensorScope.open(); Attention attn = new Attention(be, C, D, HEADS, DH);
                 KeyLockedEdit edit = KeyLockedEdit.of(be, cInv, D, iStars, betas, taus)) {
                attn.initialize(3);
                Tensor text = be.fromArray(e, Shape.of(B, M, D));
                Tensor h = be.fromArray(HostRandom.normal(28, B * N * C), Shape.of(B, N, C));
                EditContext ctx = global ? EditContext.global(edit, text, be.fromArray(eSuper, Shape.of(B, M, D)))
                        : EditContext.local(edit, text);
                Tensor kt = be.fromArray(oK, Shape.of(2, HEADS * DH));
                Tensor vt = be.fromArray(oV, Shape.of(2, HEADS * DH));
                attn.setProcessor(new PerfusionAttnProcessor(() -> ctx, kt, vt));
                float[] got = attn.forward(h, text, null).toFloatArray();

                float[] wk = attn.toK().weight().value().toFloatArray();
                float[] wv = attn.toV().weight().value().toFloatArray();
                float[] kRef = reference(global ? eSuper : e, wk, oK, cInv, iStars, betas, taus);
                float[] vRef = reference(e, wv, oV, cInv, iStars, betas, taus);
                AttentionProcessor manual = (a, hs, enc, mask) -> {
                    Tensor q = a.toQ().forward(hs);
                    Tensor k = be.fromArray(kRef, Shape.of(B, M, HEADS * DH));
                    Tensor v = be.fromArray(vRef, Shape.of(B, M, HEADS * DH));
                    Tensor o = Ops.attention(a.splitHeads(q), a.splitHeads(k), a.splitHeads(v), mask, false, a.scale());
                    return a.toOut().forward(a.mergeHeads(o));
                };
                attn.setProcessor(manual);
                float[] expected = attn.forward(h, text, null).toFloatArray();
                new Tolerance(1e-5, 1e-5).assertClose((global ? "global" : "local") + " attn2 output",
                        Shape.of(B, N, C), expected, got);
            }
        }
    }

    /** h = W(e − Pe) + Σ_c σ((s_c − β_c)/τ_c)·o*_c per token, in double. */
    private static float[] reference(float[] e, float[] w, float[] o, float[] cInv, List<float[]> iStars, float[] betas,
                                     float[] taus) {
        int n = iStars.size();
        int d = w.length / D;
        double[][] is = iStars.stream().map(PerfusionTesting::toDouble).toArray(double[][]::new);
        double[] p = projector(toDouble(cInv), is, D);
        double[] wd = toDouble(w);
        float[] out = new float[e.length / D * d];
        for (int t = 0; t < e.length / D; t++) {
            double[] tok = toDouble(java.util.Arrays.copyOfRange(e, t * D, (t + 1) * D));
            double[] pe = PerfusionTesting.times(p, tok, D, D);
            double[] orth = new double[D];
            for (int k = 0; k < D; k++) {
                orth[k] = tok[k] - pe[k];
            }
            double[] hRow = PerfusionTesting.times(wd, orth, d, D);
            for (int c = 0; c < n; c++) {
                double[] ci = PerfusionTesting.times(toDouble(cInv), is[c], D, D);
                double num = 0;
                double en = 0;
                for (int k = 0; k < D; k++) {
                    num += tok[k] * ci[k];
                    en += is[c][k] * ci[k];
                }
                double gate = 1 / (1 + Math.exp(-(num / en - betas[c]) / taus[c]));
                for (int r = 0; r < d; r++) {
                    hRow[r] += gate * o[c * d + r];
                }
            }
            for (int r = 0; r < d; r++) {
                out[t * d + r] = (float) hRow[r];
            }
        }
        return out;
    }

    /**
     * Installing on the tiny SD v1.5-shaped UNet replaces every attn2's processor (and nothing else), changes the
     * output, and closing restores the previous processors: the output is then bit-identical to the plain one.
     */
    @Test
    void installingOnAUNetEditsEveryAttn2AndClosingRestoresIt() throws Exception {
        Backend nd = new Nd4jBackend();
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             UNet2DConditionModel unet = UNet2DConditionModel.load(Path.of("src/test/resources/golden/tiny-sd15/unet"), nd)) {
            List<CrossAttentionLayer> layers = unet.crossAttentionLayers();
            int d = unet.config().crossAttentionDim();
            Tensor sample = nd.fromArray(HostRandom.normal(31, 2 * 4 * 8 * 8), Shape.of(2, 4, 8, 8));
            Tensor t = nd.fromArray(new long[] {500}, Shape.of());
            Tensor text = nd.fromArray(HostRandom.normal(32, 2 * 77 * d), Shape.of(2, 77, d));
            float[] plain = unet.forward(sample, t, text).toFloatArray();
            List<AttentionProcessor> before = new ArrayList<>();
            layers.forEach(l -> before.add(l.attention().processor()));

            Concept concept = randomConcept(layers, d);
            float[] cInv = randomSpd(33, d);
            try (KeyLockedEdit edit = KeyLockedEdit.of(nd, cInv, d, List.of(concept.iStar()), new float[] {0.7f},
                    new float[] {0.15f}); EditContext ctx = EditContext.local(edit, text);
                 PerfusionInstallation inst = PerfusionInstallation.install(unet, List.of(concept), ctx)) {
                for (CrossAttentionLayer l : layers) {
                    assertTrue(l.attention().processor() instanceof PerfusionAttnProcessor, l.path());
                }
                float[] edited = unet.forward(sample, t, text).toFloatArray();
                assertFalse(java.util.Arrays.equals(plain, edited), "the edit must change the UNet output");
                // a context for another batch size is refused with a clear error
                Tensor one = nd.fromArray(HostRandom.normal(34, 77 * d), Shape.of(1, 77, d));
                try (EditContext small = EditContext.local(edit, one)) {
                    inst.setContext(small);
                    assertThrows(IllegalArgumentException.class, () -> unet.forward(sample, t, text));
                    inst.setContext(ctx);
                }
            }
            for (int i = 0; i < layers.size(); i++) {
                assertSame(before.get(i), layers.get(i).attention().processor(), "restored processor of " + layers.get(i).path());
            }
            assertArrayEquals(plain, unet.forward(sample, t, text).toFloatArray(), "after close the UNet is plain again");

            // a concept for other layers is refused before anything is installed
            List<ConceptLayer> wrong = new ArrayList<>(Concept.layersOf(layers));
            wrong.set(0, new ConceptLayer(wrong.get(0).path(), wrong.get(0).width() * 2));
            int sum = wrong.stream().mapToInt(ConceptLayer::width).sum();
            Concept bad = new Concept("<x>", "dog", new float[d], new float[d], new float[sum], new float[sum], 0.7f, 0.15f,
                    wrong, "", "", "{}");
            assertThrows(IllegalArgumentException.class, () -> PerfusionInstallation.install(unet, List.of(bad), null));
            for (int i = 0; i < layers.size(); i++) {
                assertSame(before.get(i), layers.get(i).attention().processor());
            }
        }
    }

    static Concept randomConcept(List<CrossAttentionLayer> layers, int d) {
        List<ConceptLayer> cl = Concept.layersOf(layers);
        int sum = cl.stream().mapToInt(ConceptLayer::width).sum();
        return new Concept("<teddy>", "teddy", HostRandom.normal(41, d), HostRandom.normal(42, d),
                HostRandom.normal(43, sum), HostRandom.normal(44, sum), 0.7f, 0.15f, cl, "sha256:00", "sha256:11", "{}");
    }
}
