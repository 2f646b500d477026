package dev.perfusion.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class HostRandomTest {

    @Test
    void sameSeedSameValues() {
        assertArrayEquals(HostRandom.normal(7, 1000), HostRandom.normal(7, 1000));
        assertFalse(Arrays.equals(HostRandom.normal(7, 1000), HostRandom.normal(8, 1000)));
        assertArrayEquals(HostRandom.uniform(7, 100, -1, 1), HostRandom.uniform(7, 100, -1, 1));
    }

    @Test
    void aLongerDrawExtendsAShorterOne() {
        float[] shortDraw = HostRandom.normal(3, 10);
        float[] longDraw = HostRandom.normal(3, 11);
        assertArrayEquals(shortDraw, Arrays.copyOf(longDraw, 10));
        assertTrue(Float.isFinite(longDraw[10]) && longDraw[10] != 0, "an odd count fills the last element");
    }

    @Test
    void normalHasZeroMeanAndUnitVariance() {
        // 100k samples: the standard error of the mean is 0.003 and of the variance 0.0045; bounds are ~4σ
        float[] v = HostRandom.normal(12345, 100_000);
        double mean = 0;
        for (float x : v) {
            mean += x;
        }
        mean /= v.length;
        double var = 0;
        for (float x : v) {
            var += (x - mean) * (x - mean);
        }
        var /= v.length;
        assertEquals(0, mean, 0.012);
        assertEquals(1, var, 0.02);
        for (float x : v) {
            assertTrue(Float.isFinite(x));
        }
    }

    @Test
    void uniformStaysInRange() {
        float[] v = HostRandom.uniform(5, 100_000, -2f, 3f);
        double mean = 0;
        for (float x : v) {
            assertTrue(x >= -2f && x < 3f, "value " + x);
            mean += x;
        }
        assertEquals(0.5, mean / v.length, 0.02);
    }
}
