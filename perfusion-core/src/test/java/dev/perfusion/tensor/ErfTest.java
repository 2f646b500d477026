package dev.perfusion.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Tag("unit")
class ErfTest {

    @ParameterizedTest(name = "erf({0}) = {1}")
    @CsvSource({
        "0.1,  0.1124629160182849",
        "0.5,  0.5204998778130465",
        "1,    0.8427007929497149",
        "-1.5, -0.9661051464753108",
        "2,    0.9953222650189527",
        "2.5,  0.9995930479825550",
        "3,    0.9999779095030014",
        "4,    0.9999999845827421",
    })
    void knownValues(double x, double erf) {
        assertEquals(erf, Erf.erf(x), 1e-13);
    }

    @Test
    void oddSymmetryAndLimits() {
        assertEquals(0.0, Erf.erf(0.0));
        for (double x = 0.05; x < 6; x += 0.37) {
            assertEquals(-Erf.erf(x), Erf.erf(-x), 0.0, "at " + x);
        }
        assertEquals(1.0, Erf.erf(30), 0.0);
        assertEquals(-1.0, Erf.erf(Double.NEGATIVE_INFINITY), 0.0);
        assertEquals(1.0, Erf.erf(Double.POSITIVE_INFINITY), 0.0);
        assertTrue(Double.isNaN(Erf.erf(Double.NaN)));
    }

    @Test
    void continuousAcrossTheSwitchFromSeriesToContinuedFraction() {
        // the series serves |x| < 2.5 and the continued fraction beyond; the two must meet
        double below = Erf.erf(Math.nextDown(2.5));
        double at = Erf.erf(2.5);
        assertEquals(at, below, 1e-14);
        // and the derivative 2/√π·e^(−x²) holds across the switch
        double h = 1e-4;
        double slope = (Erf.erf(2.5 + h) - Erf.erf(2.5 - h)) / (2 * h);
        assertEquals(2 / Math.sqrt(Math.PI) * Math.exp(-6.25), slope, 1e-8);
    }
}
