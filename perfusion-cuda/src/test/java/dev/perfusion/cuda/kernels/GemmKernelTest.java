package dev.perfusion.cuda.kernels;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.perfusion.cuda.CudaProbe;
import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tolerance;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Gemm} on a GPU against a float64 loop over the same (storage-rounded) inputs: odd sizes that are not
 * multiples of any tile, all four transpose combinations, broadcast batches (stride 0), K = 0, both tile sizes, the
 * 16-byte fast path and the element-wise edge path, and the SD v1.5 projection shapes (checked on a seeded subset
 * of rows). The output buffer starts as NaN, so an element the kernel does not write fails the comparison.
 */
@Tag("cuda")
class GemmKernelTest {
    private static CudaDevice dev;

    @BeforeEach
    void needsAGpu() {
        assumeTrue(CudaProbe.available(), DeviceData::noGpu);
        if (dev == null) {
            dev = CudaDevice.open(0, true);
        }
    }

    @AfterAll
    static void closeDevice() {
        if (dev != null) {
            dev.close();
            dev = null;
        }
    }

    /** fp32: accumulation error grows like √K; half types: one rounding of the result dominates. */
    static Tolerance tolerance(DType dt, int k) {
        return dt == DType.FLOAT32 ? new Tolerance(1e-5 + 2e-6 * Math.sqrt(k), 1e-4) : Tolerance.forDType(dt);
    }

    /**
     * Runs one batched product with seeded inputs (A ~ N(0,1), B ~ N(0,1)/√K so that C is of order 1) and checks
     * {@code rowsToCheck} seeded rows of every batch entry (all rows when m ≤ rowsToCheck).
     */
    static void check(DType dt, int batch, int m, int n, int k, boolean ta, boolean tb, boolean shareA,
                      boolean shareB, int rowsToCheck) {
        long seed = 31L * m + 7L * n + k + (ta ? 1000 : 0) + (tb ? 2000 : 0) + batch;
        int aCount = (shareA ? 1 : batch) * m * k;
        int bCount = (shareB ? 1 : batch) * k * n;
        float[] a = DeviceData.normal(seed, aCount, 1.0, dt);
        float[] b = DeviceData.normal(seed + 1, bCount, 1.0 / Math.sqrt(Math.max(1, k)), dt);
        long strideA = shareA ? 0 : (long) m * k;
        long strideB = shareB ? 0 : (long) k * n;
        long strideC = (long) m * n;
        float[] c;
        try (DeviceBuffer da = DeviceData.upload(dev, dt, a);
             DeviceBuffer db = DeviceData.upload(dev, dt, b);
             DeviceBuffer dc = DeviceData.poisoned(dev, dt, (long) batch * m * n)) {
            Gemm.matmul(dev, dt, da.pointer(), db.pointer(), dc.pointer(), batch, m, n, k, ta, tb, strideA, strideB,
                    strideC);
            c = DeviceData.download(dev, dt, dc, batch * m * n);
        }
        int[] rows = DeviceData.sample(seed + 2, m, rowsToCheck);
        for (int bi = 0; bi < batch; bi++) {
            float[] expected = new float[rows.length * n];
            float[] actual = new float[rows.length * n];
            for (int ri = 0; ri < rows.length; ri++) {
                int i = rows[ri];
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) {
                        float av = ta ? a[(int) (bi * strideA) + p * m + i] : a[(int) (bi * strideA) + i * k + p];
                        float bv = tb ? b[(int) (bi * strideB) + j * k + p] : b[(int) (bi * strideB) + p * n + j];
                        acc += (double) av * bv;
                    }
                    expected[ri * n + j] = (float) acc;
                    actual[ri * n + j] = c[(int) (bi * strideC) + i * n + j];
                }
            }
            tolerance(dt, k).assertClose(DeviceData.label("gemm", dt, "batch", bi, "of", batch, "m", m, "n", n, "k", k,
                    "transA", ta, "transB", tb, "rows", rows.length), Shape.of(rows.length, n), expected, actual);
        }
    }

    static Stream<Arguments> oddSizes() {
        int[][] mnk = {{1, 1, 1}, {7, 33, 127}, {129, 127, 33}, {33, 1, 129}, {127, 129, 7}, {1, 129, 2}, {65, 7, 1}};
        List<Arguments> out = new ArrayList<>();
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16}) {
            for (int[] s : mnk) {
                for (int t = 0; t < 4; t++) {
                    out.add(Arguments.of(dt, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} m={1} n={2} k={3} tA={4} tB={5}")
    @MethodSource("oddSizes")
    void oddSizesEveryTranspose(DType dt, int m, int n, int k, boolean ta, boolean tb) {
        check(dt, 2, m, n, k, ta, tb, false, false, Integer.MAX_VALUE);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT16", "BFLOAT16"})
    void alignedSizesTakeTheVectorPath(DType dt) {
        for (int t = 0; t < 4; t++) {
            check(dt, 2, 128, 128, 64, (t & 1) != 0, (t & 2) != 0, false, false, Integer.MAX_VALUE);
            check(dt, 1, 200, 264, 520, (t & 1) != 0, (t & 2) != 0, false, false, Integer.MAX_VALUE);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT16", "BFLOAT16"})
    void broadcastBatches(DType dt) {
        check(dt, 3, 33, 47, 65, false, true, true, false, Integer.MAX_VALUE);  // a weight shared by every entry
        check(dt, 3, 33, 47, 65, true, false, false, true, Integer.MAX_VALUE);
        check(dt, 4, 16, 24, 40, false, false, true, true, Integer.MAX_VALUE);  // both shared
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT16", "BFLOAT16"})
    void bigTilesWithRaggedEdges(DType dt) {
        // 2·1·300 = 600 tiles of 128: the 128×128 kernels, with partial tiles on both edges
        check(dt, 300, 129, 127, 40, false, true, false, true, 3);
        check(dt, 300, 129, 127, 41, true, false, true, false, 3);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT16", "BFLOAT16"})
    void zeroKGivesZeros(DType dt) {
        check(dt, 2, 7, 9, 0, false, false, false, false, Integer.MAX_VALUE);
    }

    @Test
    void emptyOutputsLaunchNothing() {
        Gemm.matmul(dev, DType.FLOAT16, null, null, null, 0, 5, 5, 5, false, false, 25, 25, 25);
        Gemm.matmul(dev, DType.FLOAT16, null, null, null, 3, 0, 5, 5, false, false, 0, 0, 0);
        dev.synchronize();
    }

    static Stream<Arguments> sdShapes() {
        // y = x·Wᵀ as nn.Linear does it (transB): q/k/v/out at 64² latents, the FF product, cross-attention K/V
        int[][] mnk = {{4096, 320, 320}, {4096, 5120, 1280}, {1024, 640, 640}, {77, 320, 768}, {154, 1280, 768}};
        List<Arguments> out = new ArrayList<>();
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16}) {
            for (int[] s : mnk) {
                out.add(Arguments.of(dt, s[0], s[1], s[2]));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}x{3} · ({2}x{3})ᵀ")
    @MethodSource("sdShapes")
    void stableDiffusionShapes(DType dt, int m, int n, int k) {
        check(dt, 1, m, n, k, false, true, false, false, 24);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT16", "BFLOAT16"})
    void attentionShapedBatchedProducts(DType dt) {
        // scores q·kᵀ per head (8 heads, 1024 tokens, d 80) and p·v
        check(dt, 8, 1024, 1024, 80, false, true, false, false, 8);
        check(dt, 8, 1024, 80, 1024, false, false, false, false, 8);
    }
}
