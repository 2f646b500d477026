package dev.perfusion.autograd;

import static dev.perfusion.autograd.GradCheck.input;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The tape engine: accumulation, frozen inputs, no-grad blocks and gradient checkpointing. */
@Tag("unit")
class AutogradTest {
    private final Backend be = new ReferenceBackend();

    private Tensor loss(Tensor x, Tensor w) {
        // L = Σ silu(x·wᵀ)²
        return Ops.sum(Ops.square(Ops.silu(Ops.matmul(x, w, false, true))), new int[0], false);
    }

    @Test
    void gradientsAccumulateOverBackwardCalls() {
        Tensor x = input(be, 1, 1f, 3, 4);
        Tensor w = input(be, 2, 1f, 5, 4);
        try (TensorScope s = TensorScope.open()) {
            loss(x, w).backward();
        }
        float[] once = w.grad().toFloatArray();
        try (TensorScope s = TensorScope.open()) {
            loss(x, w).backward();
        }
        float[] twice = w.grad().toFloatArray();
        float[] doubled = once.clone();
        for (int i = 0; i < doubled.length; i++) {
            doubled[i] *= 2;
        }
        Tolerance.FLOAT32.assertClose("accumulated grad", w.shape(), doubled, twice);
        w.zeroGrad();
        assertNull(w.grad());
    }

    @Test
    void frozenWeightsGetNoGradientButPassItOn() {
        Tensor x = input(be, 3, 1f, 3, 4);
        Tensor w = input(be, 4, 1f, 5, 4).requiresGrad(false);
        try (TensorScope s = TensorScope.open()) {
            Tensor l = loss(x, w);
            assertTrue(l.requiresGrad());
            l.backward();
        }
        assertNull(w.grad(), "a frozen weight must not get a gradient");
        assertNotNull(x.grad(), "the input must still get one");
        GradCheck.check("frozen w", t -> Ops.silu(Ops.matmul(t[0], w, false, true)), x);
    }

    @Test
    void nothingIsRecordedWithoutGradOrInsideNoGrad() throws Exception {
        Tensor x = input(be, 5, 1f, 2, 2).requiresGrad(false);
        try (TensorScope s = TensorScope.open()) {
            Tensor y = Ops.exp(x);
            assertFalse(y.requiresGrad());
            assertNull(y.gradNode());
            assertThrows(IllegalStateException.class, () -> Ops.sum(y, new int[0], false).backward());
        }
        Tensor z = input(be, 6, 1f, 2, 2);
        try (TensorScope s = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            assertFalse(Ops.exp(z).requiresGrad());
        }
    }

    @Test
    void backwardNeedsAScalarOrASeed() {
        Tensor x = input(be, 7, 1f, 2, 2);
        try (TensorScope s = TensorScope.open()) {
            Tensor y = Ops.exp(x);
            assertThrows(IllegalArgumentException.class, y::backward);
            Autograd.backward(y, be.full(y.shape(), 1f));
            Tolerance.FLOAT32.assertClose("d exp", y, x.grad());
        }
    }

    @Test
    void checkpointGivesTheSameGradients() {
        Tensor x = input(be, 8, 1f, 2, 3, 4);
        Tensor w1 = input(be, 9, 0.5f, 6, 4);
        Tensor w2 = input(be, 10, 0.5f, 4, 6);
        java.util.function.Function<Tensor[], Tensor> block =
                t -> Ops.add(t[0], Ops.linear(Ops.gelu(Ops.linear(t[0], w1, null)), w2, null)); // residual MLP

        try (TensorScope s = TensorScope.open()) {
            Ops.sum(Ops.square(block.apply(new Tensor[] {x})), new int[0], false).backward();
        }
        float[] gx = x.grad().toFloatArray();
        float[] gw1 = w1.grad().toFloatArray();
        float[] gw2 = w2.grad().toFloatArray();
        x.zeroGrad();
        w1.zeroGrad();
        w2.zeroGrad();

        try (TensorScope s = TensorScope.open()) {
            Tensor y = Checkpoint.run("mlp", block, x);
            Ops.sum(Ops.square(y), new int[0], false).backward();
        }
        Tolerance.FLOAT32.assertClose("checkpoint dx", x.shape(), gx, x.grad().toFloatArray());
        Tolerance.FLOAT32.assertClose("checkpoint dw1", w1.shape(), gw1, w1.grad().toFloatArray());
        Tolerance.FLOAT32.assertClose("checkpoint dw2", w2.shape(), gw2, w2.grad().toFloatArray());
    }

    @Test
    void checkpointReachesParametersWhenInputsAreFrozen() {
        Tensor x = input(be, 11, 1f, 2, 4).requiresGrad(false);
        Tensor w = input(be, 12, 0.5f, 3, 4);
        try (TensorScope s = TensorScope.open()) {
            Tensor y = Checkpoint.run("frozen-input", t -> Ops.linear(t[0], w, null), x);
            Ops.sum(y, new int[0], false).backward();
        }
        assertNotNull(w.grad());
        assertNull(x.grad());
    }

    @Test
    void intermediatesAreFreedByTheScope() {
        Tensor x = input(be, 13, 1f, 3, 3);
        Tensor kept;
        Tensor inner;
        try (TensorScope s = TensorScope.open()) {
            inner = Ops.exp(x);
            kept = s.keep(Ops.sum(inner, new int[0], false));
        }
        assertTrue(inner.isClosed());
        assertFalse(kept.isClosed());
        kept.close();
    }
}
