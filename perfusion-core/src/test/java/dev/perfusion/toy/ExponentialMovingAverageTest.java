package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The weights' moving average: the warm-up d_k = min(d, (1 + k)/(10 + k)) exactly, and copying it back. */
@Tag("unit")
class ExponentialMovingAverageTest {
    private final Backend be = new ReferenceBackend();

    @AfterEach
    void close() {
        be.close();
    }

    private Parameter param(float... v) {
        return new Parameter(be.fromArray(v, Shape.of(v.length)));
    }

    private void set(Parameter p, float... v) {
        p.set(be.fromArray(v, Shape.of(v.length)));
    }

    @Test
    void warmUpDecayFollowsTheFormulaExactly() {
        double decay = 0.5;
        try (Parameter p = param(1f, -2f, 0.25f); Parameter q = param(3f)) {
            ExponentialMovingAverage ema = new ExponentialMovingAverage(List.of(p, q), decay);
            float[] sp = {1f, -2f, 0.25f};
            float[] sq = {3f};
            for (int k = 0; k < 14; k++) {
                float[] vp = {k + 0.5f, -k * 0.75f, 1f / (k + 1)};
                float[] vq = {(float) Math.sin(k)};
                set(p, vp);
                set(q, vq);
                ema.update();
                double d = Math.min(decay, (1.0 + k) / (10.0 + k));
                for (int i = 0; i < sp.length; i++) {
                    sp[i] = (float) (d * sp[i] + (1 - d) * vp[i]);
                }
                sq[0] = (float) (d * sq[0] + (1 - d) * vq[0]);
            }
            // the first 8 updates are in warm-up (d_k < 0.5 for k < 8), the rest use d = 0.5
            assertTrue((1.0 + 7) / (10.0 + 7) < decay && (1.0 + 8) / (10.0 + 8) >= decay);
            ema.copyInto();
            assertArrayEquals(sp, p.value().toFloatArray());
            assertArrayEquals(sq, q.value().toFloatArray());
            assertEquals(Shape.of(3), p.shape());
        }
    }

    @Test
    void eachStepShrinksAConstantZeroSignalByExactlyD() {
        // with the value held at 0 the average is multiplied by d_k each update: s_k+1 = d_k · s_k
        try (Parameter p = param(1024f)) {
            ExponentialMovingAverage ema = new ExponentialMovingAverage(List.of(p), 0.99);
            set(p, 0f);
            double s = 1024;
            for (int k = 0; k < 5; k++) {
                ema.update();
                s = (float) (Math.min(0.99, (1.0 + k) / (10.0 + k)) * s);
            }
            // 0.1 · 2/11 · 3/12 · 4/13 · 5/14 · 1024
            double hand = 1024 * 0.1 * 2 / 11 * 3 / 12 * 4 / 13 * 5 / 14;
            ema.copyInto();
            assertEquals((float) s, p.value().toFloatArray()[0]);
            assertEquals(hand, p.value().toFloatArray()[0], 1e-5 * hand);
        }
    }

    @Test
    void copyIntoWithoutUpdatesRestoresTheInitialValues() {
        try (Parameter p = param(1f, 2f)) {
            ExponentialMovingAverage ema = new ExponentialMovingAverage(List.of(p), 0.9);
            set(p, 5f, 6f);
            ema.copyInto();
            assertArrayEquals(new float[] {1f, 2f}, p.value().toFloatArray());
        }
    }

    @Test
    void decayZeroTracksTheCurrentValue() {
        try (Parameter p = param(1f, 2f)) {
            ExponentialMovingAverage ema = new ExponentialMovingAverage(List.of(p), 0.0);
            set(p, 7f, -8f);
            ema.update();
            set(p, 0f, 0f);
            ema.copyInto();
            assertArrayEquals(new float[] {7f, -8f}, p.value().toFloatArray());
        }
    }

    @Test
    void invalidDecaysAreRejected() {
        try (Parameter p = param(1f)) {
            for (double d : new double[] {1.0, -0.1, Double.NaN, 2}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> new ExponentialMovingAverage(List.of(p), d));
                assertTrue(e.getMessage().contains("EMA decay"), e.getMessage());
            }
        }
    }
}
