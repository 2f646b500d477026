package dev.perfusion.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class TensorScopeTest {
    private final Backend be = new ReferenceBackend();

    private Tensor make() {
        return be.fromArray(new float[] {1, 2}, Shape.of(2));
    }

    @Test
    void tensorsMadeInAScopeCloseWithIt() {
        Tensor outside = make();
        Tensor a;
        Tensor b;
        try (TensorScope scope = TensorScope.open()) {
            a = make();
            b = be.affine(a, 2, 0);
            assertEquals(2, scope.size());
        }
        assertTrue(a.isClosed());
        assertTrue(b.isClosed());
        assertFalse(outside.isClosed(), "made before the scope opened");
    }

    @Test
    void keepMovesATensorToTheEnclosingScope() {
        Tensor kept;
        Tensor dropped;
        try (TensorScope outer = TensorScope.open()) {
            try (TensorScope inner = TensorScope.open()) {
                dropped = make();
                kept = inner.keep(make());
                assertEquals(1, inner.size());
            }
            assertTrue(dropped.isClosed());
            assertFalse(kept.isClosed());
            assertEquals(1, outer.size());
        }
        assertTrue(kept.isClosed(), "the enclosing scope owns it now");
    }

    @Test
    void keepWithoutAnEnclosingScopeHandsTheTensorToTheCaller() {
        Tensor kept;
        try (TensorScope scope = TensorScope.open()) {
            kept = scope.keep(make());
            assertEquals(0, scope.size());
        }
        assertFalse(kept.isClosed());
        kept.close();
    }

    @Test
    void keepIgnoresTensorsFromOutside() {
        Tensor outside = make();
        try (TensorScope scope = TensorScope.open()) {
            assertSame(outside, scope.keep(outside));
        }
        assertFalse(outside.isClosed());
    }

    @Test
    void nestedScopesCloseOnlyTheirOwn() {
        try (TensorScope outer = TensorScope.open()) {
            Tensor a = make();
            Tensor b;
            try (TensorScope inner = TensorScope.open()) {
                b = make();
                assertEquals(1, inner.size());
            }
            assertTrue(b.isClosed());
            assertFalse(a.isClosed());
            assertEquals(1, outer.size());
        }
    }

    @Test
    void detachTakesATensorOutOfItsScope() {
        Tensor weight;
        try (TensorScope scope = TensorScope.open()) {
            weight = TensorScope.detach(make());
            assertEquals(0, scope.size());
        }
        assertFalse(weight.isClosed());
    }

    @Test
    void closingATensorEarlyRemovesItFromTheScope() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor t = make();
            t.close();
            assertEquals(0, scope.size());
        }
    }

    @Test
    void scopesMustCloseInReverseOrder() {
        TensorScope outer = TensorScope.open();
        TensorScope inner = TensorScope.open();
        assertThrows(IllegalStateException.class, outer::close);
        inner.close();
        outer.close();
        outer.close(); // closing twice is harmless
    }
}
