package dev.perfusion.nn;

import static dev.perfusion.nn.NnTesting.normal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link Parameter} ownership, registration rules, freezing and closing of {@link Module}s. */
@Tag("unit")
class ModuleTest {
    private final Backend be = new ReferenceBackend();

    @Test
    void parameterSetClosesTheOldValueUnlessSame() {
        Parameter p = Parameter.zeros(be, Shape.of(2, 3));
        Tensor old = p.value();
        p.set(old);
        assertFalse(old.isClosed(), "setting the same tensor must not close it");
        Tensor fresh = be.fromArray(new float[6], Shape.of(2, 3));
        p.set(fresh);
        assertTrue(old.isClosed());
        assertSame(fresh, p.value());
        p.close();
        assertTrue(fresh.isClosed());
        assertTrue(p.isClosed());
        assertThrows(IllegalStateException.class, p::value);
        p.close(); // twice is harmless
    }

    @Test
    void parameterValuesOutliveScopes() {
        Parameter p;
        try (TensorScope s = TensorScope.open()) {
            p = new Parameter(be.full(Shape.of(3), 2f));
            p.set(be.full(Shape.of(3), 5f));
        }
        assertFalse(p.value().isClosed(), "a parameter's tensor must be detached from the scope it was made in");
        assertEquals(5f, p.value().toFloatArray()[1]);
        p.close();
    }

    @Test
    void requiresGradFlagFollowsTheParameterAcrossSet() {
        try (Parameter p = Parameter.zeros(be, Shape.of(2))) {
            assertFalse(p.requiresGrad(), "parameters start frozen");
            assertFalse(p.value().requiresGrad());
            p.requiresGrad(true);
            Tensor fresh = be.full(Shape.of(2), 1f);
            p.set(fresh);
            assertTrue(fresh.requiresGrad(), "a new value inherits the flag");
            p.requiresGrad(false);
            assertFalse(p.value().requiresGrad());
        }
    }

    @Test
    void parameterRejectsNonLeafValues() {
        try (TensorScope s = TensorScope.open(); Parameter p = Parameter.zeros(be, Shape.of(2))) {
            Tensor a = be.full(Shape.of(2), 1f).requiresGrad(true);
            Tensor y = Ops.scale(a, 2f);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.set(y));
            assertTrue(e.getMessage().contains("Ops.detach"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new Parameter(y));
        }
    }

    @Test
    void closeFreesValuesAndGradients() {
        Tensor grad;
        Tensor weight;
        Linear l = new Linear(be, 3, 2, true);
        try (TensorScope s = TensorScope.open()) {
            l.initialize(1);
            l.requiresGrad(true);
            Tensor y = l.forward(normal(be, 1, 1f, 4, 3));
            Ops.sum(y, new int[0], false).backward();
            grad = l.weight().grad();
            weight = l.weight().value();
            assertNotNull(grad);
        }
        assertFalse(grad.isClosed(), "gradients belong to the parameter, not to the scope");
        l.close();
        assertTrue(weight.isClosed());
        assertTrue(grad.isClosed(), "closing a module frees its gradients too");
        assertTrue(l.bias().isClosed());
        l.close(); // twice is harmless
    }

    @Test
    void requiresGradAndZeroGradCoverTheSubtree() {
        try (TensorScope s = TensorScope.open(); FeedForward ff = new FeedForward(be, 4)) {
            ff.initialize(3);
            ff.requiresGrad(true);
            for (Parameter p : ff.parameters()) {
                assertTrue(p.requiresGrad());
            }
            Ops.sum(ff.forward(normal(be, 2, 1f, 2, 4)), new int[0], false).backward();
            for (Parameter p : ff.parameters()) {
                assertNotNull(p.grad());
            }
            ff.zeroGrad();
            ff.requiresGrad(false);
            for (Parameter p : ff.parameters()) {
                assertNull(p.grad());
                assertFalse(p.requiresGrad());
            }
        }
    }

    private static final class Twice extends Module {
        Twice(Backend be, Linear shared, boolean sameName) {
            super(be);
            registerModule("a", shared);
            registerParameter("p", Parameter.zeros(be, Shape.of(1)));
            if (sameName) {
                registerModule("p", new Linear(be, 1, 1, false));
            }
        }
    }

    @Test
    void registrationRules() {
        try (Linear l = new Linear(be, 2, 2, false)) {
            try (Twice t = new Twice(be, l, false)) {
                assertEquals(2, t.namedParameters().size());
                IllegalArgumentException again = assertThrows(IllegalArgumentException.class, () -> new Twice(be, l, false));
                assertTrue(again.getMessage().contains("already registered"), again.getMessage());
            }
        }
        IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
                () -> new Twice(be, new Linear(be, 2, 2, false), true));
        assertTrue(dup.getMessage().contains("registered twice"), dup.getMessage());
        IllegalArgumentException otherBackend = assertThrows(IllegalArgumentException.class,
                () -> new Twice(be, new Linear(new ReferenceBackend(), 2, 2, false), false));
        assertTrue(otherBackend.getMessage().contains("backend"), otherBackend.getMessage());
    }

    @Test
    void parameterCount() {
        try (Attention a = new Attention(be, 8, 6, 2, 3)) {
            assertEquals(6 * 8 + 6 * 6 + 6 * 6 + 8 * 6 + 8, a.parameterCount());
        }
    }

    @Test
    void inferenceFreesIntermediatesAtOnce() throws Exception {
        // Without recording, only the output of a block may remain in the caller's scope.
        for (NnTesting.BlockCase c : NnTesting.cases()) {
            if (c.name().contains("mask")) {
                continue; // its forward makes the mask tensor inside the scope
            }
            try (TensorScope outer = TensorScope.open(); Module m = c.module(be)) {
                Tensor[] x = c.inputs().apply(be);
                try (TensorScope s = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
                    c.run(m, x);
                    assertEquals(1, s.size(), c + ": tensors left in the scope after an inference forward");
                }
            }
        }
    }
}
