package dev.perfusion.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link AdamW#setLearningRateScale}: the effective rate is lr·scale for every group, from the next step on. */
@Tag("unit")
class AdamWLearningRateScaleTest {
    private static final float[][] GRADS = {
        {0.5f, -1.5f, 0.01f}, {-0.2f, 0.7f, 3f}, {1f, 1f, -1f}, {0.05f, -0.3f, 0.9f}};
    private final Backend be = new ReferenceBackend();

    @AfterEach
    void close() {
        be.close();
    }

    private Parameter param(float... v) {
        return new Parameter(be.fromArray(v, Shape.of(v.length))).requiresGrad(true);
    }

    private void grad(Parameter p, float... g) {
        p.zeroGrad();
        p.value().setGrad(be.fromArray(g, Shape.of(g.length)));
    }

    @Test
    void scaleZeroChangesNoParameterEvenWithWeightDecay() {
        try (Parameter a = param(1f, -2f, 3f)) {
            AdamW opt = new AdamW(List.of(new AdamW.ParamGroup("a", 0.1, List.of(a))), 0.5);
            opt.setLearningRateScale(0);
            float[] before = a.value().toFloatArray();
            for (float[] g : GRADS) {
                grad(a, g);
                opt.step();
                // lr·scale = 0: the decay factor (1 − 0·λ) is 1 and the Adam step is 0, bit for bit
                assertArrayEquals(before, a.value().toFloatArray());
            }
            assertEquals(GRADS.length, opt.stepCount());
            // the moments still advance (the schedule, not the state, is paused)
            assertTrue(Arrays.stream(opt.state().get("m.0")).anyMatch(x -> x != 0));
            assertTrue(a.requiresGrad());
        }
    }

    @Test
    void scaleHalfEqualsAFreshOptimizerWithHalfTheRateBitForBit() {
        try (Parameter a = param(1f, -2f, 3f); Parameter b = param(0.5f); Parameter a2 = param(1f, -2f, 3f);
             Parameter b2 = param(0.5f)) {
            AdamW scaled = new AdamW(List.of(new AdamW.ParamGroup("a", 0.1, List.of(a)),
                    new AdamW.ParamGroup("b", 0.03, List.of(b))), 0.01);
            scaled.setLearningRateScale(0.5);
            AdamW half = new AdamW(List.of(new AdamW.ParamGroup("a", 0.05, List.of(a2)),
                    new AdamW.ParamGroup("b", 0.015, List.of(b2))), 0.01);
            for (float[] g : GRADS) {
                grad(a, g);
                grad(a2, g);
                grad(b, g[0] * 2);
                grad(b2, g[0] * 2);
                scaled.step();
                half.step();
                assertArrayEquals(a2.value().toFloatArray(), a.value().toFloatArray());
                assertArrayEquals(b2.value().toFloatArray(), b.value().toFloatArray());
            }
            Map<String, double[]> s1 = scaled.state();
            Map<String, double[]> s2 = half.state();
            assertEquals(s2.keySet(), s1.keySet());
            for (String k : s1.keySet()) {
                assertArrayEquals(s2.get(k), s1.get(k), k);
            }
            // and the parameters did move
            assertNotEquals(1f, a.value().toFloatArray()[0]);
        }
    }

    @Test
    void theScaleAppliesFromTheNextStepAndDefaultsToOne() {
        try (Parameter a = param(1f, 2f, 3f); Parameter ref = param(1f, 2f, 3f); Parameter zero = param(1f, 2f, 3f)) {
            AdamW o = new AdamW(List.of(new AdamW.ParamGroup("a", 0.1, List.of(a))), 0.01);
            AdamW plain = new AdamW(List.of(new AdamW.ParamGroup("a", 0.1, List.of(ref))), 0.01);
            AdamW paused = new AdamW(List.of(new AdamW.ParamGroup("a", 0.1, List.of(zero))), 0.01);
            // step 1 at the default scale equals an optimizer never told a scale
            grad(a, GRADS[0]);
            grad(ref, GRADS[0]);
            grad(zero, GRADS[0]);
            o.setLearningRateScale(1);
            o.step();
            plain.step();
            paused.step();
            assertArrayEquals(ref.value().toFloatArray(), a.value().toFloatArray());
            // step 2 at scale 0: only the moments move
            float[] afterOne = a.value().toFloatArray();
            o.setLearningRateScale(0);
            grad(a, GRADS[1]);
            o.step();
            assertArrayEquals(afterOne, a.value().toFloatArray());
            // step 3 at scale 2 equals the hand-computed update with lr 0.2 from the optimizer's moments
            o.setLearningRateScale(2);
            Map<String, double[]> s = o.state();
            grad(a, GRADS[2]);
            o.step();
            float[] got = a.value().toFloatArray();
            for (int i = 0; i < 3; i++) {
                double lr = 0.2;
                double th = afterOne[i] * (1 - lr * 0.01);
                double m = 0.9 * s.get("m.0")[i] + (1 - 0.9) * GRADS[2][i];
                double v = 0.999 * s.get("v.0")[i] + (1 - 0.999) * (double) GRADS[2][i] * GRADS[2][i];
                double want = th - lr * (m / (1 - Math.pow(0.9, 3))) / (Math.sqrt(v / (1 - Math.pow(0.999, 3))) + 1e-8);
                assertEquals((float) want, got[i], "element " + i);
            }
        }
    }

    @Test
    void invalidScalesAreRejected() {
        try (Parameter a = param(1f)) {
            AdamW o = new AdamW(List.of(new AdamW.ParamGroup("a", 0.1, List.of(a))), 0.01);
            for (double bad : new double[] {-0.5, -Double.MIN_VALUE, Double.NaN, Double.POSITIVE_INFINITY,
                    Double.NEGATIVE_INFINITY}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> o.setLearningRateScale(bad));
                assertTrue(e.getMessage().contains("learning-rate scale"), e.getMessage());
            }
            // a rejected scale leaves the previous one in force
            o.setLearningRateScale(0);
            assertThrows(IllegalArgumentException.class, () -> o.setLearningRateScale(-1));
            grad(a, 1f);
            o.step();
            assertEquals(1f, a.value().toFloatArray()[0]);
        }
    }
}
