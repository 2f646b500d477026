package dev.perfusion.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.cuda.driver.Dim3;
import dev.perfusion.tensor.DType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Launch geometry and argument validation of the hot kernels' launchers, on the CPU. */
@Tag("unit")
class LaunchPlanTest {
    private static final DType[] DTYPES = {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16};

    @Test
    void gemmGridCoversEveryOutputElement() {
        int[] sizes = {1, 7, 33, 63, 64, 65, 127, 128, 129, 320, 4096, 5120};
        for (DType dt : DTYPES) {
            for (int m : sizes) {
                for (int n : sizes) {
                    for (int batch : new int[] {1, 3, 70000}) {
                        Gemm.Plan p = Gemm.plan(dt, batch, m, n, 17, false, true);
                        Dim3 g = p.grid();
                        String what = dt + " m=" + m + " n=" + n + " batch=" + batch + " " + p;
                        assertTrue((long) g.x() * p.tile() >= n && (long) (g.x() - 1) * p.tile() < n, what);
                        assertTrue((long) g.y() * p.tile() >= m && (long) (g.y() - 1) * p.tile() < m, what);
                        assertEquals(Math.min(batch, 65535), g.z(), what);
                        int threads = dt == DType.FLOAT32 ? 256 : (p.tile() == 128 ? 256 : 128);
                        assertEquals(Dim3.of(threads), p.block(), what);
                    }
                }
            }
        }
    }

    @Test
    void gemmPicksTheBigTileOnlyWhenItFillsTheGpu() {
        assertEquals(64, Gemm.plan(DType.FLOAT16, 1, 4096, 320, 320, false, true).tile()); // 32·3 = 96 big tiles
        assertEquals(128, Gemm.plan(DType.FLOAT16, 1, 4096, 5120, 1280, false, true).tile()); // 32·40
        assertEquals(128, Gemm.plan(DType.FLOAT32, 300, 129, 127, 40, false, false).tile()); // 2·1·300
        assertEquals("gemm_bf16_tn_64x64", Gemm.plan(DType.BFLOAT16, 1, 7, 7, 7, true, false).kernel());
        assertEquals("gemm_f32_128x128", Gemm.plan(DType.FLOAT32, 1, 4096, 5120, 7, true, true).kernel());
    }

    @Test
    void gemmRejectsBadArguments() {
        assertMessage(() -> Gemm.validate(DType.INT32, 1, 1, 1, 1, 0, 0, 0), "Gemm.matmul", "INT32");
        assertMessage(() -> Gemm.validate(null, 1, 1, 1, 1, 0, 0, 0), "Gemm.matmul", "dtype");
        assertMessage(() -> Gemm.validate(DType.FLOAT32, 1, -1, 1, 1, 0, 0, 0), "Gemm.matmul", "m = -1");
        assertMessage(() -> Gemm.validate(DType.FLOAT32, 1, 1, 1, -3, 0, 0, 0), "Gemm.matmul", "k = -3");
        assertMessage(() -> Gemm.validate(DType.FLOAT32, -2, 1, 1, 1, 0, 0, 0), "Gemm.matmul", "batch = -2");
        assertMessage(() -> Gemm.validate(DType.FLOAT32, 1, 1, 1, 1, -1, 0, 0), "Gemm.matmul", "strideA = -1");
        // two batch entries writing the same C would race
        assertMessage(() -> Gemm.validate(DType.FLOAT16, 2, 4, 4, 4, 16, 16, 15), "Gemm.matmul", "strideC = 15");
        Gemm.validate(DType.FLOAT16, 2, 4, 4, 4, 0, 0, 16); // broadcast A and B is fine
        Gemm.validate(DType.FLOAT16, 1, 4, 4, 4, 0, 0, 0);
        assertMessage(() -> Gemm.matmul(null, DType.FLOAT32, null, null, null, 1, 1, 1, 1, false, false, 0, 0, 0),
                "Gemm.matmul", "device");
    }

    @Test
    void attentionConfigsPerHeadDim() {
        assertEquals("d40", FlashAttention.config(40, 40).suffix());
        assertEquals("d64", FlashAttention.config(64, 64).suffix());
        assertEquals("d80", FlashAttention.config(80, 80).suffix());
        assertEquals("d160", FlashAttention.config(160, 160).suffix());
        assertEquals("d64", FlashAttention.config(40, 64).suffix());
        assertEquals("d64", FlashAttention.config(1, 1).suffix());
        assertEquals("gen128", FlashAttention.config(100, 8).suffix());
        assertEquals("gen256", FlashAttention.config(256, 256).suffix());
        assertMessage(() -> FlashAttention.config(257, 64), "FlashAttention", "257");
        // the SD v1.5 head dims are not padded
        for (int d : new int[] {40, 64, 80, 160}) {
            FlashAttention.Config c = FlashAttention.config(d, d);
            assertEquals(d, c.paddedD(), c.toString());
            assertEquals(d, c.paddedDv(), c.toString());
        }
    }

    @Test
    void attentionConfigsFitTheHardware() {
        for (int d = 1; d <= FlashAttention.MAX_HEAD_DIM; d++) {
            for (int dv : new int[] {1, d, 40, 77, 160, 256}) {
                FlashAttention.Config c = FlashAttention.config(d, dv);
                String what = "d=" + d + " dv=" + dv + " " + c;
                assertTrue(c.paddedD() >= d && c.paddedDv() >= dv, what);
                // a row group is a power of two inside one warp (the kernels reduce with xor shuffles)
                assertTrue(c.group() <= 32 && Integer.bitCount(c.group()) == 1, what);
                assertEquals(0, FlashAttention.THREADS % c.group(), what);
                // every tile is walked in chunks of up to 8 rows
                assertEquals(0, c.tile() % 8, what);
                // all within the default 48 KiB, so no opt-in is needed on any architecture
                assertTrue(c.forwardShared() <= KernelSupport.DEFAULT_SHARED_LIMIT, what);
                assertTrue(c.dkdvShared() <= KernelSupport.DEFAULT_SHARED_LIMIT, what);
            }
        }
    }

    @Test
    void attentionGridCoversEveryRow() {
        for (int[] dd : new int[][] {{40, 40}, {160, 160}, {33, 200}}) {
            FlashAttention.Config c = FlashAttention.config(dd[0], dd[1]);
            for (int rows : new int[] {1, 7, 16, 17, 33, 77, 127, 129, 4096}) {
                for (int bh : new int[] {1, 16, 70000}) {
                    Dim3 g = FlashAttention.grid(c, rows, bh);
                    assertTrue((long) g.x() * c.rowsPerBlock() >= rows, c + " rows " + rows);
                    assertTrue((long) (g.x() - 1) * c.rowsPerBlock() < rows, c + " rows " + rows);
                    assertEquals(Math.min(bh, 65535), g.y());
                }
            }
        }
        assertEquals(2, FlashAttention.preBlocks(8)); // one warp per row, four per block
        assertEquals(3, FlashAttention.preBlocks(9));
    }

    @Test
    void attentionRejectsBadArguments() {
        String op = "FlashAttention.forward";
        assertMessage(() -> FlashAttention.validate(op, DType.INT64, 1, 1, 1, 8, 8, 1f), op, "INT64");
        assertMessage(() -> FlashAttention.validate(op, DType.FLOAT16, 1, 1, 1, 0, 8, 1f), op, "d = 0");
        assertMessage(() -> FlashAttention.validate(op, DType.FLOAT16, 1, -1, 1, 8, 8, 1f), op, "lq = -1");
        assertMessage(() -> FlashAttention.validate(op, DType.FLOAT16, 1, 1, 1, 8, 300, 1f), op, "300");
        assertMessage(() -> FlashAttention.validate(op, DType.FLOAT16, 1, 1, 1, 8, 8, Float.NaN), op, "scale");
        assertEquals("bf16", FlashAttention.validate(op, DType.BFLOAT16, 0, 0, 0, 1, 1, 0.5f));
    }

    @Test
    void convolutionGeometry() {
        Convolution.Geometry g = Convolution.Geometry.of("t", 2, 320, 64, 64, 320, 3, 3, 1, 1);
        assertEquals(64, g.oh());
        assertEquals(64, g.ow());
        assertEquals(2880, g.rows());
        Convolution.Geometry down = Convolution.Geometry.of("t", 2, 320, 64, 64, 320, 3, 3, 2, 1);
        assertEquals(32, down.oh()); // (64 + 2 − 3)/2 + 1, as PyTorch
        Convolution.Geometry odd = Convolution.Geometry.of("t", 1, 3, 7, 9, 5, 3, 5, 2, 0);
        assertEquals(3, odd.oh());
        assertEquals(3, odd.ow());
        assertTrue(Convolution.Geometry.of("t", 1, 3, 7, 9, 5, 1, 1, 1, 0).pointwise());
        assertTrue(!Convolution.Geometry.of("t", 1, 3, 7, 9, 5, 1, 1, 2, 0).pointwise());
        String op = "Convolution.forward";
        assertMessage(() -> Convolution.Geometry.of(op, 1, 3, 2, 2, 5, 5, 5, 1, 1), op, "larger than the padded");
        assertMessage(() -> Convolution.Geometry.of(op, 1, 3, 8, 8, 5, 3, 3, 0, 1), op, "stride = 0");
        assertMessage(() -> Convolution.Geometry.of(op, 1, 3, 8, 8, 5, 3, 3, 1, -1), op, "pad = -1");
        assertMessage(() -> Convolution.Geometry.of(op, 1, 0, 8, 8, 5, 3, 3, 1, 1), op, "c = 0");
        assertMessage(() -> Convolution.forward(null, DType.FLOAT32, null, null, null, null, 1, 1, 1, 1, 1, 1, 1, 1,
                0), op, "device");
    }

    @Test
    void convolutionChunksStayWithinTheBudget() {
        assertEquals(1, Convolution.imagesPerChunk(1, 1L << 40, 256));
        assertEquals(4, Convolution.imagesPerChunk(4, 2880L * 4096 * 2, Convolution.COLUMN_BUDGET_BYTES));
        assertEquals(5, Convolution.imagesPerChunk(16, 2880L * 4096 * 4, Convolution.COLUMN_BUDGET_BYTES));
        assertEquals(1, Convolution.imagesPerChunk(16, 1L << 30, Convolution.COLUMN_BUDGET_BYTES));
        assertEquals(1, Convolution.imagesPerChunk(0, 100, 1000));
    }

    @Test
    void elementwiseGrids() {
        assertEquals(1, KernelSupport.elementwiseBlocks(0));
        assertEquals(1, KernelSupport.elementwiseBlocks(256));
        assertEquals(2, KernelSupport.elementwiseBlocks(257));
        assertEquals(KernelSupport.MAX_ELEMENTWISE_BLOCKS, KernelSupport.elementwiseBlocks(1L << 40));
        assertMessage(() -> KernelSupport.suffix("Convolution.forward", DType.INT32), "Convolution.forward", "INT32");
    }

    private static void assertMessage(Runnable r, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' lacks '" + p + "'");
        }
    }
}
