package dev.perfusion.backend.nd4j;

import static dev.perfusion.backend.nd4j.Both.ND;
import static dev.perfusion.backend.nd4j.Both.REF;
import static dev.perfusion.backend.nd4j.Both.check;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.nd4j.Both.Pair;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BackendProvider;
import dev.perfusion.tensor.Backends;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.tensor.UnaryOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Memory, dtypes, zero-copy loading, ownership checks and the service provider of {@link Nd4jBackend}. */
@Tag("unit")
class Nd4jMemoryTest {

    private static Nd4jStorage storage(Tensor t) {
        return (Nd4jStorage) t.storage();
    }

    private static ByteBuffer direct(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void fromBytesWrapsADirectBufferWithoutCopying() {
        float[] v = HostRandom.normal(1, 12);
        ByteBuffer buf = direct(8 + 4 * v.length);
        buf.putLong(0); // 8 bytes before the data, like a safetensors header
        buf.asFloatBuffer();
        for (float f : v) {
            buf.putFloat(f);
        }
        buf.position(8);
        try (Tensor t = ND.fromBytes(buf, DType.FLOAT32, Shape.of(3, 4))) {
            assertEquals(8, buf.position(), "the caller's position is left alone");
            assertTrue(storage(t).isExternal());
            assertArrayEquals(v, t.toFloatArray());
            buf.putFloat(8, 42f); // a write through the buffer shows: the tensor reads the same memory
            assertEquals(42f, t.toFloatArray()[0]);
            Tensor y = ND.unary(UnaryOp.NEG, t);
            assertEquals(-42f, y.toFloatArray()[0]);
            y.close();
        }
    }

    @Test
    void fromBytesCopiesReadOnlyAndHeapBuffers() {
        float[] v = {1, -2, 3.5f, 4};
        ByteBuffer d = direct(16);
        d.asFloatBuffer().put(v);
        try (Tensor t = ND.fromBytes(d.asReadOnlyBuffer(), DType.FLOAT32, Shape.of(2, 2))) {
            assertFalse(storage(t).isExternal(), "a read-only buffer is copied, never written by a native op");
            assertArrayEquals(v, t.toFloatArray());
            try (Tensor s = ND.binary(BinaryOp.ADD, t, t)) {
                assertArrayEquals(new float[] {2, -4, 7, 8}, s.toFloatArray());
            }
        }
        ByteBuffer heap = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        heap.asFloatBuffer().put(v);
        try (Tensor t = ND.fromBytes(heap, DType.FLOAT32, Shape.of(4))) {
            assertFalse(storage(t).isExternal());
            heap.putFloat(0, 99f);
            assertArrayEquals(v, t.toFloatArray(), "a heap buffer is copied");
        }
        assertThrows(IllegalArgumentException.class, () -> ND.fromBytes(heap, DType.FLOAT32, Shape.of(5)));
    }

    @Test
    void fromBytesHalfAndIntegerTypes() {
        float[] v = HostRandom.normal(2, 10);
        for (DType t : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
            for (boolean isDirect : new boolean[] {true, false}) {
                ByteBuffer b = isDirect ? direct(20) : ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
                float[] expected = new float[v.length];
                for (int i = 0; i < v.length; i++) {
                    short bits = t == DType.FLOAT16 ? HalfFloats.floatToFp16(v[i]) : HalfFloats.floatToBf16(v[i]);
                    b.putShort(2 * i, bits);
                    expected[i] = HalfFloats.round(v[i], t);
                }
                try (Tensor n = ND.fromBytes(b, t, Shape.of(2, 5)); Tensor r = REF.fromBytes(b, t, Shape.of(2, 5))) {
                    assertEquals(t, n.dtype());
                    assertEquals(isDirect, storage(n).isExternal());
                    assertArrayEquals(expected, n.toFloatArray());
                    try (Tensor f = ND.cast(n, DType.FLOAT32); Tensor rf = REF.cast(r, DType.FLOAT32)) {
                        check("cast " + t + " to FLOAT32", rf, f, Tolerance.EXACT);
                    }
                }
            }
        }
        ByteBuffer ib = direct(12);
        ib.asIntBuffer().put(new int[] {5, -1, 7});
        try (Tensor n = ND.fromBytes(ib, DType.INT32, Shape.of(3))) {
            assertArrayEquals(new long[] {5, -1, 7}, n.toLongArray());
        }
        ByteBuffer lb = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        lb.asLongBuffer().put(new long[] {1L << 40, 49407});
        try (Tensor n = ND.fromBytes(lb, DType.INT64, Shape.of(2))) {
            assertArrayEquals(new long[] {1L << 40, 49407}, n.toLongArray());
        }
    }

    @Test
    void castRoundsLikeTheReference() {
        // ties, subnormals, overflow, infinities and NaN for both half formats
        float[] special = {0f, -0f, 1f, 65504f, 65520f, 1e5f, -1e5f, 5.9604645e-8f, 2.9802322e-8f, 1e-8f,
                6.1035156e-5f, 1.0009765625f, 1.00048828125f, 1.00146484375f, 3.3895314e38f, Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1.00390625f, 1.01171875f, -2.5e-39f};
        float[] random = HostRandom.normal(3, 4000);
        for (int i = 0; i < random.length; i++) {
            random[i] *= (float) Math.pow(10, (i % 14) - 8);
        }
        for (float[] data : new float[][] {special, random}) {
            for (DType t : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
                try (TensorScope s = TensorScope.open()) {
                    Tensor n = ND.cast(ND.fromArray(data, Shape.of(data.length)), t);
                    assertEquals(t, n.dtype());
                    float[] got = n.toFloatArray();
                    for (int i = 0; i < data.length; i++) {
                        float want = HalfFloats.round(data[i], t);
                        assertTrue(Float.isNaN(want) ? Float.isNaN(got[i])
                                        : Float.floatToIntBits(want) == Float.floatToIntBits(got[i]),
                                t + " of " + data[i] + ": want " + want + ", got " + got[i]);
                    }
                    // half to the other half type rounds once from the float value, as the reference does
                    DType other = t == DType.FLOAT16 ? DType.BFLOAT16 : DType.FLOAT16;
                    float[] twice = ND.cast(n, other).toFloatArray();
                    for (int i = 0; i < data.length; i++) {
                        float want = HalfFloats.round(HalfFloats.round(data[i], t), other);
                        assertTrue(Float.isNaN(want) ? Float.isNaN(twice[i]) : want == twice[i],
                                t + " → " + other + " of " + data[i]);
                    }
                }
            }
        }
    }

    @Test
    void castBetweenFloatAndIntegers() {
        float[] v = {0.9f, -0.9f, 2.5f, -2.5f, 3e9f, -3e9f, Float.NaN, 7f};
        try (TensorScope s = TensorScope.open()) {
            Tensor r = REF.fromArray(v, Shape.of(v.length));
            Tensor n = ND.fromArray(v, Shape.of(v.length));
            for (DType t : new DType[] {DType.INT32, DType.INT64}) {
                Tensor ri = REF.cast(r, t);
                Tensor ni = ND.cast(n, t);
                assertEquals(t, ni.dtype());
                assertArrayEquals(ri.toLongArray(), ni.toLongArray(), "FLOAT32 → " + t);
                check(t + " → FLOAT32", REF.cast(ri, DType.FLOAT32), ND.cast(ni, DType.FLOAT32), Tolerance.EXACT);
                // 3e9 overflows FLOAT16 to +inf on both (Tolerance cannot compare infinities: inf − inf is NaN)
                assertArrayEquals(REF.cast(ri, DType.FLOAT16).toFloatArray(), ND.cast(ni, DType.FLOAT16).toFloatArray(),
                        t + " → FLOAT16");
            }
            long[] big = {1L << 33 | 5, -1, 1L << 31};
            Tensor l = ND.fromArray(big, Shape.of(3));
            assertArrayEquals(REF.cast(REF.fromArray(big, Shape.of(3)), DType.INT32).toLongArray(),
                    ND.cast(l, DType.INT32).toLongArray(), "INT64 → INT32 keeps the low bits");
            Tensor same = ND.cast(n, DType.FLOAT32);
            assertSame(n.storage(), same.storage(), "a cast to the same dtype shares memory");
            assertThrows(IllegalArgumentException.class, () -> ND.toLongArray(n));
            assertArrayEquals(new float[] {1, 2}, ND.fromArray(new int[] {1, 2}, Shape.of(2)).toFloatArray());
        }
    }

    @Test
    void closingFreesTheNativeArray() {
        Tensor t = ND.fromArray(new float[] {1, 2, 3, 4}, Shape.of(2, 2));
        Nd4jStorage st = storage(t);
        INDArray base = st.base();
        Tensor y = ND.matmul(t, t, false, false);
        INDArray yBase = storage(y).base();
        t.close();
        y.close();
        assertTrue(t.isClosed());
        assertTrue(st.isFreed());
        assertTrue(base.wasClosed(), "the native buffer is released at close, not at garbage collection");
        assertTrue(yBase.wasClosed());
        assertThrows(IllegalStateException.class, t::toFloatArray);
        assertThrows(IllegalStateException.class, () -> ND.unary(UnaryOp.EXP, t));
    }

    @Test
    void aViewKeepsTheMemoryAliveAfterTheBaseIsClosed() {
        Tensor t = ND.fromArray(new float[] {1, 2, 3, 4, 5, 6}, Shape.of(2, 3));
        Tensor v = ND.reshape(t, Shape.of(3, 2));
        Tensor w = ND.reshape(v, Shape.of(6));
        Nd4jStorage st = storage(t);
        INDArray base = st.base();
        t.close();
        assertFalse(st.isFreed());
        assertSame(st, v.storage());
        assertFalse(base.wasClosed());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, v.toFloatArray());
        try (Tensor s = ND.sum(v, new int[] {1}, false)) {
            assertArrayEquals(new float[] {3, 7, 11}, s.toFloatArray());
        }
        v.close();
        assertFalse(base.wasClosed());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, w.toFloatArray());
        w.close();
        assertTrue(st.isFreed());
        assertTrue(base.wasClosed());
    }

    @Test
    void scopesCloseWhatTheOpsMade() {
        Tensor kept;
        INDArray tmp;
        try (TensorScope s = TensorScope.open()) {
            Pair x = Both.randn(4, 4, 8);
            Tensor h = ND.unary(UnaryOp.SILU, x.nd());
            tmp = storage(h).base();
            kept = s.keep(ND.softmax(h));
        }
        assertTrue(tmp.wasClosed());
        assertFalse(kept.isClosed());
        assertEquals(4 * 8, kept.toFloatArray().length);
        kept.close();
    }

    @Test
    void opsRejectTensorsOfOtherBackendsAndWrongDtypes() {
        try (TensorScope s = TensorScope.open()) {
            Tensor r = REF.fromArray(new float[] {1, 2}, Shape.of(2));
            Tensor n = ND.fromArray(new float[] {1, 2}, Shape.of(2));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ND.binary(BinaryOp.ADD, n, r));
            assertTrue(e.getMessage().startsWith("binary ADD:") && e.getMessage().contains("reference"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> ND.matmul(r, r, false, false));
            assertTrue(e.getMessage().startsWith("matmul:"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ND.toFloatArray(r));
            assertThrows(IllegalArgumentException.class, () -> ND.reshape(r, Shape.of(1, 2)));
            assertThrows(IllegalArgumentException.class, () -> ND.concat(List.of(n, r), 0));
            Tensor h = ND.cast(n, DType.FLOAT16);
            e = assertThrows(IllegalArgumentException.class, () -> ND.unary(UnaryOp.EXP, h));
            assertTrue(e.getMessage().contains("FLOAT16"), e.getMessage());
            Tensor i = ND.fromArray(new long[] {1, 2}, Shape.of(2));
            e = assertThrows(IllegalArgumentException.class, () -> ND.softmax(i));
            assertTrue(e.getMessage().startsWith("softmax:") && e.getMessage().contains("INT64"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> ND.binary(BinaryOp.MUL, n, ND.fromArray(new float[3], Shape.of(3))));
            assertTrue(e.getMessage().contains("[2]") && e.getMessage().contains("[3]"), e.getMessage());
            // a second instance shares the engine, so its tensors mix freely with the first's
            Nd4jBackend other = new Nd4jBackend();
            Tensor o = other.fromArray(new float[] {3, 4}, Shape.of(2));
            assertArrayEquals(new float[] {4, 6}, ND.binary(BinaryOp.ADD, n, o).toFloatArray());
        }
    }

    @Test
    void providerIsRegisteredAndAvailable() {
        BackendProvider p = Backends.providers().stream().filter(x -> x.name().equals("nd4j")).findFirst()
                .orElseThrow(() -> new AssertionError("no nd4j provider in META-INF/services"));
        assertInstanceOf(Nd4jBackendProvider.class, p);
        assertEquals(10, p.priority());
        assertTrue(p.unavailableReason().isEmpty(), () -> p.unavailableReason().orElse(""));
        try (Backend b = Backends.create("nd4j")) {
            assertEquals("nd4j", b.name());
            try (Tensor t = b.fromArray(new float[] {1}, Shape.of(1))) {
                assertEquals(1f, t.item());
            }
        }
    }
}
