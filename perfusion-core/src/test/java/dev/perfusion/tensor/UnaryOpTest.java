package dev.perfusion.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** UnaryOp definitions: each derivative against central differences of its function, in double. */
@Tag("unit")
class UnaryOpTest {

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void derivativeMatchesCentralDifferences(UnaryOp op) {
        // with h = 1e-5 in double the truncation error h²/6·f‴ is ~1e-10 and the rounding error ~1e-11 here,
        // so 1e-7 (absolute plus relative) leaves a wide margin yet catches any wrong factor or sign
        double h = 1e-5;
        boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT;
        double from = positive ? 0.5 : -3;
        for (double x = from; x <= 3; x += 0.125) {
            double numeric = (op.apply(x + h) - op.apply(x - h)) / (2 * h);
            double analytic = op.derivative(x);
            assertEquals(numeric, analytic, 1e-7 * (1 + Math.abs(numeric)), op + "' at " + x);
        }
    }

    @Test
    void knownValues() {
        assertEquals(0.8413447460685429, UnaryOp.GELU.apply(1), 1e-15); // Φ(1)
        assertEquals(0.5, UnaryOp.SIGMOID.apply(0), 0);
        assertEquals(0.7310585786300049, UnaryOp.SILU.apply(1), 1e-15);
        assertEquals(1 / (1 + Math.exp(-1.702)), UnaryOp.QUICK_GELU.apply(1), 1e-15);
        assertEquals(0.5, UnaryOp.RSQRT.apply(4), 0);
        // the tanh approximation stays within 1e-3 of the exact GELU
        for (double x = -4; x <= 4; x += 0.25) {
            assertEquals(UnaryOp.GELU.apply(x), UnaryOp.GELU_TANH.apply(x), 1e-3, "at " + x);
        }
    }

    @Test
    void sigmoidIsStableForLargeArguments() {
        assertEquals(0, UnaryOp.SIGMOID.apply(-1000), 0);
        assertEquals(1, UnaryOp.SIGMOID.apply(1000), 0);
        assertEquals(0, UnaryOp.SIGMOID.derivative(-1000), 0);
        assertEquals(-0.0, UnaryOp.SILU.apply(-1000), 0);
        assertTrue(Double.isFinite(UnaryOp.SILU.derivative(-800)));
    }
}
