package dev.perfusion.backend.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Memory ops of the reference backend: creation, raw bytes, conversions, casts and input validation. */
@Tag("unit")
class ReferenceMemoryTest {
    private final ReferenceBackend be = new ReferenceBackend();

    @Test
    void fromArrayCopiesAndKeepsShapeAndDType() {
        float[] data = {1, 2, 3, 4, 5, 6};
        Tensor x = be.fromArray(data, Shape.of(2, 3));
        data[0] = 99; // the tensor holds a copy
        assertEquals(Shape.of(2, 3), x.shape());
        assertEquals(DType.FLOAT32, x.dtype());
        assertSame(be, x.backend());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, x.toFloatArray());

        Tensor l = be.fromArray(new long[] {5L, -7L, 1L << 40}, Shape.of(3));
        assertEquals(DType.INT64, l.dtype());
        assertArrayEquals(new long[] {5, -7, 1L << 40}, l.toLongArray());
        Tensor i = be.fromArray(new int[] {3, -4}, Shape.of(2, 1));
        assertEquals(DType.INT32, i.dtype());
        assertArrayEquals(new long[] {3, -4}, i.toLongArray());
        assertArrayEquals(new float[] {3, -4}, i.toFloatArray());
    }

    @Test
    void fromArrayRejectsWrongLength() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.fromArray(new float[5], Shape.of(2, 3)));
        assertTrue(e.getMessage().contains("fromArray") && e.getMessage().contains("[2, 3]"), e.getMessage());
    }

    @Test
    void scalarShapeHoldsOneValue() {
        Tensor s = be.fromArray(new float[] {2.5f}, Shape.of());
        assertEquals(0, s.rank());
        assertEquals(2.5f, s.item());
    }

    @Test
    void fromBytesDecodesEveryDTypeLittleEndianFromThePosition() {
        ByteBuffer f32 = le(4 + 8);
        f32.putInt(0xdeadbeef); // skipped: data starts at the position
        int start = f32.position();
        f32.putFloat(1.5f).putFloat(-2f).position(start);
        Tensor a = be.fromBytes(f32, DType.FLOAT32, Shape.of(2));
        assertArrayEquals(new float[] {1.5f, -2f}, a.toFloatArray());
        assertEquals(start, f32.position(), "the buffer's position is left alone");

        // fp16: 1.0 = 0x3c00, −2 = 0xc000, 65504 (max) = 0x7bff, 2^-24 (smallest subnormal) = 0x0001
        ByteBuffer f16 = le(8).putShort((short) 0x3c00).putShort((short) 0xc000).putShort((short) 0x7bff)
                .putShort((short) 0x0001).flip();
        Tensor h = be.fromBytes(f16, DType.FLOAT16, Shape.of(2, 2));
        assertEquals(DType.FLOAT16, h.dtype());
        assertArrayEquals(new float[] {1f, -2f, 65504f, 0x1p-24f}, h.toFloatArray());

        // bf16 is the top half of a float32: 1.0 = 0x3f80, −0.5 = 0xbf00
        ByteBuffer bf16 = le(4).putShort((short) 0x3f80).putShort((short) 0xbf00).flip();
        assertArrayEquals(new float[] {1f, -0.5f}, be.fromBytes(bf16, DType.BFLOAT16, Shape.of(2)).toFloatArray());

        ByteBuffer i32 = le(8).putInt(7).putInt(-3).flip();
        Tensor ti = be.fromBytes(i32, DType.INT32, Shape.of(2));
        assertEquals(DType.INT32, ti.dtype());
        assertArrayEquals(new long[] {7, -3}, ti.toLongArray());

        ByteBuffer i64 = le(16).putLong(49407L).putLong(-1L << 40).flip();
        assertArrayEquals(new long[] {49407L, -1L << 40}, be.fromBytes(i64, DType.INT64, Shape.of(2)).toLongArray());
    }

    @Test
    void fromBytesReadsLittleEndianEvenFromABigEndianBuffer() {
        ByteBuffer big = ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN);
        big.put(new byte[] {0, 0, (byte) 0x80, 0x3f}); // 1.0f little-endian
        big.flip();
        assertArrayEquals(new float[] {1f}, be.fromBytes(big, DType.FLOAT32, Shape.of(1)).toFloatArray());
        assertEquals(ByteOrder.BIG_ENDIAN, big.order());
    }

    @Test
    void fromBytesRejectsWrongByteCount() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.fromBytes(le(6), DType.FLOAT32, Shape.of(2)));
        assertTrue(e.getMessage().contains("fromBytes") && e.getMessage().contains("8"), e.getMessage());
    }

    @Test
    void toLongArrayRejectsFloats() {
        Tensor x = be.fromArray(new float[] {1}, Shape.of(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, x::toLongArray);
        assertTrue(e.getMessage().contains("toLongArray"), e.getMessage());
    }

    @Test
    void castRoundsToHalfTypesToNearestEven() {
        // 1 + 2^-11 is the midpoint between fp16 1 and 1 + 2^-10: ties go to the even mantissa (1)
        // 1 + 3·2^-11 is the midpoint between 1 + 2^-10 and 1 + 2^-9: ties go to 1 + 2^-9
        float[] v = {1 + 0x1p-11f, 1 + 3 * 0x1p-11f, 70000f, 0.1f};
        Tensor x = be.fromArray(v, Shape.of(4));
        Tensor h = be.cast(x, DType.FLOAT16);
        assertEquals(DType.FLOAT16, h.dtype());
        assertArrayEquals(new float[] {1f, 1 + 0x1p-9f, Float.POSITIVE_INFINITY, 0.0999755859375f},
                h.toFloatArray());

        // bf16 keeps 8 significant bits: 1 + 2^-8 ties to 1, 1 + 3·2^-8 ties to 1 + 2^-6
        Tensor b = be.cast(be.fromArray(new float[] {1 + 0x1p-8f, 1 + 3 * 0x1p-8f}, Shape.of(2)), DType.BFLOAT16);
        assertArrayEquals(new float[] {1f, 1 + 0x1p-6f}, b.toFloatArray());

        Tensor back = be.cast(h, DType.FLOAT32);
        assertEquals(DType.FLOAT32, back.dtype());
        assertArrayEquals(h.toFloatArray(), back.toFloatArray());
    }

    @Test
    void castBetweenIntegerAndFloat() {
        Tensor x = be.fromArray(new float[] {-1.7f, 2.9f, 0f, 3e9f}, Shape.of(4));
        assertArrayEquals(new long[] {-1, 2, 0, 3_000_000_000L}, be.cast(x, DType.INT64).toLongArray());
        Tensor i32 = be.cast(be.fromArray(new float[] {-1.7f, 2.9f}, Shape.of(2)), DType.INT32);
        assertEquals(DType.INT32, i32.dtype());
        assertArrayEquals(new long[] {-1, 2}, i32.toLongArray());

        Tensor ids = be.fromArray(new long[] {3, -5}, Shape.of(2));
        assertArrayEquals(new float[] {3f, -5f}, be.cast(ids, DType.FLOAT32).toFloatArray());
        assertArrayEquals(new long[] {3, -5}, be.cast(ids, DType.INT32).toLongArray());
        Tensor wide = be.cast(be.fromArray(new int[] {7}, Shape.of(1)), DType.INT64);
        assertEquals(DType.INT64, wide.dtype());
        assertArrayEquals(new long[] {7}, wide.toLongArray());
        // an INT64 above 2^11 that fp16 cannot hold exactly rounds to even: 2049 → 2048
        assertArrayEquals(new float[] {2048f}, be.cast(be.fromArray(new long[] {2049}, Shape.of(1)), DType.FLOAT16)
                .toFloatArray());
    }

    @Test
    void fullAndRandn() {
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, be.full(Shape.of(3), 0.5f).toFloatArray());
        Tensor r = be.randn(Shape.of(3, 5), 42);
        assertEquals(Shape.of(3, 5), r.shape());
        assertArrayEquals(HostRandom.normal(42, 15), r.toFloatArray());
    }

    @Test
    void arithmeticRejectsHalfAndIntegerTensorsNamingTheOp() {
        Tensor h = be.cast(be.fromArray(new float[] {1}, Shape.of(1)), DType.FLOAT16);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.unary(UnaryOp.EXP, h));
        assertTrue(e.getMessage().contains("unary EXP") && e.getMessage().contains("FLOAT16"), e.getMessage());

        Tensor ids = be.fromArray(new long[] {1}, Shape.of(1));
        e = assertThrows(IllegalArgumentException.class, () -> be.matmul(ids, ids, false, false));
        assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("INT64"), e.getMessage());
    }

    @Test
    void rejectsTensorsOfAnotherBackend() {
        ReferenceBackend other = new ReferenceBackend();
        Tensor mine = be.fromArray(new float[] {1, 2}, Shape.of(2));
        Tensor theirs = other.fromArray(new float[] {1, 2}, Shape.of(2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.binary(dev.perfusion.tensor.BinaryOp.ADD, mine, theirs));
        assertTrue(e.getMessage().contains("binary ADD") && e.getMessage().contains("belongs to backend"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.toFloatArray(theirs));
    }

    @Test
    void closedTensorsCannotBeUsed() {
        Tensor x = be.fromArray(new float[] {1}, Shape.of(1));
        x.close();
        assertThrows(IllegalStateException.class, () -> be.unary(UnaryOp.NEG, x));
        assertThrows(IllegalStateException.class, x::toFloatArray);
    }

    @Test
    void nameIsReference() {
        assertEquals("reference", be.name());
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
