package dev.perfusion.nn;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.nn.NnTesting.BlockCase;
import dev.perfusion.nn.NnTesting.Gradients;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Input and parameter gradients of every block against finite differences, and frozen blocks. */
@Tag("unit")
class BlockGradientTest {
    private final Backend be = new ReferenceBackend();

    static List<BlockCase> cases() {
        return NnTesting.cases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientsMatchFiniteDifferences(BlockCase c) {
        NnTesting.checkAgainstFiniteDifferences(c, be);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void frozenBlockPassesGradientsOnButKeepsNone(BlockCase c) {
        try (TensorScope scope = TensorScope.open(); Module m = c.module(be)) {
            Tensor[] x = c.inputs().apply(be);
            Gradients trained = NnTesting.gradients(m, x, c, true);
            Gradients frozen = NnTesting.gradients(m, x, c, false);
            for (Map.Entry<String, float[]> e : frozen.parameters().entrySet()) {
                assertNull(e.getValue(), c + ": frozen parameter " + e.getKey() + " got a gradient");
            }
            for (Parameter p : m.parameters()) {
                assertFalse(p.value().requiresGrad());
            }
            int floating = 0;
            for (Tensor t : x) {
                if (!t.dtype().isFloating()) {
                    continue;
                }
                float[] g = frozen.inputs().get(floating);
                assertNotNull(g, c + ": a frozen block must still pass a gradient to its input");
                // same graph for the input either way
                Tolerance.FLOAT32.assertClose(c + " input grad, frozen vs trainable", t.shape(),
                        trained.inputs().get(floating), g);
                floating++;
            }
        }
    }
}
