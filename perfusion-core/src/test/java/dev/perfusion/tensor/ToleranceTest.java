package dev.perfusion.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class ToleranceTest {

    @Test
    void boundIsAtolPlusRtolTimesTheReference() {
        Tolerance t = new Tolerance(0.1, 0.01);
        // expected 100: allowed error 0.1 + 1 = 1.1
        assertTrue(t.compare(new float[] {100}, new float[] {101}).ok());
        assertFalse(t.compare(new float[] {100}, new float[] {101.2f}).ok());
        // the relative part is taken from the expected value, not the actual one
        assertFalse(t.compare(new float[] {0}, new float[] {0.2f}).ok());
        assertTrue(t.compare(new float[] {-10}, new float[] {-10.15f}).ok());
    }

    @Test
    void nanAnywhereFails() {
        Tolerance loose = new Tolerance(1e9, 1);
        assertFalse(loose.compare(new float[] {1}, new float[] {Float.NaN}).ok());
        assertFalse(loose.compare(new float[] {Float.NaN}, new float[] {1}).ok());
    }

    @Test
    void comparisonReportsTheFirstBadIndexAndLargestErrors() {
        Tolerance.Comparison c = Tolerance.FLOAT32.compare(new float[] {1, 2, 4, 8}, new float[] {1, 2.5f, 4, 6});
        assertFalse(c.ok());
        assertEquals(1, c.firstBad());
        assertEquals(2.0, c.expected());
        assertEquals(2.5, c.actual());
        assertEquals(2.0, c.maxAbs(), 1e-12);
        assertEquals(0.25, c.maxRel(), 1e-12);
        assertEquals(4, c.count());
    }

    @Test
    void assertCloseNamesTheCoordinatesOfTheFirstMismatch() {
        float[] expected = {0, 1, 2, 3, 4, 5};
        float[] actual = {0, 1, 2, 3, 4.5f, 5};
        AssertionError e = assertThrows(AssertionError.class,
                () -> Tolerance.FLOAT32.assertClose("my op", Shape.of(2, 3), expected, actual));
        String m = e.getMessage();
        // flat index 4 of [2, 3] is row 1, column 1
        assertTrue(m.startsWith("my op") && m.contains("[1, 1]") && m.contains("[2, 3]"), m);
        assertTrue(m.contains("4.0000000") && m.contains("4.5000000"), m);
        assertDoesNotThrow(() -> Tolerance.FLOAT32.assertClose("same", Shape.of(2, 3), expected, expected.clone()));
    }

    @Test
    void assertCloseOnTensorsChecksShapesFirst() {
        Backend be = new ReferenceBackend();
        Tensor a = be.fromArray(new float[6], Shape.of(2, 3));
        Tensor b = be.fromArray(new float[6], Shape.of(3, 2));
        AssertionError e = assertThrows(AssertionError.class, () -> Tolerance.EXACT.assertClose("t", a, b));
        assertTrue(e.getMessage().contains("[3, 2]") && e.getMessage().contains("[2, 3]"), e.getMessage());
        assertDoesNotThrow(() -> Tolerance.EXACT.assertClose("t", a, be.fromArray(new float[6], Shape.of(2, 3))));
    }

    @Test
    void coordinatesOfAFlatIndex() {
        assertArrayEquals(new int[] {1, 2, 3}, Tolerance.coordinates(Shape.of(2, 3, 4), 12 + 8 + 3));
        assertArrayEquals(new int[] {0, 0}, Tolerance.coordinates(Shape.of(2, 2), 0));
        assertArrayEquals(new int[0], Tolerance.coordinates(Shape.of(), 0));
    }

    @Test
    void defaultsPerDType() {
        assertSame(Tolerance.FLOAT32, Tolerance.forDType(DType.FLOAT32));
        assertSame(Tolerance.FLOAT16, Tolerance.forDType(DType.FLOAT16));
        assertSame(Tolerance.BFLOAT16, Tolerance.forDType(DType.BFLOAT16));
        assertSame(Tolerance.EXACT, Tolerance.forDType(DType.INT64));
        assertSame(Tolerance.EXACT, Tolerance.forDType(DType.INT32));
    }
}
