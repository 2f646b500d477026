package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaTestSupport.REF;
import static dev.perfusion.cuda.CudaTestSupport.check;
import static dev.perfusion.cuda.CudaTestSupport.cuda;
import static dev.perfusion.cuda.CudaTestSupport.randn;
import static dev.perfusion.cuda.CudaTestSupport.randnPair;
import static dev.perfusion.cuda.CudaTestSupport.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.cuda.CudaTestSupport.Pair;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.tensor.UnaryOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every memory, elementwise, reduction and shape op of {@link CudaBackend} against {@link
 * dev.perfusion.backend.reference.ReferenceBackend} on seeded FLOAT32 inputs: odd sizes (1, 7, 33, 129, 4097),
 * broadcasting, more than six axes, the SD v1.5 activation shapes, and the error cases. The nn ops are in
 * {@link CudaBackendNnOpsTest}, the products in {@link CudaBackendLinearOpsTest}, half storage in
 * {@link CudaBackendHalfOpsTest}. Tier {@code cuda}: skipped with the probe's reason without a GPU.
 */
@Tag("cuda")
class CudaBackendOpsTest {
    private static final int[] SIZES = {1, 7, 33, 129, 4097};
    private TensorScope scope;

    @BeforeEach
    void open() {
        CudaTestSupport.needsAGpu();
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        if (scope != null) {
            scope.close();
        }
    }

    // ------------------------------------------------------------------ memory

    @Test
    void arraysRoundTripExactly() {
        float[] f = randn(1, 129);
        assertArrayEquals(f, cuda().fromArray(f, Shape.of(3, 43)).toFloatArray());
        long[] l = {0, -1, Long.MAX_VALUE, Long.MIN_VALUE, 49407, 7};
        Tensor lt = cuda().fromArray(l, Shape.of(2, 3));
        assertEquals(DType.INT64, lt.dtype());
        assertArrayEquals(l, lt.toLongArray());
        int[] i = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 5};
        Tensor it = cuda().fromArray(i, Shape.of(5));
        assertArrayEquals(new long[] {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 5}, it.toLongArray());
        assertArrayEquals(REF.fromArray(i, Shape.of(5)).toFloatArray(), it.toFloatArray());
        assertEquals(0, cuda().fromArray(new float[0], Shape.of(0, 3)).toFloatArray().length);
        // larger than the 8 MiB staging buffer
        float[] big = randn(2, 3_000_001);
        assertArrayEquals(big, cuda().fromArray(big, Shape.of(3_000_001)).toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> cuda().fromArray(new float[5], Shape.of(2, 3)));
    }

    @Test
    void fromBytesMatchesTheReferenceForEveryDType() {
        for (DType dt : DType.values()) {
            int n = 33;
            ByteBuffer b = ByteBuffer.allocate(n * dt.byteSize() + 3).order(ByteOrder.LITTLE_ENDIAN);
            b.position(3); // data starts after the position, which must be respected and left alone
            float[] v = randn(3, n, 100f);
            for (float x : v) {
                switch (dt) {
                    case FLOAT32 -> b.putFloat(x);
                    case FLOAT16 -> b.putShort(HalfFloats.floatToFp16(x));
                    case BFLOAT16 -> b.putShort(HalfFloats.floatToBf16(x));
                    case INT32 -> b.putInt((int) x);
                    case INT64 -> b.putLong((long) x);
                }
            }
            b.position(3);
            Tensor r = REF.fromBytes(b, dt, Shape.of(3, 11));
            Tensor g = cuda().fromBytes(b, dt, Shape.of(3, 11));
            assertEquals(3, b.position(), "position unchanged");
            assertEquals(dt, g.dtype());
            check("fromBytes " + dt, r, g, dt, Tolerance.EXACT);
            if (!dt.isFloating()) {
                assertArrayEquals(r.toLongArray(), g.toLongArray(), "toLongArray " + dt);
            }
        }
        ByteBuffer direct = ByteBuffer.allocateDirect(16).order(ByteOrder.LITTLE_ENDIAN);
        direct.putFloat(1).putFloat(2).putFloat(3).putFloat(4).flip();
        assertArrayEquals(new float[] {1, 2, 3, 4}, cuda().fromBytes(direct, DType.FLOAT32, Shape.of(4)).toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> cuda().fromBytes(ByteBuffer.allocate(7), DType.FLOAT32,
                Shape.of(2)));
    }

    @Test
    void castMatchesTheReferenceBitForBit() {
        // specials: halfway cases of both half types, overflow, subnormals, saturation of integer casts
        float[] special = {0f, -0f, 1f, -1.5f, 65504f, 65520f, 70000f, -70000f, 1e-8f, 6e-8f, 3e-5f,
            1.0009765625f, 1.00048828125f, 1.0029296875f, 2.5f, -2.5f, 3.9e9f, -3.9e9f, 1e19f, -1e19f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 123456.789f, 0.333333f, Float.MIN_VALUE};
        float[] random = randn(4, 4097, 1000f);
        for (float[] v : List.of(special, random)) {
            for (DType from : DType.values()) {
                if (!from.isFloating() && v == special) {
                    continue; // integer sources come from the random values below
                }
                Tensor r0 = REF.cast(REF.fromArray(v, Shape.of(v.length)), from);
                Tensor g0 = cuda().cast(cuda().fromArray(v, Shape.of(v.length)), from);
                CudaTestSupport.checkBits("cast FLOAT32 -> " + from, r0, g0, from);
                for (DType to : DType.values()) {
                    Tensor r = REF.cast(r0, to);
                    Tensor g = cuda().cast(g0, to);
                    CudaTestSupport.checkBits("cast " + from + " -> " + to, r, g, to);
                    if (!to.isFloating()) {
                        assertArrayEquals(r.toLongArray(), g.toLongArray(), "cast " + from + " -> " + to);
                    }
                }
            }
        }
        // NaN: stays NaN in the float types, 0 in the integers (Java's narrowing)
        Tensor nan = cuda().fromArray(new float[] {Float.NaN}, Shape.of(1));
        for (DType to : DType.values()) {
            float got = cuda().cast(nan, to).toFloatArray()[0];
            assertTrue(to.isFloating() ? Float.isNaN(got) : got == 0f, "NaN -> " + to + " gave " + got);
        }
    }

    @Test
    void fullAndRandn() {
        check("full", REF.full(Shape.of(7, 33), -2.5f), cuda().full(Shape.of(7, 33), -2.5f));
        check("randn", REF.randn(Shape.of(2, 4, 9, 7), 42), cuda().randn(Shape.of(2, 4, 9, 7), 42), DType.FLOAT32,
                Tolerance.EXACT);
    }

    // ------------------------------------------------------------------ elementwise

    /** Inputs inside the op's domain: positive for log/sqrt/rsqrt, moderate elsewhere. */
    private static float[] domain(UnaryOp op, long seed, int n) {
        return switch (op) {
            case LOG, SQRT, RSQRT -> uniform(seed, n, 0.05f, 20f);
            case EXP -> uniform(seed, n, -20f, 20f);
            case SIN, COS -> uniform(seed, n, -1000f, 1000f); // timestep embeddings reach ~1000 rad
            default -> randn(seed, n, 3f);
        };
    }

    @Test
    void unaryAndItsDerivativeForEveryOp() {
        for (UnaryOp op : UnaryOp.values()) {
            for (int n : SIZES) {
                Shape s = Shape.of(n);
                Pair x = CudaTestSupport.pair(domain(op, 10 + n, n), s, DType.FLOAT32);
                Pair dy = randnPair(20 + n, s);
                check("unary " + op + " n=" + n, REF.unary(op, x.ref()), cuda().unary(op, x.gpu()));
                check("unaryBackward " + op + " n=" + n, REF.unaryBackward(op, x.ref(), dy.ref()),
                        cuda().unaryBackward(op, x.gpu(), dy.gpu()));
            }
        }
    }

    @Test
    void binaryWithNumpyBroadcasting() {
        int[][][] cases = {
            {{7, 33}, {7, 33}},
            {{2, 3, 129}, {129}},
            {{2, 1, 4}, {3, 1}},
            {{2, 320, 8, 8}, {320, 1, 1}},      // a conv bias
            {{1}, {7, 33}},
            {{}, {5}},
            {{4097}, {}},
            {{2, 77, 768}, {1, 77, 768}},        // position embeddings
            {{2, 1, 2, 1, 2, 1, 2, 3}, {1, 2, 1, 2, 1, 2, 1, 3}}, // eight axes that cannot merge: a host loop
        };
        for (BinaryOp op : BinaryOp.values()) {
            int seed = 100;
            for (int[][] c : cases) {
                Pair a = randnPair(seed++, Shape.of(c[0]));
                Pair b = op == BinaryOp.DIV
                        ? CudaTestSupport.pair(uniform(seed++, (int) Shape.of(c[1]).numel(), 0.5f, 3f), Shape.of(c[1]),
                                DType.FLOAT32)
                        : randnPair(seed++, Shape.of(c[1]));
                String what = "binary " + op + " " + Shape.of(c[0]) + " " + Shape.of(c[1]);
                check(what, REF.binary(op, a.ref(), b.ref()), cuda().binary(op, a.gpu(), b.gpu()));
                check(what + " swapped", REF.binary(op, b.ref(), a.ref()), cuda().binary(op, b.gpu(), a.gpu()));
            }
        }
        Tensor nan = cuda().fromArray(new float[] {Float.NaN, 1f, -0f}, Shape.of(3));
        Tensor one = cuda().fromArray(new float[] {1f, Float.NaN, 0f}, Shape.of(3));
        float[] mx = cuda().binary(BinaryOp.MAXIMUM, nan, one).toFloatArray();
        assertTrue(Float.isNaN(mx[0]) && Float.isNaN(mx[1]), "maximum propagates NaN");
        assertEquals(Float.floatToIntBits(0f), Float.floatToIntBits(mx[2]), "max(-0, +0) = +0");
        float[] mn = cuda().binary(BinaryOp.MINIMUM, nan, one).toFloatArray();
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(mn[2]), "min(-0, +0) = -0");
        assertThrows(IllegalArgumentException.class, () -> cuda().binary(BinaryOp.ADD,
                cuda().full(Shape.of(2, 3), 1), cuda().full(Shape.of(4), 1)));
    }

    @Test
    void affineAndPow() {
        for (int n : SIZES) {
            Pair x = randnPair(30 + n, Shape.of(n));
            check("affine n=" + n, REF.affine(x.ref(), 0.18215f, -1.5f), cuda().affine(x.gpu(), 0.18215f, -1.5f));
            Pair pos = CudaTestSupport.pair(uniform(40 + n, n, 0.01f, 5f), Shape.of(n), DType.FLOAT32);
            for (float p : new float[] {2f, 0.5f, -1f, 3f, 0f, 1.7f}) {
                check("pow " + p + " n=" + n, REF.pow(pos.ref(), p), cuda().pow(pos.gpu(), p));
            }
            check("pow 3 of negatives", REF.pow(x.ref(), 3f), cuda().pow(x.gpu(), 3f));
        }
    }

    // ------------------------------------------------------------------ reductions

    @Test
    void sumOverAnyAxes() {
        Pair x = randnPair(50, Shape.of(3, 7, 33, 5));
        int[][] axes = {{}, {0}, {-1}, {1}, {0, 2}, {1, 3}, {0, 1, 2, 3}, {3, 0}, {2}};
        for (int[] a : axes) {
            for (boolean keep : new boolean[] {false, true}) {
                String what = "sum " + java.util.Arrays.toString(a) + " keepDims " + keep;
                check(what, REF.sum(x.ref(), a, keep), cuda().sum(x.gpu(), a, keep));
            }
        }
        // SD shapes: a GroupNorm-sized reduction and a bias gradient (many outputs, reduce the batch)
        Pair big = randnPair(51, Shape.of(2, 320, 64, 64));
        check("sum over H, W", REF.sum(big.ref(), new int[] {2, 3}, false), cuda().sum(big.gpu(), new int[] {2, 3}, false));
        check("sum all", REF.sum(big.ref(), new int[0], false), cuda().sum(big.gpu(), new int[0], false));
        Pair rows = randnPair(52, Shape.of(4096, 640));
        check("sum over rows", REF.sum(rows.ref(), new int[] {0}, false), cuda().sum(rows.gpu(), new int[] {0}, false));
        Pair empty = randnPair(53, Shape.of(3, 0, 2));
        check("sum over an empty axis", REF.sum(empty.ref(), new int[] {1}, false),
                cuda().sum(empty.gpu(), new int[] {1}, false));
        assertThrows(IllegalArgumentException.class, () -> cuda().sum(x.gpu(), new int[] {1, -3}, false));
        assertThrows(IllegalArgumentException.class, () -> cuda().sum(x.gpu(), new int[] {4}, false));
    }

    @Test
    void maxAlongOneAxis() {
        for (int n : SIZES) {
            Pair x = randnPair(60 + n, Shape.of(3, n, 5));
            for (int axis : new int[] {0, 1, 2, -1}) {
                for (boolean keep : new boolean[] {false, true}) {
                    check("max n=" + n + " axis " + axis + " keep " + keep, REF.max(x.ref(), axis, keep),
                            cuda().max(x.gpu(), axis, keep));
                }
            }
        }
        Tensor withNan = cuda().fromArray(new float[] {1, Float.NaN, 3, 4, 5, 6}, Shape.of(2, 3));
        float[] m = cuda().max(withNan, 1, false).toFloatArray();
        assertTrue(Float.isNaN(m[0]), "NaN propagates");
        assertEquals(6f, m[1]);
        assertThrows(IllegalArgumentException.class, () -> cuda().max(cuda().full(Shape.of(2, 0), 0), 1, false));
    }

    // ------------------------------------------------------------------ shape

    @Test
    void reshapeSharesTheMemory() {
        Pair x = randnPair(70, Shape.of(2, 3, 4));
        Tensor y = cuda().reshape(x.gpu(), Shape.of(6, 4));
        assertSame(x.gpu().storage(), y.storage());
        check("reshape", REF.reshape(x.ref(), Shape.of(6, 4)), y);
        x.gpu().close();
        assertEquals(24, y.toFloatArray().length, "a view keeps the storage alive");
        assertThrows(IllegalArgumentException.class, () -> cuda().reshape(y, Shape.of(5, 5)));
    }

    @Test
    void permuteSliceConcatPadExpand() {
        Pair x = randnPair(80, Shape.of(2, 77, 8, 40));
        for (int[] perm : new int[][] {{0, 2, 1, 3}, {3, 2, 1, 0}, {0, 1, 2, 3}, {1, 0, 3, 2}, {0, -2, 1, -1}}) {
            check("permute " + java.util.Arrays.toString(perm), REF.permute(x.ref(), perm),
                    cuda().permute(x.gpu(), perm), DType.FLOAT32, Tolerance.EXACT);
        }
        Pair seven = randnPair(81, Shape.of(2, 3, 2, 3, 2, 3, 2));
        int[] rev = {6, 5, 4, 3, 2, 1, 0};
        check("permute of seven axes", REF.permute(seven.ref(), rev), cuda().permute(seven.gpu(), rev),
                DType.FLOAT32, Tolerance.EXACT);
        assertThrows(IllegalArgumentException.class, () -> cuda().permute(x.gpu(), 0, 0, 1, 2));

        for (int[] s : new int[][] {{1, 3, 40}, {3, 0, 8}, {0, 5, 2}, {-1, 10, 40}, {2, 7, 7}}) {
            check("slice " + java.util.Arrays.toString(s), REF.slice(x.ref(), s[0], s[1], s[2]),
                    cuda().slice(x.gpu(), s[0], s[1], s[2]), DType.FLOAT32, Tolerance.EXACT);
        }
        assertThrows(IllegalArgumentException.class, () -> cuda().slice(x.gpu(), 1, 5, 78));

        Pair a = randnPair(82, Shape.of(2, 3, 5));
        Pair b = randnPair(83, Shape.of(2, 1, 5));
        Pair c = randnPair(84, Shape.of(2, 7, 5));
        check("concat axis 1", REF.concat(List.of(a.ref(), b.ref(), c.ref()), 1),
                cuda().concat(List.of(a.gpu(), b.gpu(), c.gpu()), 1), DType.FLOAT32, Tolerance.EXACT);
        check("concat axis 0", REF.concat(List.of(a.ref(), a.ref()), 0),
                cuda().concat(List.of(a.gpu(), a.gpu()), 0), DType.FLOAT32, Tolerance.EXACT);
        assertThrows(IllegalArgumentException.class, () -> cuda().concat(List.of(a.gpu(), c.gpu()), 0));

        check("pad", REF.pad(a.ref(), new int[] {0, 1, 2}, new int[] {1, 0, 3}, -7f),
                cuda().pad(a.gpu(), new int[] {0, 1, 2}, new int[] {1, 0, 3}, -7f), DType.FLOAT32, Tolerance.EXACT);
        Tensor ids = cuda().fromArray(new long[] {1, 2, 3}, Shape.of(1, 3));
        Tensor padded = cuda().pad(ids, new int[] {0, 1}, new int[] {0, 2}, 49407f);
        assertArrayEquals(new long[] {49407, 1, 2, 3, 49407, 49407}, padded.toLongArray());
        assertThrows(IllegalArgumentException.class, () -> cuda().pad(ids, new int[] {0, 0}, new int[] {0, 1}, 0.5f));

        Pair e = randnPair(85, Shape.of(3, 1, 5));
        check("expand", REF.expand(e.ref(), Shape.of(2, 3, 4, 5)), cuda().expand(e.gpu(), Shape.of(2, 3, 4, 5)),
                DType.FLOAT32, Tolerance.EXACT);
        assertThrows(IllegalArgumentException.class, () -> cuda().expand(e.gpu(), Shape.of(3, 2, 5)));
    }

    @Test
    void shapeOpsWorkForIntegerAndHalfDTypes() {
        for (DType dt : new DType[] {DType.INT32, DType.INT64, DType.FLOAT16, DType.BFLOAT16}) {
            float[] v = randn(90, 2 * 3 * 7, 50f);
            Tensor r = REF.cast(REF.fromArray(v, Shape.of(2, 3, 7)), dt);
            Tensor g = cuda().cast(cuda().fromArray(v, Shape.of(2, 3, 7)), dt);
            check("permute " + dt, REF.permute(r, 2, 0, 1), cuda().permute(g, 2, 0, 1), dt, Tolerance.EXACT);
            check("slice " + dt, REF.slice(r, 2, 1, 6), cuda().slice(g, 2, 1, 6), dt, Tolerance.EXACT);
            check("concat " + dt, REF.concat(List.of(r, r), 1), cuda().concat(List.of(g, g), 1), dt, Tolerance.EXACT);
            check("pad " + dt, REF.pad(r, new int[] {1, 0, 0}, new int[] {0, 0, 2}, 3f),
                    cuda().pad(g, new int[] {1, 0, 0}, new int[] {0, 0, 2}, 3f), dt, Tolerance.EXACT);
            check("expand " + dt, REF.expand(REF.slice(r, 1, 0, 1), Shape.of(4, 2, 5, 7)),
                    cuda().expand(cuda().slice(g, 1, 0, 1), Shape.of(4, 2, 5, 7)), dt, Tolerance.EXACT);
            check("reshape " + dt, REF.reshape(r, Shape.of(42)), cuda().reshape(g, Shape.of(42)), dt, Tolerance.EXACT);
        }
    }

    // ------------------------------------------------------------------ errors

    @Test
    void badInputsAreIllegalArgumentsNamingTheOp() {
        Tensor ints = cuda().fromArray(new long[] {1, 2}, Shape.of(2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cuda().unary(UnaryOp.EXP, ints));
        assertTrue(e.getMessage().startsWith("unary EXP: x must be"), e.getMessage());
        Tensor foreign = REF.full(Shape.of(2), 1);
        e = assertThrows(IllegalArgumentException.class, () -> cuda().affine(foreign, 1, 0));
        assertTrue(e.getMessage().contains("belongs to backend 'reference'"), e.getMessage());
        Tensor half = cuda().cast(cuda().full(Shape.of(2, 2), 1), DType.FLOAT16);
        e = assertThrows(IllegalArgumentException.class, () -> cuda().sum(half, new int[0], false));
        assertTrue(e.getMessage().startsWith("sum: x must be FLOAT32, got FLOAT16"), e.getMessage());
        Tensor f32 = cuda().full(Shape.of(2, 2), 1);
        e = assertThrows(IllegalArgumentException.class, () -> cuda().binary(BinaryOp.ADD, f32, half));
        assertTrue(e.getMessage().contains("same dtype"), e.getMessage());
        Tensor closed = cuda().full(Shape.of(2), 1);
        closed.close();
        assertThrows(IllegalStateException.class, () -> cuda().affine(closed, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> cuda().toLongArray(f32));
    }
}
