package dev.perfusion.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class ShapeTest {

    @Test
    void sizesAreCopiedIn() {
        int[] dims = {2, 3};
        Shape s = Shape.of(dims);
        dims[0] = 99;
        s.dims()[1] = 99;
        assertEquals(Shape.of(2, 3), s);
        assertArrayEquals(new int[] {2, 3}, s.dims());
    }

    @Test
    void rejectsNegativeAndOversizedSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -1));
        assertTrue(e.getMessage().contains("-1") && e.getMessage().contains("axis 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shape.ofLongs(2, 1L << 31));
        assertThrows(IllegalArgumentException.class, () -> Shape.ofLongs(-3));
        assertEquals(Shape.of(2, 5), Shape.ofLongs(2, 5));
    }

    @Test
    void numelAndRank() {
        assertEquals(0, Shape.of().rank());
        assertEquals(1, Shape.of().numel(), "a scalar has one element");
        assertEquals(0, Shape.of(2, 0, 3).numel());
        assertEquals(24, Shape.of(2, 3, 4).numel());
        assertEquals(24, Shape.of(2, 3, 4).numelInt());
        assertEquals(10_000_000_000L, Shape.of(100_000, 100_000).numel());
        assertThrows(IllegalStateException.class, () -> Shape.of(100_000, 100_000).numelInt());
    }

    @Test
    void negativeAxesCountFromTheEnd() {
        Shape s = Shape.of(2, 3, 4);
        assertEquals(4, s.dim(-1));
        assertEquals(2, s.dim(-3));
        assertEquals(3, s.dim(1));
        assertEquals(0, s.axis(-3));
        assertEquals(2, s.axis(-1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.axis(3));
        assertTrue(e.getMessage().contains("axis 3") && e.getMessage().contains("[2, 3, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.dim(-4));
        assertThrows(IllegalArgumentException.class, () -> Shape.of().axis(0));
    }

    @Test
    void rowMajorStrides() {
        assertArrayEquals(new long[] {12, 4, 1}, Shape.of(2, 3, 4).strides());
        assertArrayEquals(new long[] {1}, Shape.of(5).strides());
        assertArrayEquals(new long[0], Shape.of().strides());
        assertArrayEquals(new long[] {0, 1, 1}, Shape.of(2, 0, 1).strides()); // axes after an empty one still step by 1
    }

    @Test
    void withReplacesOneAxis() {
        assertEquals(Shape.of(2, 3, 7), Shape.of(2, 3, 4).with(-1, 7));
        assertEquals(Shape.of(9, 3), Shape.of(2, 3).with(0, 9));
    }

    @Test
    void broadcastAlignsFromTheRight() {
        assertEquals(Shape.of(2, 4, 3), Shape.broadcast(Shape.of(2, 1, 3), Shape.of(4, 1)));
        assertEquals(Shape.of(2, 4, 3), Shape.broadcast(Shape.of(4, 1), Shape.of(2, 1, 3)));
        assertEquals(Shape.of(5, 6), Shape.broadcast(Shape.of(5, 1), Shape.of(1, 6)));
        assertEquals(Shape.of(3), Shape.broadcast(Shape.of(), Shape.of(3)));
        assertEquals(Shape.of(3), Shape.broadcast(Shape.of(3), Shape.of()));
        assertEquals(Shape.of(), Shape.broadcast(Shape.of(), Shape.of()));
        assertEquals(Shape.of(0), Shape.broadcast(Shape.of(1), Shape.of(0)), "size 1 stretches to 0");
        assertEquals(Shape.of(2, 3), Shape.broadcast(Shape.of(2, 3), Shape.of(2, 3)));
    }

    @Test
    void broadcastRejectsIncompatibleSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Shape.broadcast(Shape.of(2, 3), Shape.of(4, 3)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shape.broadcast(Shape.of(0), Shape.of(2)));
        assertThrows(IllegalArgumentException.class, () -> Shape.broadcast(Shape.of(3), Shape.of(4, 2)));
    }

    @Test
    void equalityAndText() {
        assertEquals(Shape.of(2, 3), Shape.of(2, 3));
        assertEquals(Shape.of(2, 3).hashCode(), Shape.of(2, 3).hashCode());
        assertNotEquals(Shape.of(2, 3), Shape.of(3, 2));
        assertNotEquals(Shape.of(1), Shape.of());
        assertEquals("[2, 3]", Shape.of(2, 3).toString());
        assertEquals("[]", Shape.of().toString());
    }
}
