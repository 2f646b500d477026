package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.testing.GoldenFile;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link KeyLockedEdit} against {@code golden/cases/perfusion_rank1.safetensors} (golden README §10: lucidrains'
 * {@code Rank1EditModule} on {@code tiny-sd15} weights and text encodings, D = 24, d = 32, eval β 0.70, τ 0.15).
 *
 * <p>Tolerances: our float32 outputs against the float64 formula ({@code *_f64}) at 1e-5 relative to the tensor's
 * max |value| (float32 rounding of a 24-term dot product and a sigmoid; the golden's own float32 module agrees with
 * its f64 formula to ≤ 1e-6 absolute, README §10); against the module's F32 outputs the same bound (two float32
 * computations with different summation order); scores and gates at 1e-5 absolute (s is O(1), the gate in [0, 1]).
 */
@Tag("unit")
class KeyLockedEditGoldenTest {
    private static final double REL = 1e-5;
    private final GoldenFile g = GoldenFile.open("perfusion_rank1.safetensors");
    private final Backend be = new ReferenceBackend();

    private static double relToMax(float[] got, double[] ref) {
        return PerfusionTesting.relToMax(got, ref);
    }

    private static double[] widen(float[] v) {
        return PerfusionTesting.toDouble(v);
    }

    private KeyLockedEdit edit(List<float[]> iStars) {
        int n = iStars.size();
        float[] betas = new float[n];
        float[] taus = new float[n];
        java.util.Arrays.fill(betas, g.scalar("param.eval_beta"));
        java.util.Arrays.fill(taus, g.scalar("param.eval_temperature"));
        return KeyLockedEdit.of(be, g.f32("C_inv"), 24, iStars, betas, taus);
    }

    @Test
    void singleConceptKeysAndValuesMatchTheModule() {
        assertEquals(0.7f, g.scalar("param.eval_beta"));
        assertEquals(0.15f, g.scalar("param.eval_temperature"));
        try (TensorScope scope = TensorScope.open(); KeyLockedEdit ed = edit(List.of(g.f32("eval.i_star")))) {
            PerfusionEncoding enc = ed.encode(g.tensor("eval.text_enc", be));
            assertEquals(g.f64("eval.parts.energy_f64")[0], ed.energies()[0], 1e-6 * Math.abs(ed.energies()[0]), "energy");
            double sErr = maxAbs(enc.scores().toFloatArray(), g.f64("eval.parts.ratio_f64"));
            double gErr = maxAbs(enc.gates().toFloatArray(), g.f64("eval.parts.gate_f64"));
            System.out.printf("perfusion_rank1 eval: s max abs %.2e, gate max abs %.2e%n", sErr, gErr);
            assertTrue(sErr < 1e-5 && gErr < 1e-5, "scores/gates off: " + sErr + ", " + gErr);
            for (String which : new String[] {"keys", "values"}) {
                Tensor w = g.tensor(which.equals("keys") ? "W_k" : "W_v", be);          // [32, 24]
                Tensor o = g.tensor("eval." + which + ".o_star", be);                    // [1, 32]
                float[] h = KeyLockedEdit.project(enc.orthogonal(), w, null, enc.gates(), o).toFloatArray(); // [2, 77, 32]
                double e64 = relToMax(h, g.f64("eval." + which + ".output_f64"));
                double e32 = relToMax(h, widen(g.f32("eval." + which + ".output")));
                System.out.printf("perfusion_rank1 eval.%s: vs f64 %.2e, vs module f32 %.2e (relative to max)%n",
                        which, e64, e32);
                assertTrue(e64 < REL, which + " vs f64: " + e64);
                assertTrue(e32 < REL, which + " vs module: " + e32);
            }
        }
    }

    /**
     * Two concepts: our exact projector against the golden's float64 exact rank-2 edit. lucidrains' module gives two
     * other answers that we deliberately do not reproduce (method §3 and §6 #2): {@code output_approx} (his
     * default) projects with Σ_c s_c(e)·i*_c, exact only when the i* are C⁻¹-orthogonal, which "sks" and "hta"
     * are not; {@code output_cholesky} drops C⁻¹ from its projection (e·u_c instead of eᵀC⁻¹u_c), a bug. The test
     * checks that both differ from ours by far more than rounding, so it would notice if we drifted to either.
     */
    @Test
    void twoConceptsUseTheExactProjector() {
        float[] both = g.f32("multi.i_stars");
        List<float[]> iStars = List.of(java.util.Arrays.copyOfRange(both, 0, 24), java.util.Arrays.copyOfRange(both, 24, 48));
        try (TensorScope scope = TensorScope.open(); KeyLockedEdit ed = edit(iStars)) {
            PerfusionEncoding enc = ed.encode(g.tensor("multi.text_enc", be));
            float[] h = KeyLockedEdit.project(enc.orthogonal(), g.tensor("W_v", be), null, enc.gates(),
                    g.tensor("multi.values.o_stars", be)).toFloatArray();
            double exact = relToMax(h, g.f64("multi.values.output_exact_projector_f64"));
            double approx = relToMax(h, g.f64("multi.values.output_approx_f64"));
            double chol = relToMax(h, g.f64("multi.values.output_cholesky_f64"));
            System.out.printf("perfusion_rank1 multi: vs exact projector f64 %.2e; (differs from [L] approx by %.2e,"
                    + " from [L] cholesky by %.2e)%n", exact, approx, chol);
            assertTrue(exact < REL, "exact projector: " + exact);
            assertTrue(approx > 1e-3 && chol > 1e-3, "the golden's approximate/buggy variants should differ from ours");
        }
    }

    private static double maxAbs(float[] got, double[] ref) {
        assertEquals(ref.length, got.length);
        double m = 0;
        for (int i = 0; i < got.length; i++) {
            m = Math.max(m, Math.abs(got[i] - ref[i]));
        }
        return m;
    }
}
