package dev.perfusion.bench;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The plain-Java baseline is a fast path too, so it gets the same check as every backend: agreement with the
 * reference backend (the double-accumulating oracle) within {@link Tolerance#FLOAT32} on seeded inputs, with
 * sizes that cross the block boundaries of {@link PlainJava} (32 rows, 128 k, 512 columns) and awkward ones.
 * Inputs are scaled by 1/√fan-in so that outputs are of order 1 and FLOAT32's atol is meaningful.
 */
@Tag("unit")
class PlainJavaTest {
    private static Backend ref;

    @BeforeAll
    static void oracle() {
        ref = Backends.create("reference");
    }

    @AfterAll
    static void closeOracle() {
        ref.close();
    }

    private static float[] normal(long seed, int n, double scale) {
        return BenchSupport.normal(seed, n, scale);
    }

    @ParameterizedTest(name = "{0}×{1} · {1}×{2}")
    @CsvSource({"1,1,1", "3,5,7", "33,129,513", "70,150,530", "64,40,64"})
    void matmulAgreesWithReference(int m, int k, int n) {
        float[] a = normal(11, m * k, 1.0);
        float[] b = normal(12, k * n, 1.0 / Math.sqrt(k));
        float[] actual = PlainJava.matmul(a, b, m, k, n);
        try (TensorScope scope = TensorScope.open()) {
            Tensor expected = ref.matmul(ref.fromArray(a, Shape.of(m, k)), ref.fromArray(b, Shape.of(k, n)), false, false);
            Tolerance.FLOAT32.assertClose("plain matmul " + m + "×" + k + "·" + k + "×" + n, expected.shape(),
                    expected.toFloatArray(), actual);
        }
    }

    @ParameterizedTest(name = "n{0} c{1} {2}×{3} → o{4}, k{5} s{6} p{7}")
    @CsvSource({
        "1, 3, 8, 8, 4, 3, 1, 1",
        "2, 5, 9, 11, 7, 3, 1, 1",
        "1, 4, 9, 11, 6, 3, 2, 1",
        "2, 3, 10, 7, 5, 3, 2, 0",
        "1, 6, 5, 5, 3, 1, 1, 0",
        "1, 2, 7, 6, 3, 5, 1, 2",
        "1, 16, 16, 16, 16, 3, 1, 1",
    })
    void conv2dAgreesWithReference(int n, int c, int h, int w, int o, int k, int stride, int pad) {
        float[] x = normal(21, n * c * h * w, 1.0);
        float[] wt = normal(22, o * c * k * k, 1.0 / Math.sqrt(c * k * k));
        float[] bias = normal(23, o, 0.1);
        float[] actual = PlainJava.conv2d(x, wt, bias, n, c, h, w, o, k, k, stride, pad);
        float[] noBias = PlainJava.conv2d(x, wt, null, n, c, h, w, o, k, k, stride, pad);
        try (TensorScope scope = TensorScope.open()) {
            Tensor xt = ref.fromArray(x, Shape.of(n, c, h, w));
            Tensor wtt = ref.fromArray(wt, Shape.of(o, c, k, k));
            Tensor expected = ref.conv2d(xt, wtt, ref.fromArray(bias, Shape.of(o)), stride, pad);
            Tolerance.FLOAT32.assertClose("plain conv2d", expected.shape(), expected.toFloatArray(), actual);
            Tensor expectedNoBias = ref.conv2d(xt, wtt, null, stride, pad);
            Tolerance.FLOAT32.assertClose("plain conv2d without bias", expectedNoBias.shape(),
                    expectedNoBias.toFloatArray(), noBias);
        }
    }

    @ParameterizedTest(name = "b{0} h{1} lq{2} lk{3} d{4}")
    @CsvSource({"1, 1, 1, 1, 1", "1, 2, 5, 5, 4", "2, 3, 37, 37, 8", "1, 8, 64, 64, 40", "1, 2, 33, 70, 16"})
    void attentionAgreesWithReference(int b, int heads, int lq, int lk, int d) {
        float[] q = normal(31, b * heads * lq * d, 1.0);
        float[] k = normal(32, b * heads * lk * d, 1.0);
        float[] v = normal(33, b * heads * lk * d, 1.0);
        float scale = (float) (1.0 / Math.sqrt(d));
        float[] actual = PlainJava.attention(q, k, v, b * heads, lq, lk, d, scale);
        try (TensorScope scope = TensorScope.open()) {
            Tensor expected = ref.attention(ref.fromArray(q, Shape.of(b, heads, lq, d)),
                    ref.fromArray(k, Shape.of(b, heads, lk, d)), ref.fromArray(v, Shape.of(b, heads, lk, d)), null,
                    false, scale);
            Tolerance.FLOAT32.assertClose("plain attention", expected.shape(), expected.toFloatArray(), actual);
        }
    }

    @Test
    void transposeSwapsAxes() {
        float[] x = HostRandom.uniform(41, 6, -1, 1);
        float[] t = PlainJava.transpose(x, 2, 3);
        Tolerance.EXACT.assertClose("transpose", Shape.of(3, 2), new float[] {x[0], x[3], x[1], x[4], x[2], x[5]}, t);
    }

    @Test
    void wrongSizesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> PlainJava.matmul(new float[6], new float[6], 2, 3, 3));
        assertThrows(IllegalArgumentException.class,
                () -> PlainJava.conv2d(new float[4], new float[9], null, 1, 1, 2, 2, 1, 3, 3, 1, 0));
    }
}
