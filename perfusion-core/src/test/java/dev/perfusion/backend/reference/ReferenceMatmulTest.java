package dev.perfusion.backend.reference;

import static dev.perfusion.backend.reference.TestData.index;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Matrix products of the reference backend: written-out values, transpose flags and batch broadcasting. */
@Tag("unit")
class ReferenceMatmulTest {
    private final ReferenceBackend be = new ReferenceBackend();

    // a = [[1, 2, 3], [4, 5, 6]], b = [[7, 8], [9, 10], [11, 12]]
    // a·b = [[1·7+2·9+3·11, 1·8+2·10+3·12], [4·7+5·9+6·11, 4·8+5·10+6·12]] = [[58, 64], [139, 154]]
    private static final float[] A = {1, 2, 3, 4, 5, 6};
    private static final float[] B = {7, 8, 9, 10, 11, 12};
    private static final float[] AB = {58, 64, 139, 154};

    @Test
    void twoByThreeTimesThreeByTwo() {
        Tensor y = be.matmul(be.fromArray(A, Shape.of(2, 3)), be.fromArray(B, Shape.of(3, 2)), false, false);
        assertEquals(Shape.of(2, 2), y.shape());
        assertArrayEquals(AB, y.toFloatArray());
    }

    @Test
    void transposeFlagsReadTheLastTwoAxesTransposed() {
        Tensor aT = be.fromArray(new float[] {1, 4, 2, 5, 3, 6}, Shape.of(3, 2)); // aᵀ
        Tensor bT = be.fromArray(new float[] {7, 9, 11, 8, 10, 12}, Shape.of(2, 3)); // bᵀ
        Tensor a = be.fromArray(A, Shape.of(2, 3));
        Tensor b = be.fromArray(B, Shape.of(3, 2));
        assertArrayEquals(AB, be.matmul(aT, b, true, false).toFloatArray());
        assertArrayEquals(AB, be.matmul(a, bT, false, true).toFloatArray());
        assertArrayEquals(AB, be.matmul(aT, bT, true, true).toFloatArray());
        // bᵀ·aᵀ = (a·b)ᵀ
        Tensor ba = be.matmul(b, a, true, true);
        assertEquals(Shape.of(2, 2), ba.shape());
        assertArrayEquals(new float[] {58, 139, 64, 154}, ba.toFloatArray());
    }

    @Test
    void batchAxesBroadcast() {
        // a [2,1,2,3] · b [3,3,2] → [2,3,2,2]; y[i,j] = a[i,0] · b[j]
        Shape as = Shape.of(2, 1, 2, 3);
        Shape bs = Shape.of(3, 3, 2);
        float[] a = TestData.normal(1, as);
        float[] b = TestData.normal(2, bs);
        Tensor y = be.matmul(be.fromArray(a, as), be.fromArray(b, bs), false, false);
        assertEquals(Shape.of(2, 3, 2, 2), y.shape());
        float[] ys = y.toFloatArray();
        int[] yd = {2, 3, 2, 2};
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int m = 0; m < 2; m++) {
                    for (int n = 0; n < 2; n++) {
                        double acc = 0;
                        for (int k = 0; k < 3; k++) {
                            acc += (double) a[index(as.dims(), i, 0, m, k)] * b[index(bs.dims(), j, k, n)];
                        }
                        assertEquals((float) acc, ys[index(yd, i, j, m, n)], "at " + i + "," + j + "," + m + "," + n);
                    }
                }
            }
        }
        // a plain matrix broadcasts against a batch
        Tensor batch = be.fromArray(new float[] {1, 0, 0, 1, 2, 0, 0, 2}, Shape.of(2, 2, 2));
        Tensor m = be.fromArray(new float[] {1, 2, 3, 4}, Shape.of(2, 2));
        assertArrayEquals(new float[] {1, 2, 3, 4, 2, 4, 6, 8}, be.matmul(batch, m, false, false).toFloatArray());
    }

    @Test
    void rejectsMismatchedInnerSizesAndLowRank() {
        Tensor a = be.fromArray(A, Shape.of(2, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.matmul(a, a, false, false));
        assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("[2, 3]"), e.getMessage());
        Tensor v = be.fromArray(new float[] {1, 2, 3}, Shape.of(3));
        assertThrows(IllegalArgumentException.class, () -> be.matmul(a, v, false, false));
        Tensor b1 = be.fromArray(new float[12], Shape.of(2, 3, 2));
        Tensor b2 = be.fromArray(new float[18], Shape.of(3, 3, 2));
        Tensor a3 = be.fromArray(new float[12], Shape.of(2, 2, 3));
        assertThrows(IllegalArgumentException.class, () -> be.matmul(a3, b2, false, false));
        assertEquals(Shape.of(2, 2, 2), be.matmul(a3, b1, false, false).shape());
    }
}
