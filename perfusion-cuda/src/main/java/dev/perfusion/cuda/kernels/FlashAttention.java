package dev.perfusion.cuda.kernels;

import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.CudaKernel;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.cuda.driver.Dim3;
import dev.perfusion.tensor.DType;
import jcuda.driver.CUdeviceptr;

/**
 * Fused scaled dot-product attention on the GPU ({@code attention.cu}), forward and backward, FlashAttention-2
 * style: the [lq, lk] score matrix is never stored.
 *
 * <p>Per batch-head b: {@code s_ij = scale·q_i·k_j + mask_ij} (−∞ where {@code causal} and j &gt; i),
 * {@code o = softmax_j(s)·v}, {@code lse_i = log Σ_j exp(s_ij)}. A query row whose keys are all masked gets
 * {@code o_i = 0}, {@code lse_i = −∞} and zero gradients (no NaN). The backward recomputes {@code p = exp(s − lse)}
 * from the saved lse; every gradient element is summed by one thread in a fixed order (deterministic).
 *
 * <p>Math is fp32 for every storage type. Head dims 40, 64, 80 and 160 (with dv = d) have their own kernels; any
 * other d, dv ≤ 256 runs on the d64 kernel (zero-padded to 64) or a generic one padded to 128 or 256.
 */
public final class FlashAttention {
    static final String MODULE = "attention";
    static final int THREADS = 128;
    /** Largest head dim (d or dv) of the generic kernels. */
    static final int MAX_HEAD_DIM = 256;

    private FlashAttention() {
    }

    /**
     * One kernel configuration: {@code group} lanes per row, each holding {@code dpt} q/k and {@code dvpt} v
     * elements, {@code tile} rows of the other side in shared memory per step.
     */
    record Config(String suffix, int group, int dpt, int dvpt, int tile) {
        /** Query (or key) rows per block of {@link #THREADS}. */
        int rowsPerBlock() {
            return THREADS / group;
        }

        /** d as the kernel holds it (= d for the fixed configurations, padded with zeros for the generic ones). */
        int paddedD() {
            return group * dpt;
        }

        /** dv as the kernel holds it. */
        int paddedDv() {
            return group * dvpt;
        }

        /** Dynamic shared bytes of the forward and dq kernels: a k tile and a v tile in fp32. */
        int forwardShared() {
            return tile * (paddedD() + paddedDv()) * Float.BYTES;
        }

        /** Dynamic shared bytes of the dk/dv kernel: a q tile, a dO tile, and lse and D of each row. */
        int dkdvShared() {
            return forwardShared() + 2 * tile * Float.BYTES;
        }
    }

    /** The kernel configuration for head dims d (q, k) and dv (v). */
    static Config config(int d, int dv) {
        if (d == dv) {
            switch (d) {
                case 40: return new Config("d40", 4, 10, 10, 64);
                case 64: return new Config("d64", 4, 16, 16, 64);
                case 80: return new Config("d80", 4, 20, 20, 64);
                case 160: return new Config("d160", 8, 20, 20, 32);
                default: break;
            }
        }
        int w = Math.max(d, dv);
        if (w <= 64) {
            return new Config("d64", 4, 16, 16, 64); // the d = 64 kernel, zero-padded
        }
        if (w <= 128) {
            return new Config("gen128", 8, 16, 16, 32);
        }
        if (w <= MAX_HEAD_DIM) {
            return new Config("gen256", 8, 32, 32, 16);
        }
        throw new IllegalArgumentException("FlashAttention: head dims d = " + d + ", dv = " + dv
                + " exceed the supported " + MAX_HEAD_DIM);
    }

    /** Grid of a kernel with one thread group per row, {@code rows} rows per batch-head. */
    static Dim3 grid(Config cfg, int rows, int bh) {
        return Dim3.of((int) Math.max(1, KernelSupport.ceilDiv(rows, cfg.rowsPerBlock())),
                Math.max(1, Math.min(bh, KernelSupport.MAX_GRID_YZ)));
    }

    /**
     * Forward: q [bh, lq, d], k [bh, lk, d], v [bh, lk, dv] (dtype) → o [bh, lq, dv] (dtype) and lse [bh, lq]
     * (FLOAT32). {@code mask} is null or a FLOAT32 [bh, lq, lk] added to the scaled scores. lk = 0 gives o = 0 and
     * lse = −∞ everywhere.
     *
     * @throws IllegalArgumentException naming the bad value
     */
    public static void forward(CudaDevice dev, DType dtype, CUdeviceptr q, CUdeviceptr k, CUdeviceptr v,
                               CUdeviceptr mask, CUdeviceptr o, CUdeviceptr lse, int bh, int lq, int lk, int d,
                               int dv, boolean causal, float scale) {
        String op = "FlashAttention.forward";
        KernelSupport.notNull(op, "device", dev);
        String dt = validate(op, dtype, bh, lq, lk, d, dv, scale);
        if (bh == 0 || lq == 0) {
            return;
        }
        KernelSupport.notNull(op, "q", q);
        KernelSupport.notNull(op, "o", o);
        KernelSupport.notNull(op, "lse", lse);
        if (lk > 0) {
            KernelSupport.notNull(op, "k", k);
            KernelSupport.notNull(op, "v", v);
        }
        Config cfg = config(d, dv);
        CudaKernel kernel = dev.kernel(MODULE, "attn_fwd_" + dt + "_" + cfg.suffix());
        kernel.requireDynamicShared(cfg.forwardShared());
        kernel.launch(grid(cfg, lq, bh), Dim3.of(THREADS), cfg.forwardShared(),
                forwardArgs(q, k, v, mask, o, lse, bh, lq, lk, d, dv, causal, scale).kernelArgs());
    }

    /**
     * Backward: from q, k, v, the mask, the forward's o and lse, and dO [bh, lq, dv], writes dq [bh, lq, d],
     * dk [bh, lk, d] and dv [bh, lk, dv] (all dtype; every element is written). Three launches: D = rowsum(dO∘o)
     * into scratch, then dk/dv (parallel over keys), then dq (parallel over queries).
     *
     * @throws IllegalArgumentException naming the bad value
     */
    public static void backward(CudaDevice dev, DType dtype, CUdeviceptr q, CUdeviceptr k, CUdeviceptr v,
                                CUdeviceptr mask, CUdeviceptr o, CUdeviceptr lse, CUdeviceptr dO, CUdeviceptr dq,
                                CUdeviceptr dk, CUdeviceptr dv, int bh, int lq, int lk, int d, int dvDim,
                                boolean causal, float scale) {
        String op = "FlashAttention.backward";
        KernelSupport.notNull(op, "device", dev);
        String dt = validate(op, dtype, bh, lq, lk, d, dvDim, scale);
        if (bh == 0 || (lq == 0 && lk == 0)) {
            return;
        }
        if (lq > 0) {
            KernelSupport.notNull(op, "q", q);
            KernelSupport.notNull(op, "o", o);
            KernelSupport.notNull(op, "lse", lse);
            KernelSupport.notNull(op, "dO", dO);
            KernelSupport.notNull(op, "dq", dq);
        }
        if (lk > 0) {
            KernelSupport.notNull(op, "k", k);
            KernelSupport.notNull(op, "v", v);
            KernelSupport.notNull(op, "dk", dk);
            KernelSupport.notNull(op, "dv", dv);
        }
        Config cfg = config(d, dvDim);
        long rows = (long) bh * lq;
        try (DeviceBuffer dBuf = dev.allocate(Math.max(1, rows) * Float.BYTES)) {
            CUdeviceptr dvec = dBuf.pointer();
            if (rows > 0) {
                dev.kernel(MODULE, "attn_bwd_pre_" + dt).launch(Dim3.of(preBlocks(rows)), Dim3.of(THREADS), 0,
                        preArgs(o, dO, dvec, rows, dvDim).kernelArgs());
            }
            if (lk > 0) {
                CudaKernel dkdv = dev.kernel(MODULE, "attn_bwd_dkdv_" + dt + "_" + cfg.suffix());
                dkdv.requireDynamicShared(cfg.dkdvShared());
                dkdv.launch(grid(cfg, lk, bh), Dim3.of(THREADS), cfg.dkdvShared(), dkdvArgs(q, k, v, mask, dO, lse,
                        dvec, dk, dv, bh, lq, lk, d, dvDim, causal, scale).kernelArgs());
            }
            if (lq > 0) {
                CudaKernel dqk = dev.kernel(MODULE, "attn_bwd_dq_" + dt + "_" + cfg.suffix());
                dqk.requireDynamicShared(cfg.forwardShared());
                dqk.launch(grid(cfg, lq, bh), Dim3.of(THREADS), cfg.forwardShared(), dqArgs(q, k, v, mask, dO, lse,
                        dvec, dq, bh, lq, lk, d, dvDim, causal, scale).kernelArgs());
            }
            // dBuf goes back to the allocator now: later work on the device's single stream runs after these kernels
        }
    }

    /** Parameters of attn_fwd_*. */
    static Args forwardArgs(CUdeviceptr q, CUdeviceptr k, CUdeviceptr v, CUdeviceptr mask, CUdeviceptr o,
                            CUdeviceptr lse, int bh, int lq, int lk, int d, int dv, boolean causal, float scale) {
        return new Args().p(q).p(k).p(v).p(mask).p(o).p(lse).i(bh).i(lq).i(lk).i(d).i(dv).i(causal ? 1 : 0)
                .f(scale);
    }

    /** Parameters of attn_bwd_pre_*. */
    static Args preArgs(CUdeviceptr o, CUdeviceptr dO, CUdeviceptr dvec, long rows, int dv) {
        return new Args().p(o).p(dO).p(dvec).l(rows).i(dv);
    }

    /** Parameters of attn_bwd_dkdv_*. */
    static Args dkdvArgs(CUdeviceptr q, CUdeviceptr k, CUdeviceptr v, CUdeviceptr mask, CUdeviceptr dO,
                         CUdeviceptr lse, CUdeviceptr dvec, CUdeviceptr dk, CUdeviceptr dv, int bh, int lq, int lk,
                         int d, int dvDim, boolean causal, float scale) {
        return new Args().p(q).p(k).p(v).p(mask).p(dO).p(lse).p(dvec).p(dk).p(dv).i(bh).i(lq).i(lk).i(d).i(dvDim)
                .i(causal ? 1 : 0).f(scale);
    }

    /** Parameters of attn_bwd_dq_*. */
    static Args dqArgs(CUdeviceptr q, CUdeviceptr k, CUdeviceptr v, CUdeviceptr mask, CUdeviceptr dO,
                       CUdeviceptr lse, CUdeviceptr dvec, CUdeviceptr dq, int bh, int lq, int lk, int d, int dvDim,
                       boolean causal, float scale) {
        return new Args().p(q).p(k).p(v).p(mask).p(dO).p(lse).p(dvec).p(dq).i(bh).i(lq).i(lk).i(d).i(dvDim)
                .i(causal ? 1 : 0).f(scale);
    }

    /** Blocks of the D = rowsum(dO∘o) kernel: one warp per row, 4 rows per block. */
    static int preBlocks(long rows) {
        long blocks = KernelSupport.ceilDiv(rows, THREADS / 32);
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("FlashAttention.backward: bh·lq = " + rows + " rows is too many");
        }
        return (int) blocks;
    }

    /** Argument checks shared by forward and backward; returns the dtype's kernel suffix. */
    static String validate(String op, DType dtype, int bh, int lq, int lk, int d, int dv, float scale) {
        String dt = KernelSupport.suffix(op, dtype);
        KernelSupport.atLeast(op, "bh", bh, 0);
        KernelSupport.atLeast(op, "lq", lq, 0);
        KernelSupport.atLeast(op, "lk", lk, 0);
        KernelSupport.atLeast(op, "d", d, 1);
        KernelSupport.atLeast(op, "dv", dv, 1);
        if (d > MAX_HEAD_DIM || dv > MAX_HEAD_DIM) {
            throw new IllegalArgumentException(op + ": head dims d = " + d + ", dv = " + dv + " exceed "
                    + MAX_HEAD_DIM);
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException(op + ": scale = " + scale + " is not finite");
        }
        // element offsets inside the kernels are 64-bit, but row indices are int
        if ((long) bh * lq > Integer.MAX_VALUE || (long) bh * lk > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": bh·lq = " + (long) bh * lq + " or bh·lk = "
                    + (long) bh * lk + " exceeds 2^31 − 1 rows");
        }
        return dt;
    }
}
