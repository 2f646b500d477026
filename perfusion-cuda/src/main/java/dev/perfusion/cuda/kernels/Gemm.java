package dev.perfusion.cuda.kernels;

import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.Dim3;
import dev.perfusion.tensor.DType;
import jcuda.driver.CUdeviceptr;

/**
 * Batched matrix products on the GPU ({@code gemm.cu}): {@code C[b] = op(A[b])·op(B[b])} with fp32 accumulation.
 *
 * <p>FLOAT32 runs on a SIMT fp32 kernel (no TF32: results match a float64 reference to about 1e-6·√K relative);
 * FLOAT16 and BFLOAT16 run on tensor cores ({@code mma.sync m16n8k16}, fp32 accumulators) and round the result
 * to the storage type once. Sizes need not be multiples of any tile.
 */
public final class Gemm {
    static final String MODULE = "gemm";
    /** Threads per block of the FLOAT32 kernels (both tiles). */
    static final int F32_THREADS = 256;
    /** Below this many 128×128 tiles the GPU (132 SMs on an H100) would idle: use 64×64 tiles. */
    static final long LARGE_TILE_MIN_BLOCKS = 264;

    private Gemm() {
    }

    /** The kernel, grid and block of one product. */
    record Plan(String kernel, int tile, Dim3 grid, Dim3 block) {
    }

    /**
     * {@code C[b] = op(A[b])·op(B[b])} for b in [0, batch): op(A) is [M,K] (A stored [M,K], or [K,M] when
     * {@code transA}), op(B) is [K,N] (B stored [K,N], or [N,K] when {@code transB}), C is [M,N], all contiguous
     * row-major. {@code strideA/B/C} are the elements between consecutive batch matrices; 0 uses the same matrix
     * for every batch entry (broadcast; not allowed for C when batch &gt; 1). K = 0 gives C = 0.
     *
     * @throws IllegalArgumentException naming the bad value (dtype, a negative size or stride, overlapping C, a grid
     *                                  too large)
     */
    public static void matmul(CudaDevice dev, DType dtype, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c,
                              int batch, int m, int n, int k, boolean transA, boolean transB,
                              long strideA, long strideB, long strideC) {
        String op = "Gemm.matmul";
        KernelSupport.notNull(op, "device", dev);
        validate(dtype, batch, m, n, k, strideA, strideB, strideC);
        if (batch == 0 || m == 0 || n == 0) {
            return;
        }
        KernelSupport.notNull(op, "c", c);
        if (k > 0) {
            KernelSupport.notNull(op, "a", a);
            KernelSupport.notNull(op, "b", b);
        }
        Plan p = plan(dtype, batch, m, n, k, transA, transB);
        dev.kernel(MODULE, p.kernel()).launch(p.grid(), p.block(), 0,
                args(a, b, c, batch, m, n, k, transA, transB, strideA, strideB, strideC).kernelArgs());
    }

    /** The parameters of every gemm.cu kernel (GEMM_PARAMS), in order. */
    static Args args(CUdeviceptr a, CUdeviceptr b, CUdeviceptr c, int batch, int m, int n, int k, boolean transA,
                     boolean transB, long strideA, long strideB, long strideC) {
        return new Args().p(a).p(b).p(c).i(batch).i(m).i(n).i(k).i(transA ? 1 : 0).i(transB ? 1 : 0)
                .l(strideA).l(strideB).l(strideC);
    }

    /** Argument checks of {@link #matmul}, without a device. */
    static void validate(DType dtype, int batch, int m, int n, int k, long strideA, long strideB, long strideC) {
        String op = "Gemm.matmul";
        KernelSupport.suffix(op, dtype);
        KernelSupport.atLeast(op, "batch", batch, 0);
        KernelSupport.atLeast(op, "m", m, 0);
        KernelSupport.atLeast(op, "n", n, 0);
        KernelSupport.atLeast(op, "k", k, 0);
        KernelSupport.atLeast(op, "strideA", strideA, 0);
        KernelSupport.atLeast(op, "strideB", strideB, 0);
        KernelSupport.atLeast(op, "strideC", strideC, 0);
        if (batch > 1 && strideC < (long) m * n) {
            throw new IllegalArgumentException(op + ": strideC = " + strideC + " < m·n = " + (long) m * n
                    + " with batch " + batch + ": the output matrices would overlap");
        }
    }

    /**
     * Chooses the kernel and launch geometry: the 128×128 tile when it still gives at least
     * {@link #LARGE_TILE_MIN_BLOCKS} blocks, else 64×64; grid (⌈N/tile⌉, ⌈M/tile⌉, min(batch, 65535)).
     */
    static Plan plan(DType dtype, int batch, int m, int n, int k, boolean transA, boolean transB) {
        String dt = KernelSupport.suffix("Gemm.matmul", dtype);
        long bigBlocks = KernelSupport.ceilDiv(m, 128) * KernelSupport.ceilDiv(n, 128) * (long) batch;
        int tile = bigBlocks >= LARGE_TILE_MIN_BLOCKS ? 128 : 64;
        long gy = KernelSupport.ceilDiv(m, tile);
        if (gy > KernelSupport.MAX_GRID_YZ) {
            throw new IllegalArgumentException("Gemm.matmul: m = " + m + " needs " + gy + " row tiles of " + tile
                    + ", more than the grid's 65535");
        }
        int gx = (int) KernelSupport.ceilDiv(n, tile);
        int gz = Math.min(batch, KernelSupport.MAX_GRID_YZ);
        String shape = tile + "x" + tile;
        String kernel;
        int threads;
        if (dtype == DType.FLOAT32) {
            kernel = "gemm_f32_" + shape;
            threads = F32_THREADS;
        } else {
            kernel = "gemm_" + dt + "_" + (transA ? "t" : "n") + (transB ? "t" : "n") + "_" + shape;
            threads = tile == 128 ? 256 : 128; // 8 warps of 64×32, or 4 warps of 32×32
        }
        return new Plan(kernel, tile, Dim3.of(Math.max(1, gx), (int) Math.max(1, gy), Math.max(1, gz)),
                Dim3.of(threads));
    }
}
