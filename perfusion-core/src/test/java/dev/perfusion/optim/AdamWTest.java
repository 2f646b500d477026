package dev.perfusion.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class AdamWTest {
    private final Backend be = new ReferenceBackend();

    private Parameter param(float... v) {
        return new Parameter(be.fromArray(v, Shape.of(v.length))).requiresGrad(true);
    }

    private void grad(Parameter p, float... g) {
        p.zeroGrad();
        p.value().setGrad(be.fromArray(g, Shape.of(g.length)));
    }

    /**
     * Two steps by hand (torch.optim.AdamW formulas), lr 0.1, λ 0.01, θ0 = 1, g1 = 0.5, g2 = −0.25:
     * step 1: θ = 1·(1−0.001) = 0.999; m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25 → θ = 0.999 − 0.1·0.5/(0.5+1e-8)
     * = 0.8990000002; step 2: θ·0.999 = 0.8981010002; m = 0.045 − 0.025 = 0.02, v = 0.00024975 + 0.0000625
     * = 0.00031225; m̂ = 0.02/0.19 = 0.105263158, v̂ = 0.00031225/0.001999 = 0.156203102, √ = 0.395225381
     * → θ = 0.8981010002 − 0.1·0.105263158/0.395225391 = 0.871467...
     */
    @Test
    void twoStepsMatchTheHandComputedUpdate() {
        try (Parameter a = param(1f); Parameter b = param(-2f)) {
            AdamW opt = new AdamW(List.of(new AdamW.ParamGroup("a", 0.1, List.of(a)),
                    new AdamW.ParamGroup("b", 0.01, List.of(b))), 0.01);
            grad(a, 0.5f);
            grad(b, 1f);
            opt.step();
            assertEquals(0.8990000002, a.value().toFloatArray()[0], 1e-6);
            // b: θ = −2·(1 − 1e-4) − 0.01·1/(1 + 1e-8)
            assertEquals(-2 * (1 - 1e-4) - 0.01, b.value().toFloatArray()[0], 1e-6);
            grad(a, -0.25f);
            grad(b, 1f);
            opt.step();
            double th = 0.8990000002 * 0.999;
            double mh = 0.02 / (1 - 0.81);
            double vh = (0.999 * 0.00025 + 0.001 * 0.0625) / (1 - 0.999 * 0.999);
            assertEquals(th - 0.1 * mh / (Math.sqrt(vh) + 1e-8), a.value().toFloatArray()[0], 1e-6);
            assertEquals(0.8714676, a.value().toFloatArray()[0], 2e-6);
            assertEquals(true, a.requiresGrad());
            assertEquals(2, opt.stepCount());
        }
    }

    @Test
    void stateRoundTripsAndContinuesIdentically() {
        try (Parameter a = param(1f, 2f, 3f); Parameter a2 = param(1f, 2f, 3f)) {
            AdamW o1 = new AdamW(List.of(new AdamW.ParamGroup("a", 0.05, List.of(a))), 0.01);
            grad(a, 0.1f, -0.2f, 0.3f);
            o1.step();
            Map<String, double[]> s = o1.state();
            AdamW o2 = new AdamW(List.of(new AdamW.ParamGroup("a", 0.05, List.of(a2))), 0.01);
            o2.loadState(s);
            a2.set(be.fromArray(a.value().toFloatArray(), Shape.of(3)));
            grad(a, 0.3f, 0.2f, 0.1f);
            grad(a2, 0.3f, 0.2f, 0.1f);
            o1.step();
            o2.step();
            assertArrayEquals(a.value().toFloatArray(), a2.value().toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> o2.loadState(Map.of("step", new double[] {1})));
        }
    }

    @Test
    void badSettingsAreRejected() {
        try (Parameter a = param(1f)) {
            assertThrows(IllegalArgumentException.class, () -> new AdamW.ParamGroup("a", 0, List.of(a)));
            assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(), 0.01));
            assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(new AdamW.ParamGroup("a", 0.1,
                    List.of(a)), new AdamW.ParamGroup("b", 0.1, List.of(a))), 0.01));
        }
    }
}
