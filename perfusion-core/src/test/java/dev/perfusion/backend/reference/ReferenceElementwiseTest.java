package dev.perfusion.backend.reference;

import static dev.perfusion.backend.reference.TestData.arange;
import static dev.perfusion.backend.reference.TestData.index;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Elementwise ops and reductions of the reference backend on hand-checked values. */
@Tag("unit")
class ReferenceElementwiseTest {
    private final ReferenceBackend be = new ReferenceBackend();

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryAppliesTheOpInDoubleAndRoundsOnce(UnaryOp op) {
        float[] xs = {0.25f, 0.5f, 1f, 1.75f, 3f};
        float[] ys = be.unary(op, be.fromArray(xs, Shape.of(5))).toFloatArray();
        for (int i = 0; i < xs.length; i++) {
            assertEquals((float) op.apply(xs[i]), ys[i], op + " at " + xs[i]);
        }
    }

    @Test
    void unaryKnownValues() {
        Tensor x = be.fromArray(new float[] {-2, 0, 1, 4}, Shape.of(4));
        assertArrayEquals(new float[] {2, -0f, -1, -4}, be.unary(UnaryOp.NEG, x).toFloatArray()); // −0 as in IEEE
        assertArrayEquals(new float[] {4, 0, 1, 16}, be.unary(UnaryOp.SQUARE, x).toFloatArray());
        assertArrayEquals(new float[] {-2 * (float) (1 / (1 + Math.exp(2))), 0, 0.7310586f, 3.9280550f},
                be.unary(UnaryOp.SILU, x).toFloatArray(), 1e-6f);
        // GELU(1) = Φ(1) = 0.8413447460685429, GELU(−2) = −2·Φ(−2) = −0.04550026389635842
        assertArrayEquals(new float[] {-0.04550026f, 0, 0.84134475f, 3.9998734f},
                be.unary(UnaryOp.GELU, x).toFloatArray(), 1e-6f);
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryBackwardIsDyTimesTheDerivative(UnaryOp op) {
        float[] xs = {0.3f, 0.9f, 1.5f, 2.2f};
        float[] dys = {1f, -2f, 0.5f, 3f};
        float[] dx = be.unaryBackward(op, be.fromArray(xs, Shape.of(2, 2)), be.fromArray(dys, Shape.of(2, 2)))
                .toFloatArray();
        for (int i = 0; i < xs.length; i++) {
            assertEquals((float) (dys[i] * op.derivative(xs[i])), dx[i], op + " at " + xs[i]);
        }
    }

    @Test
    void unaryBackwardRejectsMismatchedShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.unaryBackward(
                UnaryOp.EXP, be.fromArray(new float[4], Shape.of(4)), be.fromArray(new float[4], Shape.of(2, 2))));
        assertTrue(e.getMessage().contains("unaryBackward EXP") && e.getMessage().contains("[2, 2]"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(BinaryOp.class)
    void binaryOnEqualShapes(BinaryOp op) {
        float[] a = {1, -2, 3.5f, 0};
        float[] b = {2, 4, -1, 0.5f};
        float[] y = be.binary(op, be.fromArray(a, Shape.of(4)), be.fromArray(b, Shape.of(4))).toFloatArray();
        for (int i = 0; i < 4; i++) {
            assertEquals((float) op.apply(a[i], b[i]), y[i], op + " at " + i);
        }
    }

    @Test
    void binaryBroadcastsLikeNumPy() {
        // [2,1,3] + [4,1] → [2,4,3]: y[i,j,k] = a[i,0,k] + b[j,0]
        float[] a = arange(6);
        float[] b = {10, 20, 30, 40};
        Tensor y = be.binary(BinaryOp.ADD, be.fromArray(a, Shape.of(2, 1, 3)), be.fromArray(b, Shape.of(4, 1)));
        assertEquals(Shape.of(2, 4, 3), y.shape());
        float[] ys = y.toFloatArray();
        int[] dims = {2, 4, 3};
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 4; j++) {
                for (int k = 0; k < 3; k++) {
                    assertEquals(a[i * 3 + k] + b[j], ys[index(dims, i, j, k)]);
                }
            }
        }
        // a scalar broadcasts against anything, on either side
        Tensor s = be.fromArray(new float[] {2}, Shape.of());
        assertArrayEquals(new float[] {0, 2, 4}, be.binary(BinaryOp.MUL, s, be.fromArray(arange(3), Shape.of(3)))
                .toFloatArray());
        assertArrayEquals(new float[] {-2, -1, 0}, be.binary(BinaryOp.SUB, be.fromArray(arange(3), Shape.of(3)), s)
                .toFloatArray());
    }

    @Test
    void binaryDivisionFollowsIeee() {
        float[] y = be.binary(BinaryOp.DIV, be.fromArray(new float[] {1, -1, 0}, Shape.of(3)),
                be.fromArray(new float[] {0, 0, 0}, Shape.of(3))).toFloatArray();
        assertEquals(Float.POSITIVE_INFINITY, y[0]);
        assertEquals(Float.NEGATIVE_INFINITY, y[1]);
        assertTrue(Float.isNaN(y[2]));
    }

    @Test
    void binaryRejectsShapesThatDoNotBroadcast() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.binary(BinaryOp.MUL,
                be.fromArray(new float[6], Shape.of(2, 3)), be.fromArray(new float[4], Shape.of(4))));
        assertTrue(e.getMessage().contains("binary MUL") && e.getMessage().contains("[2, 3]")
                && e.getMessage().contains("[4]"), e.getMessage());
    }

    @Test
    void affineAndPow() {
        Tensor x = be.fromArray(new float[] {-1, 0, 2, 4}, Shape.of(2, 2));
        assertArrayEquals(new float[] {-0.5f, 1f, 4f, 7f}, be.affine(x, 1.5f, 1f).toFloatArray());
        assertArrayEquals(new float[] {1, 0, 4, 16}, be.pow(x, 2f).toFloatArray());
        Tensor pos = be.fromArray(new float[] {4, 9, 0.25f}, Shape.of(3));
        assertArrayEquals(new float[] {2, 3, 0.5f}, be.pow(pos, 0.5f).toFloatArray());
        assertArrayEquals(new float[] {0.25f, 1 / 9f, 4}, be.pow(pos, -1f).toFloatArray());
    }

    @Test
    void sumOverChosenAxes() {
        // x[i,j,k] = 12i + 4j + k over [2,3,4]
        Tensor x = be.fromArray(arange(24), Shape.of(2, 3, 4));
        Tensor s1 = be.sum(x, new int[] {1}, false);
        assertEquals(Shape.of(2, 4), s1.shape());
        // Σ_j (12i + 4j + k) = 36i + 12 + 3k
        assertArrayEquals(new float[] {12, 15, 18, 21, 48, 51, 54, 57}, s1.toFloatArray());

        Tensor kept = be.sum(x, new int[] {1}, true);
        assertEquals(Shape.of(2, 1, 4), kept.shape());
        assertArrayEquals(s1.toFloatArray(), kept.toFloatArray());

        // axes 0 and −1: Σ_{i,k} = 4·12·(0+1) + 2·4·4j + 2·6 = 48 + 32j + 12
        Tensor s02 = be.sum(x, new int[] {0, -1}, false);
        assertEquals(Shape.of(3), s02.shape());
        assertArrayEquals(new float[] {60, 92, 124}, s02.toFloatArray());
        assertEquals(Shape.of(1, 3, 1), be.sum(x, new int[] {-1, 0}, true).shape());
    }

    @Test
    void sumOverAllAxes() {
        Tensor x = be.fromArray(arange(24), Shape.of(2, 3, 4));
        Tensor all = be.sum(x, new int[0], false);
        assertEquals(Shape.of(), all.shape());
        assertEquals(276f, all.item());
        Tensor allKept = be.sum(x, new int[0], true);
        assertEquals(Shape.of(1, 1, 1), allKept.shape());
        assertEquals(276f, allKept.item());
    }

    @Test
    void sumAccumulatesInDouble() {
        // 2^24 + 1 + 1 … is exact in double; a float accumulator would stay at 2^24
        float[] v = new float[1001];
        v[0] = 0x1p24f;
        for (int i = 1; i < v.length; i++) {
            v[i] = 1f;
        }
        assertEquals(0x1p24f + 1000f, be.sum(be.fromArray(v, Shape.of(1001)), new int[0], false).item());
    }

    @Test
    void sumRejectsRepeatedAndOutOfRangeAxes() {
        Tensor x = be.fromArray(arange(6), Shape.of(2, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.sum(x, new int[] {1, -1}, false));
        assertTrue(e.getMessage().contains("sum"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.sum(x, new int[] {2}, false));
        assertTrue(e.getMessage().contains("sum") && e.getMessage().contains("axis 2"), e.getMessage());
    }

    @Test
    void maxAlongOneAxis() {
        Tensor x = be.fromArray(new float[] {1, 5, 2, 7, -1, 3}, Shape.of(2, 3));
        Tensor rows = be.max(x, 1, false);
        assertEquals(Shape.of(2), rows.shape());
        assertArrayEquals(new float[] {5, 7}, rows.toFloatArray());
        Tensor cols = be.max(x, 0, true);
        assertEquals(Shape.of(1, 3), cols.shape());
        assertArrayEquals(new float[] {7, 5, 3}, cols.toFloatArray());
        assertArrayEquals(new float[] {5, 7}, be.max(x, -1, false).toFloatArray());

        Tensor x3 = be.fromArray(arange(24), Shape.of(2, 3, 4));
        Tensor mid = be.max(x3, 1, false);
        assertEquals(Shape.of(2, 4), mid.shape());
        assertArrayEquals(new float[] {8, 9, 10, 11, 20, 21, 22, 23}, mid.toFloatArray());
    }

    @Test
    void maxPropagatesNaN() {
        Tensor x = be.fromArray(new float[] {1, Float.NaN, 3, 4, 2, 0}, Shape.of(2, 3));
        float[] m = be.max(x, 1, false).toFloatArray();
        assertTrue(Float.isNaN(m[0]));
        assertEquals(4f, m[1]);
    }
}
