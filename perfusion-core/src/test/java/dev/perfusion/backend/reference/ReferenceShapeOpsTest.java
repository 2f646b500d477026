package dev.perfusion.backend.reference;

import static dev.perfusion.backend.reference.TestData.arange;
import static dev.perfusion.backend.reference.TestData.index;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Storage;
import dev.perfusion.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Reshape, permute, slice, concat, pad and expand of the reference backend. */
@Tag("unit")
class ReferenceShapeOpsTest {
    private final ReferenceBackend be = new ReferenceBackend();

    @Test
    void reshapeIsAViewSharingStorage() {
        Tensor x = be.fromArray(arange(6), Shape.of(2, 3));
        Storage s = x.storage();
        Tensor y = be.reshape(x, Shape.of(3, 2));
        assertEquals(Shape.of(3, 2), y.shape());
        assertArrayEquals(arange(6), y.toFloatArray());
        x.close();
        assertFalse(s.isFreed(), "the view keeps the storage alive");
        assertArrayEquals(arange(6), y.toFloatArray());
        y.close();
        assertTrue(s.isFreed());
    }

    @Test
    void reshapeKeepsIntegerDTypeAndRejectsWrongCount() {
        Tensor ids = be.fromArray(new long[] {1, 2, 3, 4}, Shape.of(4));
        Tensor r = be.reshape(ids, Shape.of(2, 2));
        assertEquals(DType.INT64, r.dtype());
        assertArrayEquals(new long[] {1, 2, 3, 4}, r.toLongArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.reshape(ids, Shape.of(3)));
        assertTrue(e.getMessage().contains("reshape") && e.getMessage().contains("[3]"), e.getMessage());
    }

    @Test
    void permuteMovesAxes() {
        // y axis k is x axis perm[k]: perm (2, 0, 1) makes y[c, a, b] = x[a, b, c]
        int[] xd = {2, 3, 4};
        float[] xs = arange(24);
        Tensor y = be.permute(be.fromArray(xs, Shape.of(xd)), 2, 0, 1);
        assertEquals(Shape.of(4, 2, 3), y.shape());
        float[] ys = y.toFloatArray();
        int[] yd = {4, 2, 3};
        for (int a = 0; a < 2; a++) {
            for (int b = 0; b < 3; b++) {
                for (int c = 0; c < 4; c++) {
                    assertEquals(xs[index(xd, a, b, c)], ys[index(yd, c, a, b)]);
                }
            }
        }
        // a 2-D transpose, with negative axes
        Tensor t = be.permute(be.fromArray(arange(6), Shape.of(2, 3)), -1, -2);
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.toFloatArray());
        // integer tensors too
        Tensor ti = be.permute(be.fromArray(new int[] {1, 2, 3, 4, 5, 6}, Shape.of(3, 2)), 1, 0);
        assertArrayEquals(new long[] {1, 3, 5, 2, 4, 6}, ti.toLongArray());
    }

    @Test
    void permuteRejectsNonPermutations() {
        Tensor x = be.fromArray(arange(6), Shape.of(2, 3));
        assertThrows(IllegalArgumentException.class, () -> be.permute(x, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> be.permute(x, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.permute(x, 0, 2));
        assertTrue(e.getMessage().contains("permute"), e.getMessage());
    }

    @Test
    void sliceTakesARange() {
        Tensor x = be.fromArray(arange(8), Shape.of(2, 4));
        Tensor s = be.slice(x, 1, 1, 3);
        assertEquals(Shape.of(2, 2), s.shape());
        assertArrayEquals(new float[] {1, 2, 5, 6}, s.toFloatArray());
        assertArrayEquals(new float[] {4, 5, 6, 7}, be.slice(x, 0, 1, 2).toFloatArray());
        assertEquals(Shape.of(2, 0), be.slice(x, -1, 2, 2).shape());
        Tensor x3 = be.fromArray(arange(24), Shape.of(2, 3, 4));
        // the middle axis: x[:, 1:3, :]
        float[] mid = be.slice(x3, 1, 1, 3).toFloatArray();
        assertArrayEquals(new float[] {4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23}, mid);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.slice(x, 1, 2, 5));
        assertTrue(e.getMessage().contains("slice") && e.getMessage().contains("[2, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.slice(x, 1, 3, 2));
    }

    @Test
    void concatJoinsAlongAnAxis() {
        Tensor a = be.fromArray(new float[] {1, 2}, Shape.of(2, 1));
        Tensor b = be.fromArray(new float[] {3, 4, 5, 6}, Shape.of(2, 2));
        Tensor c = be.concat(List.of(a, b), 1);
        assertEquals(Shape.of(2, 3), c.shape());
        assertArrayEquals(new float[] {1, 3, 4, 2, 5, 6}, c.toFloatArray());
        Tensor rows = be.concat(List.of(b, b), -2);
        assertEquals(Shape.of(4, 2), rows.shape());
        assertArrayEquals(new float[] {3, 4, 5, 6, 3, 4, 5, 6}, rows.toFloatArray());
        Tensor ints = be.concat(List.of(be.fromArray(new long[] {1}, Shape.of(1)),
                be.fromArray(new long[] {2, 3}, Shape.of(2))), 0);
        assertEquals(DType.INT64, ints.dtype());
        assertArrayEquals(new long[] {1, 2, 3}, ints.toLongArray());
    }

    @Test
    void concatRejectsMismatches() {
        Tensor a = be.fromArray(new float[6], Shape.of(2, 3));
        Tensor b = be.fromArray(new float[6], Shape.of(3, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.concat(List.of(a, b), 1));
        assertTrue(e.getMessage().contains("concat") && e.getMessage().contains("[3, 2]"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> be.concat(List.of(a, be.fromArray(new int[6], Shape.of(2, 3))), 0));
        assertThrows(IllegalArgumentException.class, () -> be.concat(List.of(), 0));
    }

    @Test
    void padAddsValuesBeforeAndAfter() {
        Tensor x = be.fromArray(new float[] {1, 2, 3, 4}, Shape.of(2, 2));
        Tensor y = be.pad(x, new int[] {1, 0}, new int[] {0, 2}, 9f);
        assertEquals(Shape.of(3, 4), y.shape());
        assertArrayEquals(new float[] {
            9, 9, 9, 9,
            1, 2, 9, 9,
            3, 4, 9, 9}, y.toFloatArray());
        Tensor img = be.fromArray(new float[] {5}, Shape.of(1, 1, 1, 1));
        Tensor padded = be.pad(img, new int[] {0, 0, 1, 1}, new int[] {0, 0, 1, 1}, 0f);
        assertEquals(Shape.of(1, 1, 3, 3), padded.shape());
        assertArrayEquals(new float[] {0, 0, 0, 0, 5, 0, 0, 0, 0}, padded.toFloatArray());
        Tensor ids = be.pad(be.fromArray(new int[] {7, 8}, Shape.of(2)), new int[] {0}, new int[] {2}, 0f);
        assertArrayEquals(new long[] {7, 8, 0, 0}, ids.toLongArray());
        assertThrows(IllegalArgumentException.class, () -> be.pad(x, new int[] {1}, new int[] {1}, 0f));
        assertThrows(IllegalArgumentException.class, () -> be.pad(x, new int[] {-1, 0}, new int[] {0, 0}, 0f));
    }

    @Test
    void expandMaterialisesTheBroadcast() {
        Tensor x = be.fromArray(new float[] {1, 2, 3}, Shape.of(3, 1));
        Tensor y = be.expand(x, Shape.of(2, 3, 4));
        assertEquals(Shape.of(2, 3, 4), y.shape());
        float[] ys = y.toFloatArray();
        int[] dims = {2, 3, 4};
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 4; k++) {
                    assertEquals(j + 1, ys[index(dims, i, j, k)]);
                }
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.expand(x, Shape.of(2, 4)));
        assertTrue(e.getMessage().contains("expand") && e.getMessage().contains("[2, 4]"), e.getMessage());
        // expanding never drops axes
        assertThrows(IllegalArgumentException.class, () -> be.expand(x, Shape.of(3)));
    }
}
