package dev.perfusion.backend.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Group norm, layer norm and softmax of the reference backend. */
@Tag("unit")
class ReferenceNormsTest {
    private final ReferenceBackend be = new ReferenceBackend();

    @Test
    void groupNormGivesZeroMeanUnitVariancePerGroup() {
        // x [2, 6, 3, 2] in 3 groups of 2 channels: each (sample, group) holds 2·3·2 = 12 values
        Shape s = Shape.of(2, 6, 3, 2);
        float[] x = TestData.uniform(1, s, -3, 5);
        float[] y = be.groupNorm(be.fromArray(x, s), 3, null, null, 1e-6f).toFloatArray();
        for (int seg = 0; seg < 2 * 3; seg++) {
            double mean = 0;
            for (int e = 0; e < 12; e++) {
                mean += y[seg * 12 + e];
            }
            mean /= 12;
            double var = 0;
            for (int e = 0; e < 12; e++) {
                var += (y[seg * 12 + e] - mean) * (y[seg * 12 + e] - mean);
            }
            var /= 12;
            assertEquals(0, mean, 1e-6, "mean of group " + seg);
            // σ²/(σ² + eps) with σ² ≈ 5 and eps 1e-6 is 1 − 2e-7
            assertEquals(1, var, 1e-5, "variance of group " + seg);
        }
    }

    @Test
    void groupNormAppliesGammaAndBetaPerChannelAndMatchesTheFormula() {
        Shape s = Shape.of(1, 4, 5);
        float[] x = TestData.normal(2, s);
        float[] gamma = {0.5f, -1f, 2f, 1.5f};
        float[] beta = {0f, 1f, -2f, 0.25f};
        float eps = 1e-3f;
        Tensor y = be.groupNorm(be.fromArray(x, s), 2, be.fromArray(gamma, Shape.of(4)), be.fromArray(beta,
                Shape.of(4)), eps);
        // by hand: group g holds channels 2g and 2g+1, i.e. x[10g .. 10g+9]
        float[] expected = new float[20];
        for (int g = 0; g < 2; g++) {
            double mean = 0;
            for (int e = 0; e < 10; e++) {
                mean += x[10 * g + e];
            }
            mean /= 10;
            double var = 0;
            for (int e = 0; e < 10; e++) {
                var += Math.pow(x[10 * g + e] - mean, 2);
            }
            var /= 10;
            for (int e = 0; e < 10; e++) {
                int c = 2 * g + e / 5;
                expected[10 * g + e] = (float) ((x[10 * g + e] - mean) / Math.sqrt(var + eps) * gamma[c] + beta[c]);
            }
        }
        Tolerance.FLOAT32.assertClose("groupNorm", s, expected, y.toFloatArray());
    }

    @Test
    void groupNormWithoutSpatialAxes() {
        // x [N, C] with C/groups = 2 and eps 0: each pair (a, b) normalises to (−1, 1) when a < b, (1, −1) when a > b
        Tensor x = be.fromArray(new float[] {1, 3, 10, 4, -2, 0}, Shape.of(1, 6));
        float[] y = be.groupNorm(x, 3, null, null, 0f).toFloatArray();
        assertArrayEquals(new float[] {-1, 1, 1, -1, -1, 1}, y, 1e-6f);
        Tensor y2 = be.groupNorm(be.fromArray(new float[] {1, 3, 10, 4}, Shape.of(2, 2)), 1, null, null, 0f);
        assertEquals(Shape.of(2, 2), y2.shape());
        assertArrayEquals(new float[] {-1, 1, 1, -1}, y2.toFloatArray(), 1e-6f);
    }

    @Test
    void groupNormRejectsIndivisibleChannelsAndBadGamma() {
        Tensor x = be.fromArray(new float[12], Shape.of(1, 6, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.groupNorm(x, 4, null, null, 1e-5f));
        assertTrue(e.getMessage().contains("groupNorm") && e.getMessage().contains("4 groups"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> be.groupNorm(x, 3, be.fromArray(new float[3], Shape.of(3)), null, 1e-5f));
        assertThrows(IllegalArgumentException.class,
                () -> be.groupNorm(be.fromArray(new float[3], Shape.of(3)), 1, null, null, 1e-5f));
    }

    @Test
    void normBackwardReturnsDGammaOnlyWithGammaButAlwaysDBeta() {
        Tensor x = be.fromArray(TestData.normal(3, Shape.of(2, 4)), Shape.of(2, 4));
        Tensor dy = be.fromArray(TestData.normal(4, Shape.of(2, 4)), Shape.of(2, 4));
        NormGrads g = be.groupNormBackward(x, 2, null, 1e-5f, dy);
        assertEquals(Shape.of(2, 4), g.dx().shape());
        assertNull(g.dGamma());
        assertNotNull(g.dBeta());
        // dβ[c] = Σ_n dy[n, c]
        float[] dys = dy.toFloatArray();
        float[] dBeta = g.dBeta().toFloatArray();
        for (int c = 0; c < 4; c++) {
            assertEquals(dys[c] + dys[4 + c], dBeta[c], 1e-6f);
        }
        NormGrads l = be.layerNormBackward(x, be.full(Shape.of(4), 1f), 1e-5f, dy);
        assertEquals(Shape.of(4), l.dGamma().shape());
        assertEquals(Shape.of(4), l.dBeta().shape());
    }

    @Test
    void layerNormNormalisesTheLastAxis() {
        Tensor x = be.fromArray(new float[] {1, 2, 3, 4, -1, -1, 1, 1}, Shape.of(2, 4));
        Tensor gamma = be.fromArray(new float[] {1, 2, 1, 1}, Shape.of(4));
        Tensor beta = be.fromArray(new float[] {0, 0, 0, 10}, Shape.of(4));
        // row 0: μ = 2.5, σ² = 1.25 → x̂ = (−1.5, −0.5, 0.5, 1.5)/√1.25; row 1: μ = 0, σ² = 1 → x̂ = x
        float r = (float) Math.sqrt(1.25);
        float[] expected = {-1.5f / r, -1f / r, 0.5f / r, 1.5f / r + 10, -1, -2, 1, 11};
        float[] y = be.layerNorm(x, gamma, beta, 0f).toFloatArray();
        assertArrayEquals(expected, y, 1e-6f);
        float[] plain = be.layerNorm(x, null, null, 0f).toFloatArray();
        assertArrayEquals(new float[] {-1.5f / r, -0.5f / r, 0.5f / r, 1.5f / r, -1, -1, 1, 1}, plain, 1e-6f);
        assertThrows(IllegalArgumentException.class,
                () -> be.layerNorm(x, be.fromArray(new float[2], Shape.of(2)), null, 0f));
    }

    @Test
    void softmaxRowsSumToOneAndMatchExpOverSum() {
        Shape s = Shape.of(3, 5);
        float[] x = TestData.normal(5, s);
        float[] y = be.softmax(be.fromArray(x, s)).toFloatArray();
        for (int r = 0; r < 3; r++) {
            double sum = 0;
            double denom = 0;
            for (int e = 0; e < 5; e++) {
                sum += y[r * 5 + e];
                denom += Math.exp(x[r * 5 + e]);
            }
            assertEquals(1, sum, 1e-6, "row " + r);
            for (int e = 0; e < 5; e++) {
                assertEquals(Math.exp(x[r * 5 + e]) / denom, y[r * 5 + e], 1e-7, "row " + r + " col " + e);
            }
        }
    }

    @Test
    void softmaxIsStableForLargeInputs() {
        // e^1000 overflows; subtracting the row max gives the softmax of (0, 1, 2)
        float[] y = be.softmax(be.fromArray(new float[] {1000, 1001, 1002}, Shape.of(3))).toFloatArray();
        double z = 1 + Math.E + Math.E * Math.E;
        assertArrayEquals(new float[] {(float) (1 / z), (float) (Math.E / z), (float) (Math.E * Math.E / z)}, y, 1e-7f);
        float[] masked = be.softmax(be.fromArray(new float[] {0, Float.NEGATIVE_INFINITY}, Shape.of(1, 2)))
                .toFloatArray();
        assertArrayEquals(new float[] {1, 0}, masked);
    }

    @Test
    void softmaxBackwardHandComputed() {
        // y = (0.5, 0.5), dy = (1, 0): Σ dy·y = 0.5, dx = y ⊙ (dy − 0.5) = (0.25, −0.25)
        Tensor y = be.fromArray(new float[] {0.5f, 0.5f}, Shape.of(2));
        Tensor dy = be.fromArray(new float[] {1, 0}, Shape.of(2));
        assertArrayEquals(new float[] {0.25f, -0.25f}, be.softmaxBackward(y, dy).toFloatArray());
    }
}
