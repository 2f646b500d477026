package dev.perfusion.backend.reference;

import static dev.perfusion.backend.reference.TestData.arange;
import static dev.perfusion.backend.reference.TestData.index;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** conv2d and nearest ×2 upsampling of the reference backend. */
@Tag("unit")
class ReferenceConvTest {
    private final ReferenceBackend be = new ReferenceBackend();

    @Test
    void handComputedTwoByTwoKernel() {
        // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,0],[0,−1]]: y[i,j] = x[i,j] − x[i+1,j+1] = −4 everywhere
        Tensor x = be.fromArray(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape.of(1, 1, 3, 3));
        Tensor w = be.fromArray(new float[] {1, 0, 0, -1}, Shape.of(1, 1, 2, 2));
        Tensor bias = be.fromArray(new float[] {0.5f}, Shape.of(1));
        Tensor y = be.conv2d(x, w, null, 1, 0);
        assertEquals(Shape.of(1, 1, 2, 2), y.shape());
        assertArrayEquals(new float[] {-4, -4, -4, -4}, y.toFloatArray());
        assertArrayEquals(new float[] {-3.5f, -3.5f, -3.5f, -3.5f}, be.conv2d(x, w, bias, 1, 0).toFloatArray());

        // stride 2, padding 1: windows start at rows/cols 0 and 2 of the 5×5 zero-padded image xp (xp[r,c] = x[r−1,c−1])
        // y[0,0] = xp[0,0] − xp[1,1] = 0 − x[0,0] = −1;  y[0,1] = xp[0,2] − xp[1,3] = 0 − x[0,2] = −3
        // y[1,0] = xp[2,0] − xp[3,1] = 0 − x[2,0] = −7;  y[1,1] = xp[2,2] − xp[3,3] = x[1,1] − x[2,2] = −4
        Tensor ys = be.conv2d(x, w, null, 2, 1);
        assertEquals(Shape.of(1, 1, 2, 2), ys.shape());
        assertArrayEquals(new float[] {-1, -3, -7, -4}, ys.toFloatArray());
    }

    @Test
    void threeByThreeKernelStrideTwoPaddingOneMatchesADirectFormula() {
        // 4×4 image, 3×3 kernel, stride 2, padding 1 → (4 + 2 − 3)/2 + 1 = 2
        Shape xs = Shape.of(2, 3, 4, 4);
        Shape ws = Shape.of(5, 3, 3, 3);
        float[] x = TestData.normal(11, xs);
        float[] w = TestData.normal(12, ws);
        float[] b = TestData.normal(13, Shape.of(5));
        Tensor y = be.conv2d(be.fromArray(x, xs), be.fromArray(w, ws), be.fromArray(b, Shape.of(5)), 2, 1);
        assertEquals(Shape.of(2, 5, 2, 2), y.shape());
        float[] expected = directConv(x, xs.dims(), w, ws.dims(), b, 2, 1);
        Tolerance.FLOAT32.assertClose("conv2d 3x3 s2 p1", y.shape(), expected, y.toFloatArray());
    }

    @Test
    void oddSizesAndRectangularKernelMatchTheDirectFormula() {
        // (7 + 0 − 2)/3 + 1 = 2 rows (the last input row is never read), (6 − 3)/3 + 1 = 2 columns
        Shape xs = Shape.of(1, 2, 7, 6);
        Shape ws = Shape.of(3, 2, 2, 3);
        float[] x = TestData.normal(21, xs);
        float[] w = TestData.normal(22, ws);
        Tensor y = be.conv2d(be.fromArray(x, xs), be.fromArray(w, ws), null, 3, 0);
        assertEquals(Shape.of(1, 3, 2, 2), y.shape());
        Tolerance.FLOAT32.assertClose("conv2d 2x3 s3", y.shape(), directConv(x, xs.dims(), w, ws.dims(), null, 3, 0),
                y.toFloatArray());
    }

    @Test
    void rejectsChannelMismatchAndBadGeometry() {
        Tensor x = be.fromArray(new float[2 * 4 * 4], Shape.of(1, 2, 4, 4));
        Tensor w3 = be.fromArray(new float[3 * 9], Shape.of(1, 3, 3, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.conv2d(x, w3, null, 1, 0));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("[1, 3, 3, 3]"), e.getMessage());
        Tensor w = be.fromArray(new float[2 * 25], Shape.of(1, 2, 5, 5));
        assertThrows(IllegalArgumentException.class, () -> be.conv2d(x, w, null, 1, 0)); // kernel larger than input
        Tensor w1 = be.fromArray(new float[2], Shape.of(1, 2, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> be.conv2d(x, w1, null, 0, 0));
        Tensor badBias = be.fromArray(new float[2], Shape.of(2));
        assertThrows(IllegalArgumentException.class, () -> be.conv2d(x, w1, badBias, 1, 0));
        Tensor dy = be.fromArray(new float[9], Shape.of(1, 1, 3, 3));
        e = assertThrows(IllegalArgumentException.class,
                () -> be.conv2dBackwardInput(dy, w1, Shape.of(1, 2, 4, 4), 1, 0));
        assertTrue(e.getMessage().contains("conv2dBackwardInput") && e.getMessage().contains("[1, 1, 4, 4]"),
                e.getMessage());
    }

    @Test
    void upsampleRepeatsEachPixelInATwoByTwoBlock() {
        Tensor x = be.fromArray(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, Shape.of(1, 2, 2, 2));
        Tensor y = be.upsampleNearest2x(x);
        assertEquals(Shape.of(1, 2, 4, 4), y.shape());
        assertArrayEquals(new float[] {
            1, 1, 2, 2,
            1, 1, 2, 2,
            3, 3, 4, 4,
            3, 3, 4, 4,
            5, 5, 6, 6,
            5, 5, 6, 6,
            7, 7, 8, 8,
            7, 7, 8, 8}, y.toFloatArray());
    }

    @Test
    void upsampleBackwardSumsEachBlock() {
        Tensor dy = be.fromArray(arange(16), Shape.of(1, 1, 4, 4));
        Tensor dx = be.upsampleNearest2xBackward(dy);
        assertEquals(Shape.of(1, 1, 2, 2), dx.shape());
        // block (0,0) = 0+1+4+5, (0,1) = 2+3+6+7, (1,0) = 8+9+12+13, (1,1) = 10+11+14+15
        assertArrayEquals(new float[] {10, 18, 42, 50}, dx.toFloatArray());
        assertThrows(IllegalArgumentException.class,
                () -> be.upsampleNearest2xBackward(be.fromArray(new float[9], Shape.of(1, 1, 3, 3))));
        assertThrows(IllegalArgumentException.class,
                () -> be.upsampleNearest2x(be.fromArray(new float[4], Shape.of(2, 2))));
    }

    /** An independent conv: pad the image explicitly with zeros, then slide the kernel over it. */
    static float[] directConv(float[] x, int[] xd, float[] w, int[] wd, float[] bias, int stride, int pad) {
        int n = xd[0];
        int c = xd[1];
        int hp = xd[2] + 2 * pad;
        int wp = xd[3] + 2 * pad;
        int[] pd = {n, c, hp, wp};
        float[] padded = new float[n * c * hp * wp];
        for (int in = 0; in < n; in++) {
            for (int ic = 0; ic < c; ic++) {
                for (int h = 0; h < xd[2]; h++) {
                    for (int ww = 0; ww < xd[3]; ww++) {
                        padded[index(pd, in, ic, h + pad, ww + pad)] = x[index(xd, in, ic, h, ww)];
                    }
                }
            }
        }
        int o = wd[0];
        int ho = (hp - wd[2]) / stride + 1;
        int wo = (wp - wd[3]) / stride + 1;
        int[] yd = {n, o, ho, wo};
        float[] y = new float[n * o * ho * wo];
        for (int in = 0; in < n; in++) {
            for (int io = 0; io < o; io++) {
                for (int i = 0; i < ho; i++) {
                    for (int j = 0; j < wo; j++) {
                        double acc = bias == null ? 0 : bias[io];
                        for (int ic = 0; ic < c; ic++) {
                            for (int p = 0; p < wd[2]; p++) {
                                for (int q = 0; q < wd[3]; q++) {
                                    acc += (double) padded[index(pd, in, ic, i * stride + p, j * stride + q)]
                                            * w[index(wd, io, ic, p, q)];
                                }
                            }
                        }
                        y[index(yd, in, io, i, j)] = (float) acc;
                    }
                }
            }
        }
        return y;
    }
}
