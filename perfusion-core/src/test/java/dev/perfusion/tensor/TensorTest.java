package dev.perfusion.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Tensor lifetime (close, views sharing storage) and its small accessors, on the reference backend. */
@Tag("unit")
class TensorTest {
    private final Backend be = new ReferenceBackend();

    @Test
    void accessors() {
        Tensor x = be.fromArray(new float[6], Shape.of(2, 3));
        assertSame(be, x.backend());
        assertEquals(2, x.rank());
        assertEquals(3, x.dim(-1));
        assertEquals(6, x.numel());
        assertEquals(DType.FLOAT32, x.dtype());
        assertTrue(x.toString().contains("[2, 3]") && x.toString().contains("reference"), x.toString());
    }

    @Test
    void closingTwiceIsHarmless() {
        Tensor x = be.fromArray(new float[] {1}, Shape.of(1));
        Storage s = x.storage();
        x.close();
        x.close();
        assertTrue(x.isClosed());
        assertTrue(s.isFreed());
    }

    @Test
    void useAfterCloseThrowsIllegalState() {
        Tensor x = be.fromArray(new float[] {1, 2}, Shape.of(2));
        x.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, x::toFloatArray);
        assertTrue(e.getMessage().contains("closed") && e.getMessage().contains("[2]"), e.getMessage());
        assertThrows(IllegalStateException.class, x::handle);
        assertThrows(IllegalStateException.class, x::storage);
        assertThrows(IllegalStateException.class, x::checkOpen);
        assertThrows(IllegalStateException.class, () -> be.affine(x, 1, 0));
        assertTrue(x.toString().contains("closed"));
        assertEquals(Shape.of(2), x.shape(), "metadata stays readable");
    }

    @Test
    void viewsKeepStorageAliveUntilTheLastCloses() {
        Tensor x = be.fromArray(new float[] {1, 2, 3, 4, 5, 6}, Shape.of(6));
        Storage s = x.storage();
        Tensor v1 = be.reshape(x, Shape.of(2, 3));
        Tensor v2 = be.reshape(v1, Shape.of(3, 2));
        x.close();
        v1.close();
        assertFalse(s.isFreed());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, v2.toFloatArray());
        v2.close();
        assertTrue(s.isFreed());
        assertThrows(IllegalStateException.class, s::retain);
    }

    @Test
    void itemNeedsOneElement() {
        assertEquals(3f, be.fromArray(new float[] {3}, Shape.of(1, 1)).item());
        assertThrows(IllegalStateException.class, () -> be.fromArray(new float[2], Shape.of(2)).item());
    }

    @Test
    void onlyFloatingTensorsRequireGrad() {
        Tensor ids = be.fromArray(new long[] {1}, Shape.of(1));
        assertThrows(IllegalArgumentException.class, () -> ids.requiresGrad(true));
        Tensor w = be.fromArray(new float[] {1}, Shape.of(1)).requiresGrad(true);
        assertTrue(w.requiresGrad());
        assertTrue(w.isLeaf());
        assertNull(w.grad());
    }

    @Test
    void gradientMustMatchShape() {
        Tensor w = be.fromArray(new float[2], Shape.of(2)).requiresGrad(true);
        assertThrows(IllegalArgumentException.class, () -> w.setGrad(be.fromArray(new float[3], Shape.of(3))));
        Tensor g = be.fromArray(new float[] {1, 2}, Shape.of(2));
        w.setGrad(g);
        assertSame(g, w.grad());
        w.zeroGrad();
        assertNull(w.grad());
        assertTrue(g.isClosed(), "a replaced gradient is closed");
    }
}
