package dev.perfusion.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * HalfFloats against IEEE 754 rounding: exhaustive round trips, every fp16 tie, and random floats compared with a
 * reference that picks the nearest representable value by exact decimal arithmetic.
 */
@Tag("unit")
class HalfFloatsTest {
    /** Bit pattern 0x7c00 stands for 2^16 in the rounding reference: the value just past the fp16 range. */
    private static final int FP16_INF = 0x7c00;

    // ------------------------------------------------------------------ fp16

    @Test
    void everyFp16PatternRoundTripsExactly() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            float f = HalfFloats.fp16ToFloat(h);
            if (isFp16NaN(bits)) {
                assertTrue(Float.isNaN(f), hex(bits));
                assertTrue(isFp16NaN(HalfFloats.floatToFp16(f) & 0xffff), "NaN stays NaN: " + hex(bits));
            } else {
                assertEquals(bits, HalfFloats.floatToFp16(f) & 0xffff, hex(bits));
            }
        }
    }

    @Test
    void fp16ToFloatMatchesTheFormatDefinition() {
        // (−1)^s · 2^(e−15) · (1 + m/1024) for normal numbers, (−1)^s · 2^−14 · m/1024 for subnormals
        for (int bits = 0; bits < 0x10000; bits++) {
            int e = (bits >>> 10) & 0x1f;
            int m = bits & 0x3ff;
            double sign = (bits & 0x8000) != 0 ? -1 : 1;
            double expected;
            if (e == 0x1f) {
                expected = m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
            } else if (e == 0) {
                expected = sign * Math.scalb((double) m, -24);
            } else {
                expected = sign * Math.scalb(1024.0 + m, e - 25);
            }
            float f = HalfFloats.fp16ToFloat((short) bits);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(f), hex(bits));
            } else {
                assertEquals(expected, f, 0.0, hex(bits));
                assertEquals(sign < 0, (Float.floatToRawIntBits(f) >>> 31) == 1, "sign of " + hex(bits));
            }
        }
    }

    @Test
    void everyFp16MidpointRoundsToEven() {
        // between each pair of neighbouring finite fp16 values (and between 65504 and "65536"), the exact midpoint
        // goes to the even pattern, and one float ulp either side goes to the nearer neighbour
        for (int k = 0; k < FP16_INF; k++) {
            double lo = fp16Value(k);
            double hi = fp16Value(k + 1);
            float mid = (float) ((lo + hi) / 2); // exact: a midpoint needs 12 significant bits
            assertEquals((lo + hi) / 2, mid, 0.0);
            int even = (k & 1) == 0 ? k : k + 1;
            assertEquals(even, HalfFloats.floatToFp16(mid) & 0xffff, "midpoint above " + hex(k));
            assertEquals(k + 1, HalfFloats.floatToFp16(Math.nextUp(mid)) & 0xffff, "just above midpoint " + hex(k));
            assertEquals(k, HalfFloats.floatToFp16(Math.nextDown(mid)) & 0xffff, "just below midpoint " + hex(k));
            assertEquals(even | 0x8000, HalfFloats.floatToFp16(-mid) & 0xffff, "negative midpoint " + hex(k));
        }
    }

    @Test
    void fp16OverflowGivesInfinity() {
        assertEquals(0x7bff, HalfFloats.floatToFp16(65504f) & 0xffff);
        assertEquals(0x7bff, HalfFloats.floatToFp16(Math.nextDown(65520f)) & 0xffff);
        assertEquals(0x7c00, HalfFloats.floatToFp16(65520f) & 0xffff, "the tie past the largest value overflows");
        assertEquals(0x7c00, HalfFloats.floatToFp16(1e10f) & 0xffff);
        assertEquals(0x7c00, HalfFloats.floatToFp16(Float.MAX_VALUE) & 0xffff);
        assertEquals(0xfc00, HalfFloats.floatToFp16(-70000f) & 0xffff);
        assertEquals(0x7c00, HalfFloats.floatToFp16(Float.POSITIVE_INFINITY) & 0xffff);
        assertEquals(0xfc00, HalfFloats.floatToFp16(Float.NEGATIVE_INFINITY) & 0xffff);
        assertTrue(isFp16NaN(HalfFloats.floatToFp16(Float.NaN) & 0xffff));
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.round(1e6f, DType.FLOAT16));
    }

    @Test
    void fp16Subnormals() {
        assertEquals(0x0001, HalfFloats.floatToFp16(0x1p-24f) & 0xffff, "smallest subnormal");
        assertEquals(0x0000, HalfFloats.floatToFp16(0x1p-25f) & 0xffff, "half of it ties to even zero");
        assertEquals(0x0001, HalfFloats.floatToFp16(Math.nextUp(0x1p-25f)) & 0xffff);
        assertEquals(0x0002, HalfFloats.floatToFp16(3 * 0x1p-25f) & 0xffff, "1.5 ulp ties to even 2");
        assertEquals(0x0000, HalfFloats.floatToFp16(0x1p-26f) & 0xffff);
        assertEquals(0x0000, HalfFloats.floatToFp16(Float.MIN_VALUE) & 0xffff, "float subnormals vanish");
        assertEquals(0x03ff, HalfFloats.floatToFp16(1023 * 0x1p-24f) & 0xffff, "largest subnormal");
        assertEquals(0x0400, HalfFloats.floatToFp16(1023.5f * 0x1p-24f) & 0xffff, "rounds up into the normals");
        assertEquals(0x0400, HalfFloats.floatToFp16(0x1p-14f) & 0xffff, "smallest normal");
        assertEquals(0x8001, HalfFloats.floatToFp16(-0x1p-24f) & 0xffff);
        assertEquals(0x8000, HalfFloats.floatToFp16(-0f) & 0xffff, "negative zero keeps its sign");
        assertEquals(0x8000, HalfFloats.floatToFp16(-0x1p-30f) & 0xffff);
        assertEquals(0x1p-24f, HalfFloats.fp16ToFloat((short) 1));
    }

    @Test
    void floatToFp16MatchesAnExactNearestValueReference() {
        SplittableRandom r = new SplittableRandom(2024);
        for (int i = 0; i < 100_000; i++) {
            // half of the draws: any float bit pattern; the other half: exponents around the fp16 range
            float f = i % 2 == 0
                    ? Float.intBitsToFloat(r.nextInt())
                    : Float.intBitsToFloat((r.nextInt(2) << 31) | ((127 - 28 + r.nextInt(46)) << 23)
                            | r.nextInt(1 << 23));
            if (Float.isNaN(f)) {
                continue;
            }
            assertEquals(referenceFp16(f), HalfFloats.floatToFp16(f) & 0xffff,
                    "floatToFp16(" + f + " = " + hex(Float.floatToRawIntBits(f)) + ")");
        }
    }

    /** The fp16 pattern nearest to f (exact decimal distances), ties to the even pattern, ±inf past the range. */
    private static int referenceFp16(float f) {
        int sign = (Float.floatToRawIntBits(f) >>> 31) << 15;
        if (Float.isInfinite(f)) {
            return sign | FP16_INF;
        }
        BigDecimal a = new BigDecimal(Math.abs((double) f));
        // patterns 0..0x7c00 are in increasing order of value; find the largest k with value(k) ≤ a
        int lo = 0;
        int hi = FP16_INF;
        if (a.compareTo(exact(fp16Value(FP16_INF))) >= 0) {
            return sign | FP16_INF;
        }
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (exact(fp16Value(mid)).compareTo(a) <= 0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        int k = lo; // value(k) ≤ a < value(k + 1)
        int c = a.subtract(exact(fp16Value(k))).compareTo(exact(fp16Value(k + 1)).subtract(a));
        int nearest = c < 0 ? k : c > 0 ? k + 1 : (k & 1) == 0 ? k : k + 1;
        return sign | nearest;
    }

    /** Value of a non-negative fp16 pattern from the format's definition; 0x7c00 gives 2^16. */
    private static double fp16Value(int bits) {
        int e = bits >>> 10;
        int m = bits & 0x3ff;
        return e == 0 ? Math.scalb((double) m, -24) : Math.scalb(1024.0 + m, e - 25);
    }

    private static boolean isFp16NaN(int bits) {
        return (bits & 0x7c00) == 0x7c00 && (bits & 0x3ff) != 0;
    }

    // ------------------------------------------------------------------ bf16

    @Test
    void everyBf16PatternRoundTripsExactly() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = HalfFloats.bf16ToFloat((short) bits);
            assertEquals(Float.intBitsToFloat(bits << 16), f, 0f, hex(bits)); // bf16 is the top half of a float
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(f))), "NaN stays NaN: " + hex(bits));
            } else {
                assertEquals(bits, HalfFloats.floatToBf16(f) & 0xffff, hex(bits));
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // bf16 keeps 7 mantissa bits: the ulp at 1 is 2^-7
        assertEquals(0x3f80, HalfFloats.floatToBf16(1 + 0x1p-8f) & 0xffff, "tie goes to even 1");
        assertEquals(0x3f81, HalfFloats.floatToBf16(Math.nextUp(1 + 0x1p-8f)) & 0xffff);
        assertEquals(0x3f82, HalfFloats.floatToBf16(1 + 3 * 0x1p-8f) & 0xffff, "tie goes to even 1 + 2^-6");
        assertEquals(0x3f81, HalfFloats.floatToBf16(Math.nextDown(1 + 3 * 0x1p-8f)) & 0xffff);
        assertEquals(0x7f80, HalfFloats.floatToBf16(Float.MAX_VALUE) & 0xffff, "overflow rounds to infinity");
        assertEquals(0xff80, HalfFloats.floatToBf16(Float.NEGATIVE_INFINITY) & 0xffff);
        assertEquals(0x8000, HalfFloats.floatToBf16(-0f) & 0xffff);
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
        // a NaN whose payload sits only in the low 16 bits must not truncate to infinity
        float lowNaN = Float.intBitsToFloat(0x7f800001);
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(lowNaN))));
        assertEquals(1f, HalfFloats.round(1 + 0x1p-8f, DType.BFLOAT16));
    }

    @Test
    void floatToBf16MatchesAnExactNearestValueReference() {
        SplittableRandom r = new SplittableRandom(99);
        for (int i = 0; i < 100_000; i++) {
            float f = Float.intBitsToFloat(r.nextInt());
            if (Float.isNaN(f)) {
                continue;
            }
            assertEquals(referenceBf16(f), HalfFloats.floatToBf16(f) & 0xffff,
                    "floatToBf16(" + f + " = " + hex(Float.floatToRawIntBits(f)) + ")");
        }
    }

    /** The bf16 pattern nearest to f: the truncated pattern or the next one up in magnitude, ties to even. */
    private static int referenceBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = bits & 0x80000000;
        int k = (bits & 0x7fffffff) >>> 16; // |f| truncated: value(k) ≤ |f| < value(k + 1)
        if (k == 0x7f80) {
            return (sign >>> 16) | k; // infinity
        }
        BigDecimal a = new BigDecimal(Math.abs((double) f));
        BigDecimal below = exact(bf16Value(k));
        BigDecimal above = exact(bf16Value(k + 1));
        int c = a.subtract(below).compareTo(above.subtract(a));
        int nearest = c < 0 ? k : c > 0 ? k + 1 : (k & 1) == 0 ? k : k + 1;
        return (sign >>> 16) | nearest;
    }

    /** Value of a non-negative bf16 pattern; 0x7f80 gives 2^128, the value just past the range. */
    private static double bf16Value(int bits) {
        return bits == 0x7f80 ? Math.scalb(1.0, 128) : Float.intBitsToFloat(bits << 16);
    }

    // ------------------------------------------------------------------ helpers

    @Test
    void roundIsIdentityForFloat32() {
        assertEquals(0.1f, HalfFloats.round(0.1f, DType.FLOAT32));
        assertEquals(0.0999755859375f, HalfFloats.round(0.1f, DType.FLOAT16));
        assertEquals(0.10009765625f, HalfFloats.round(0.1f, DType.BFLOAT16));
    }

    private static BigDecimal exact(double v) {
        return new BigDecimal(v);
    }

    private static String hex(int bits) {
        return "0x" + Integer.toHexString(bits);
    }
}
