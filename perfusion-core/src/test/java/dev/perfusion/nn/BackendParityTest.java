package dev.perfusion.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.nn.NnTesting.BlockCase;
import dev.perfusion.nn.NnTesting.Gradients;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every block on {@link Nd4jBackend} against the {@link ReferenceBackend} oracle: forward output, input gradients
 * and parameter gradients, within float32's tolerance. Both modules get the same parameters from
 * {@link Module#initialize}, whose values come from the host and so do not depend on the backend.
 */
@Tag("unit")
class BackendParityTest {
    private static Backend reference;
    private static Backend nd4j;

    @BeforeAll
    static void backends() {
        reference = new ReferenceBackend();
        nd4j = new Nd4jBackend();
    }

    @AfterAll
    static void release() {
        nd4j.close();
        reference.close();
    }

    static List<BlockCase> cases() {
        return NnTesting.cases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardAndBackwardAgree(BlockCase c) throws Exception {
        Tolerance tol = Tolerance.FLOAT32;
        try (TensorScope scope = TensorScope.open(); Module ref = c.module(reference); Module fast = c.module(nd4j)) {
            Tensor[] xRef = c.inputs().apply(reference);
            Tensor[] xFast = c.inputs().apply(nd4j);
            try (TensorScope s = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
                tol.assertClose(c + " forward", c.run(ref, xRef), c.run(fast, xFast));
            }
            Gradients gRef = NnTesting.gradients(ref, xRef, c, true);
            Gradients gFast = NnTesting.gradients(fast, xFast, c, true);
            int floating = 0;
            for (Tensor t : xRef) {
                if (t.dtype().isFloating()) {
                    assertNotNull(gFast.inputs().get(floating), c + ": no input gradient on nd4j");
                    tol.assertClose(c + " input grad " + floating, t.shape(), gRef.inputs().get(floating),
                            gFast.inputs().get(floating));
                    floating++;
                }
            }
            assertEquals(gRef.parameters().keySet(), gFast.parameters().keySet());
            for (String k : gRef.parameters().keySet()) {
                float[] expected = gRef.parameters().get(k);
                assertNotNull(expected, c + ": no reference gradient for " + k);
                assertNotNull(gFast.parameters().get(k), c + ": no nd4j gradient for " + k);
                tol.assertClose(c + " grad " + k, ref.namedParameters().get(k).shape(), expected, gFast.parameters().get(k));
            }
            // frozen: the input gradient still agrees and no parameter gets one
            Gradients frozen = NnTesting.gradients(fast, xFast, c, false);
            for (String k : frozen.parameters().keySet()) {
                assertNull(frozen.parameters().get(k), c + ": frozen " + k + " got a gradient on nd4j");
            }
            floating = 0;
            for (Tensor t : xRef) {
                if (t.dtype().isFloating()) {
                    tol.assertClose(c + " frozen input grad " + floating, t.shape(), gRef.inputs().get(floating),
                            frozen.inputs().get(floating));
                    floating++;
                }
            }
        }
    }
}
