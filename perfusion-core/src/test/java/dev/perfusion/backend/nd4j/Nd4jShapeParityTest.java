package dev.perfusion.backend.nd4j;

import static dev.perfusion.backend.nd4j.Both.ND;
import static dev.perfusion.backend.nd4j.Both.REF;
import static dev.perfusion.backend.nd4j.Both.check;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perfusion.backend.nd4j.Both.Pair;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Shape ops (reshape, permute, slice, concat, pad, expand) of {@link Nd4jBackend} against the reference. */
@Tag("unit")
class Nd4jShapeParityTest {
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void closeScope() {
        scope.close();
    }

    private static long[] seq(int n) {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = i * 7L - 20;
        }
        return v;
    }

    /** Integer tensors through a shape op must keep dtype and values exactly. */
    private static void checkLongs(String what, Tensor expected, Tensor actual) {
        assertEquals(expected.shape(), actual.shape(), what + ": shape");
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        assertArrayEquals(expected.toLongArray(), actual.toLongArray(), what);
    }

    @Test
    void reshapeSharesStorage() {
        Pair x = Both.randn(1, 2, 3, 4);
        Tensor v = ND.reshape(x.nd(), Shape.of(6, 4));
        assertSame(x.nd().storage(), v.storage());
        check("reshape", REF.reshape(x.ref(), Shape.of(6, 4)), v, Tolerance.EXACT);
        Tensor s = ND.reshape(ND.reshape(v, Shape.of(24)), Shape.of(1, 24, 1));
        check("reshape of a view", REF.reshape(x.ref(), Shape.of(1, 24, 1)), s, Tolerance.EXACT);
        Tensor scalar = ND.reshape(ND.fromArray(new float[] {4f}, Shape.of(1)), Shape.of());
        assertEquals(4f, scalar.item());
        assertThrows(IllegalArgumentException.class, () -> ND.reshape(x.nd(), Shape.of(5, 5)));
    }

    @Test
    void permute() {
        Pair x = Both.randn(2, 2, 3, 4, 5);
        for (int[] p : new int[][] {{0, 2, 1, 3}, {3, 2, 1, 0}, {1, 0, 3, 2}, {0, 1, 2, 3}, {-1, 0, 1, 2}}) {
            check("permute " + java.util.Arrays.toString(p), REF.permute(x.ref(), p), ND.permute(x.nd(), p),
                    Tolerance.EXACT);
        }
        Pair ids = Both.ids(seq(6), 2, 3);
        checkLongs("permute int64", REF.permute(ids.ref(), 1, 0), ND.permute(ids.nd(), 1, 0));
        assertThrows(IllegalArgumentException.class, () -> ND.permute(x.nd(), 0, 0, 1, 2));
        // the permuted tensor is a c-order copy: ops that reshape it see the permuted order
        Tensor p = ND.permute(x.nd(), 3, 0, 1, 2);
        check("reshape after permute", REF.reshape(REF.permute(x.ref(), 3, 0, 1, 2), Shape.of(5, 24)),
                ND.reshape(p, Shape.of(5, 24)), Tolerance.EXACT);
    }

    @Test
    void slice() {
        Pair x = Both.randn(3, 4, 5, 6);
        int[][] cases = {{0, 1, 3}, {1, 0, 5}, {1, 2, 3}, {2, 5, 6}, {-1, 1, 4}, {2, 0, 6}, {1, 3, 3}};
        for (int[] c : cases) {
            check("slice " + java.util.Arrays.toString(c), REF.slice(x.ref(), c[0], c[1], c[2]),
                    ND.slice(x.nd(), c[0], c[1], c[2]), Tolerance.EXACT);
        }
        Pair ids = Both.ids(seq(12), 3, 4);
        checkLongs("slice int64", REF.slice(ids.ref(), 1, 1, 3), ND.slice(ids.nd(), 1, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> ND.slice(x.nd(), 1, 3, 6));
        assertThrows(IllegalArgumentException.class, () -> ND.slice(x.nd(), 3, 0, 1));
    }

    @Test
    void concat() {
        Pair a = Both.randn(4, 2, 3, 4);
        Pair b = Both.randn(5, 2, 1, 4);
        Pair c = Both.randn(6, 2, 5, 4);
        check("concat axis 1", REF.concat(List.of(a.ref(), b.ref(), c.ref()), 1),
                ND.concat(List.of(a.nd(), b.nd(), c.nd()), 1), Tolerance.EXACT);
        check("concat axis 0", REF.concat(List.of(a.ref(), a.ref()), 0), ND.concat(List.of(a.nd(), a.nd()), 0),
                Tolerance.EXACT);
        check("concat axis -1", REF.concat(List.of(a.ref(), a.ref()), -1), ND.concat(List.of(a.nd(), a.nd()), -1),
                Tolerance.EXACT);
        check("concat one", REF.concat(List.of(b.ref()), 2), ND.concat(List.of(b.nd()), 2), Tolerance.EXACT);
        Pair e = Both.randn(7, 2, 0, 4);
        check("concat with an empty piece", REF.concat(List.of(a.ref(), e.ref()), 1),
                ND.concat(List.of(a.nd(), e.nd()), 1), Tolerance.EXACT);
        Pair i1 = Both.ids(seq(4), 2, 2);
        Pair i2 = Both.ids(seq(6), 2, 3);
        checkLongs("concat int64", REF.concat(List.of(i1.ref(), i2.ref()), 1), ND.concat(List.of(i1.nd(), i2.nd()), 1));
        assertThrows(IllegalArgumentException.class, () -> ND.concat(List.of(a.nd(), b.nd()), 0));
        assertThrows(IllegalArgumentException.class, () -> ND.concat(List.of(i1.nd(), a.nd()), 0));
    }

    @Test
    void pad() {
        Pair x = Both.randn(8, 2, 3, 4);
        check("pad", REF.pad(x.ref(), new int[] {0, 1, 2}, new int[] {1, 0, 3}, -0.5f),
                ND.pad(x.nd(), new int[] {0, 1, 2}, new int[] {1, 0, 3}, -0.5f), Tolerance.EXACT);
        check("pad nothing", REF.pad(x.ref(), new int[3], new int[3], 0f), ND.pad(x.nd(), new int[3], new int[3], 0f),
                Tolerance.EXACT);
        Pair ids = Both.ids(seq(6), 2, 3);
        checkLongs("pad int64", REF.pad(ids.ref(), new int[] {1, 0}, new int[] {0, 2}, 49407f),
                ND.pad(ids.nd(), new int[] {1, 0}, new int[] {0, 2}, 49407f));
        assertThrows(IllegalArgumentException.class, () -> ND.pad(ids.nd(), new int[] {1, 0}, new int[2], 0.5f));
        assertThrows(IllegalArgumentException.class, () -> ND.pad(x.nd(), new int[] {-1, 0, 0}, new int[3], 0f));
    }

    @Test
    void expand() {
        Pair x = Both.randn(9, 3, 1);
        check("expand [3,1] to [2,3,4]", REF.expand(x.ref(), Shape.of(2, 3, 4)), ND.expand(x.nd(), Shape.of(2, 3, 4)),
                Tolerance.EXACT);
        Pair one = Both.randn(10, 1);
        check("expand [1] to [5]", REF.expand(one.ref(), Shape.of(5)), ND.expand(one.nd(), Shape.of(5)),
                Tolerance.EXACT);
        Pair s = Both.of(new float[] {3f}, Shape.of());
        check("expand scalar", REF.expand(s.ref(), Shape.of(2, 2)), ND.expand(s.nd(), Shape.of(2, 2)), Tolerance.EXACT);
        Pair m = Both.randn(11, 1, 4, 1, 2);
        check("expand middle", REF.expand(m.ref(), Shape.of(3, 4, 5, 2)), ND.expand(m.nd(), Shape.of(3, 4, 5, 2)),
                Tolerance.EXACT);
        Pair ids = Both.ids(seq(3), 3);
        checkLongs("expand int64", REF.expand(ids.ref(), Shape.of(2, 3)), ND.expand(ids.nd(), Shape.of(2, 3)));
        assertThrows(IllegalArgumentException.class, () -> ND.expand(x.nd(), Shape.of(2, 4, 4)));
    }

    @Test
    void shapeOpsKeepHalfTypes() {
        Pair x = Both.randn(12, 2, 3);
        for (DType t : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
            Tensor r = REF.cast(x.ref(), t);
            Tensor n = ND.cast(x.nd(), t);
            check("permute " + t, REF.permute(r, 1, 0), ND.permute(n, 1, 0), Tolerance.EXACT);
            check("pad " + t, REF.pad(r, new int[] {1, 0}, new int[] {0, 1}, 0.1f),
                    ND.pad(n, new int[] {1, 0}, new int[] {0, 1}, 0.1f), Tolerance.EXACT);
            check("slice " + t, REF.slice(r, 1, 1, 3), ND.slice(n, 1, 1, 3), Tolerance.EXACT);
        }
    }
}
