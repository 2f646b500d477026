package dev.perfusion.perfusion;

import static dev.perfusion.perfusion.PerfusionTesting.projector;
import static dev.perfusion.perfusion.PerfusionTesting.randomSpd;
import static dev.perfusion.perfusion.PerfusionTesting.relToMax;
import static dev.perfusion.perfusion.PerfusionTesting.toDouble;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The algebra of {@link KeyLockedEdit} against independent double-precision formulas (method §1.2, §3) on random
 * data: D = 16 text width, d = 12 layer width, n ≤ 3 concepts, well-conditioned symmetric C⁻¹. Float32 results
 * are compared relative to the reference's max |value| at 2e-5 (float32 arithmetic over D = 16 terms, a few ulp).
 */
@Tag("unit")
class KeyLockedEditTest {
    private static final int D = 16;
    private static final int OUT = 12;
    private static final int B = 2;
    private static final int M = 5;
    private static final double TOL = 2e-5;

    private final Backend be = new ReferenceBackend();
    private final float[] cInv = randomSpd(11, D);
    private final float[] w = HostRandom.normal(12, OUT * D);            // [d, D]
    private final float[] e = HostRandom.normal(13, B * M * D);          // [B, M, D]

    private static float[] vec(long seed, int n) {
        return HostRandom.normal(seed, n);
    }

    private KeyLockedEdit edit(List<float[]> iStars, float beta, float tau) {
        float[] betas = new float[iStars.size()];
        float[] taus = new float[iStars.size()];
        java.util.Arrays.fill(betas, beta);
        java.util.Arrays.fill(taus, tau);
        return KeyLockedEdit.of(be, cInv, D, iStars, betas, taus);
    }

    private double s(float[] tok, float[] iStar) {
        double[] ci = PerfusionTesting.times(toDouble(cInv), toDouble(iStar), D, D);
        double num = 0;
        double en = 0;
        for (int k = 0; k < D; k++) {
            num += tok[k] * ci[k];
            en += iStar[k] * ci[k];
        }
        return num / en;
    }

    @Test
    void theScoreOfTheTargetInputIsOne() {
        float[] a = vec(1, D);
        float[] b = vec(2, D);
        try (TensorScope scope = TensorScope.open(); KeyLockedEdit ed = edit(List.of(a, b), 0.7f, 0.15f)) {
            float[] both = new float[2 * D];
            System.arraycopy(a, 0, both, 0, D);
            System.arraycopy(b, 0, both, D, D);
            PerfusionEncoding enc = ed.encode(be.fromArray(both, Shape.of(1, 2, D)));
            float[] s = enc.scores().toFloatArray(); // [1, 2, 2]: token t, concept c
            assertEquals(1.0, s[0], 1e-5, "s_a(i*_a)");
            assertEquals(1.0, s[3], 1e-5, "s_b(i*_b)");
            // the gate at s = 1 with β 0.7, τ 0.15: σ(2) (method §1.4 table: 0.881)
            assertEquals(1 / (1 + Math.exp(-2.0)), enc.gates().toFloatArray()[0], 1e-6);
            // and P i*_c = i*_c: nothing of a concept's own target input survives the projection
            float[] orth = enc.orthogonal().toFloatArray();
            for (float v : orth) {
                assertEquals(0, v, 1e-5);
            }
        }
    }

    /**
     * With the gate replaced by s, the single-concept edit is ROME's closed form (method §1.2): h(e) = W'e with
     * W' = W + Λ(C⁻¹i*)ᵀ, Λ = (o* − W i*)/E*. Derivation: W(e − s i*) + s o* = We + s(o* − W i*) and
     * s = (C⁻¹i*)ᵀe / E*, so the added term is ((o* − W i*)/E*)·(C⁻¹i*)ᵀ e.
     */
    @Test
    void withTheGateReplacedByTheScoreItIsRomesRankOneUpdate() {
        float[] iStar = vec(3, D);
        float[] oStar = vec(4, OUT);
        try (TensorScope scope = TensorScope.open(); KeyLockedEdit ed = edit(List.of(iStar), 0.75f, 0.1f)) {
            PerfusionEncoding enc = ed.encode(be.fromArray(e, Shape.of(B, M, D)));
            Tensor h = KeyLockedEdit.project(enc.orthogonal(), be.fromArray(w, Shape.of(OUT, D)), null, enc.scores(),
                    be.fromArray(oStar, Shape.of(1, OUT)));
            double[] wd = toDouble(w);
            double[] ci = PerfusionTesting.times(toDouble(cInv), toDouble(iStar), D, D); // C⁻¹i*
            double energy = 0;
            for (int k = 0; k < D; k++) {
                energy += iStar[k] * ci[k];
            }
            double[] wi = PerfusionTesting.times(wd, toDouble(iStar), OUT, D);
            double[] wPrime = wd.clone();                                                // W + Λ(C⁻¹i*)ᵀ
            for (int r = 0; r < OUT; r++) {
                double lambda = (oStar[r] - wi[r]) / energy;
                for (int k = 0; k < D; k++) {
                    wPrime[r * D + k] += lambda * ci[k];
                }
            }
            double[] expected = new double[B * M * OUT];
            for (int t = 0; t < B * M; t++) {
                double[] tok = new double[D];
                for (int k = 0; k < D; k++) {
                    tok[k] = e[t * D + k];
                }
                System.arraycopy(PerfusionTesting.times(wPrime, tok, OUT, D), 0, expected, t * OUT, OUT);
            }
            double err = relToMax(h.toFloatArray(), expected);
            System.out.printf("ROME form: max |h − W'e| / max|W'e| = %.2e%n", err);
            assertTrue(err < TOL, "ROME rank-one form off by " + err);
        }
    }

    @Test
    void theProjectorIsTheExactRankNOne() {
        List<float[]> iStars = List.of(vec(5, D), vec(6, D), vec(7, D));
        try (TensorScope scope = TensorScope.open(); KeyLockedEdit ed = edit(iStars, 0.7f, 0.15f)) {
            PerfusionEncoding enc = ed.encode(be.fromArray(e, Shape.of(B, M, D)));
            double[][] is = iStars.stream().map(PerfusionTesting::toDouble).toArray(double[][]::new);
            double[] p = projector(toDouble(cInv), is, D);
            double[] expected = new double[B * M * D];
            for (int t = 0; t < B * M; t++) {
                double[] tok = new double[D];
                for (int k = 0; k < D; k++) {
                    tok[k] = e[t * D + k];
                }
                double[] pe = PerfusionTesting.times(p, tok, D, D);
                for (int k = 0; k < D; k++) {
                    expected[t * D + k] = tok[k] - pe[k];
                }
            }
            double err = relToMax(enc.orthogonal().toFloatArray(), expected);
            System.out.printf("projector n=3: max |(e − Pe) − ref| / max = %.2e%n", err);
            assertTrue(err < TOL, "projector off by " + err);
            // scores and gates per concept against the single-concept definitions
            float[] s = enc.scores().toFloatArray();
            float[] g = enc.gates().toFloatArray();
            for (int t = 0; t < B * M; t++) {
                float[] tok = java.util.Arrays.copyOfRange(e, t * D, (t + 1) * D);
                for (int c = 0; c < 3; c++) {
                    double sc = s(tok, iStars.get(c));
                    assertEquals(sc, s[t * 3 + c], 2e-5 * Math.max(1, Math.abs(sc)));
                    assertEquals(1 / (1 + Math.exp(-(sc - 0.7) / 0.15)), g[t * 3 + c], 2e-5);
                }
            }
        }
    }

    /**
     * Adding a concept b whose gate is closed (β_b huge) changes the output only through the projector:
     * h_ab − h_a = −W(P_ab − P_a)e. When i*_b is C⁻¹-orthogonal to i*_a, P_ab = P_a + P_b (the approximate
     * Σ s_c i*_c projection becomes exact), so the change is −s_b(e)·W i*_b, which vanishes on tokens with
     * s_b(e) = 0 — e.g. concept a's own i*.
     */
    @Test
    void aSecondConceptWithAClosedGateOnlyChangesTheProjection() {
        float[] a = vec(8, D);
        float[] b = vec(9, D);
        float[] oA = vec(10, OUT);
        float[] oB = vec(14, OUT);
        try (TensorScope scope = TensorScope.open()) {
            Tensor wt = be.fromArray(w, Shape.of(OUT, D));
            Tensor x = be.fromArray(e, Shape.of(B, M, D));
            float[] ha = output(List.of(a), new float[] {0.7f}, x, wt, oA);
            float[] hab = output(List.of(a, b), new float[] {0.7f, 1e6f}, x, wt, concat(oA, oB));
            double[][] is = {toDouble(a), toDouble(b)};
            double[] pab = projector(toDouble(cInv), is, D);
            double[] pa = projector(toDouble(cInv), new double[][] {toDouble(a)}, D);
            double[] expected = new double[B * M * OUT];
            double[] diff = new double[D * D];
            for (int k = 0; k < diff.length; k++) {
                diff[k] = pab[k] - pa[k];
            }
            double[] wd = toDouble(w);
            for (int t = 0; t < B * M; t++) {
                double[] tok = toDouble(java.util.Arrays.copyOfRange(e, t * D, (t + 1) * D));
                double[] dw = PerfusionTesting.times(wd, PerfusionTesting.times(diff, tok, D, D), OUT, D);
                for (int r = 0; r < OUT; r++) {
                    expected[t * OUT + r] = -dw[r];
                }
            }
            float[] got = new float[ha.length];
            for (int i = 0; i < got.length; i++) {
                got[i] = hab[i] - ha[i];
            }
            double err = relToMax(got, expected);
            System.out.printf("closed second gate: max |Δh − (−W(P_ab − P_a)e)| / max = %.2e%n", err);
            assertTrue(err < 1e-4, "Δh off by " + err);

            // i*_b made C⁻¹-orthogonal to i*_a: then concept a's own token is untouched by adding b
            double sab = s(b, a);
            float[] bOrth = new float[D];
            for (int k = 0; k < D; k++) {
                bOrth[k] = (float) (b[k] - sab * a[k]);
            }
            Tensor onlyA = be.fromArray(a, Shape.of(1, 1, D));
            float[] ha1 = output(List.of(a), new float[] {0.7f}, onlyA, wt, oA);
            float[] hab1 = output(List.of(a, bOrth), new float[] {0.7f, 1e6f}, onlyA, wt, concat(oA, oB));
            for (int r = 0; r < OUT; r++) {
                assertEquals(ha1[r], hab1[r], 1e-5 * Math.max(1, Math.abs(ha1[r])), "orthogonal second concept, row " + r);
            }
        }
    }

    @Test
    void badInputsAreRefusedWithClearErrors() {
        float[] a = vec(1, D);
        assertThrows(IllegalArgumentException.class, () -> KeyLockedEdit.of(be, cInv, D, List.of(a, a),
                new float[] {0.7f, 0.7f}, new float[] {0.15f, 0.15f}), "parallel i*");
        assertThrows(IllegalArgumentException.class, () -> KeyLockedEdit.of(be, cInv, D, List.of(new float[D]),
                new float[] {0.7f}, new float[] {0.15f}), "zero i*");
        assertThrows(IllegalArgumentException.class, () -> KeyLockedEdit.of(be, cInv, D, List.of(a),
                new float[] {0.7f}, new float[] {0f}), "τ = 0");
        try (KeyLockedEdit ed = edit(List.of(a), 0.7f, 0.15f); Tensor bad = be.fromArray(new float[D + 1], Shape.of(1, 1, D + 1))) {
            assertThrows(IllegalArgumentException.class, () -> ed.encode(bad));
        }
    }

    private float[] output(List<float[]> iStars, float[] betas, Tensor x, Tensor wt, float[] targets) {
        float[] taus = new float[iStars.size()];
        java.util.Arrays.fill(taus, 0.15f);
        List<float[]> is = new ArrayList<>(iStars);
        try (KeyLockedEdit ed = KeyLockedEdit.of(be, cInv, D, is, betas, taus); PerfusionEncoding enc = ed.encode(x);
             Tensor o = be.fromArray(targets, Shape.of(iStars.size(), OUT));
             Tensor h = KeyLockedEdit.project(enc.orthogonal(), wt, null, enc.gates(), o)) {
            return h.toFloatArray();
        }
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = new float[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
