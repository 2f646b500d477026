// reduce.cu — reductions of the CUDA backend (dev.perfusion.cuda.CudaReductions, CudaNorms). FLOAT32 only.
// All sums accumulate in double in a fixed order (no atomics), so results are deterministic run to run.
//
//  sum_rows_f32(x, y, nOut, nRed, kd[6], ks[6], rd[6], rs[6])
//      y[o] = Σ_{r < nRed} x[off_k(o) + off_r(r)], where off_k maps the row-major index o over the kept axes
//      (sizes kd, input strides ks) and off_r the index r over the reduced axes (sizes rd, input strides rs).
//      One block per output (grid-stride over o), blockDim a multiple of 32 (≤ 1024); threads stride over r.
//      Best when each output reduces many elements.
//  sum_cols_f32(...same parameters...)
//      The same sum with one thread per output (block 256): best when there are many outputs and consecutive
//      outputs are adjacent in memory (coalesced), e.g. a bias gradient Σ over the batch of [B, C].
//  max_inner_f32(x, y, outer, n, inner)
//      x viewed as [outer, n, inner]; y[o, i] = max_k x[o, k, i] (NaN propagates). One thread per output,
//      block 256, grid-stride; coalesced over i.
//  max_lastaxis_f32(x, y, rows, n)
//      The inner == 1 case: y[r] = max_k x[r, k]; one warp per row, 8 warps per block (block 256).
//  colsum_f32(x, y, rows, cols)
//      y[c] = Σ_r x[r, c] for a contiguous [rows, cols] x; one thread per column (block 256), r ascending.
#include "common.cuh"

namespace {

template <typename I>
__device__ void sum_rows_loop(const float* x, float* y, long long nOut, long long nRed, const long long* kd,
                              const long long* ks, const long long* rd, const long long* rs) {
    __shared__ double scratch[32];
    for (long long o = blockIdx.x; o < nOut; o += gridDim.x) {
        const long long base = pf::strided_offset<I>((I)o, kd, ks);
        double acc = 0.0;
        for (long long r = threadIdx.x; r < nRed; r += blockDim.x) {
            acc += (double)x[base + pf::strided_offset<I>((I)r, rd, rs)];
        }
        acc = pf::block_sum(acc, scratch);
        if (threadIdx.x == 0) y[o] = (float)acc;
    }
}

template <typename I>
__device__ void sum_cols_loop(const float* x, float* y, long long nOut, long long nRed, const long long* kd,
                              const long long* ks, const long long* rd, const long long* rs) {
    PF_GRID_STRIDE(o, nOut) {
        const long long base = pf::strided_offset<I>((I)o, kd, ks);
        double acc = 0.0;
        for (long long r = 0; r < nRed; ++r) {
            acc += (double)x[base + pf::strided_offset<I>((I)r, rd, rs)];
        }
        y[o] = (float)acc;
    }
}

}  // namespace

extern "C" __global__ void sum_rows_f32(const float* x, float* y, long long nOut, long long nRed, PF_DIMS6(kd),
                                        PF_DIMS6(ks), PF_DIMS6(rd), PF_DIMS6(rs)) {
    PF_ARRAY6(kd);
    PF_ARRAY6(ks);
    PF_ARRAY6(rd);
    PF_ARRAY6(rs);
    if (nOut <= 0xffffffffLL && nRed <= 0xffffffffLL) {
        sum_rows_loop<unsigned int>(x, y, nOut, nRed, kd, ks, rd, rs);
    } else {
        sum_rows_loop<unsigned long long>(x, y, nOut, nRed, kd, ks, rd, rs);
    }
}

extern "C" __global__ void sum_cols_f32(const float* x, float* y, long long nOut, long long nRed, PF_DIMS6(kd),
                                        PF_DIMS6(ks), PF_DIMS6(rd), PF_DIMS6(rs)) {
    PF_ARRAY6(kd);
    PF_ARRAY6(ks);
    PF_ARRAY6(rd);
    PF_ARRAY6(rs);
    if (nOut <= 0xffffffffLL && nRed <= 0xffffffffLL) {
        sum_cols_loop<unsigned int>(x, y, nOut, nRed, kd, ks, rd, rs);
    } else {
        sum_cols_loop<unsigned long long>(x, y, nOut, nRed, kd, ks, rd, rs);
    }
}

extern "C" __global__ void max_inner_f32(const float* x, float* y, long long outer, long long n, long long inner) {
    const long long total = outer * inner;
    PF_GRID_STRIDE(t, total) {
        const long long o = t / inner;
        const long long i = t - o * inner;
        const float* p = x + o * n * inner + i;
        float m = p[0];
        for (long long k = 1; k < n; ++k) m = pf::nan_max(m, p[k * inner]);
        y[t] = m;
    }
}

extern "C" __global__ void max_lastaxis_f32(const float* x, float* y, long long rows, long long n) {
    const int lane = threadIdx.x & 31;
    const long long warpsPerGrid = (long long)gridDim.x * (blockDim.x >> 5);
    for (long long r = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warpsPerGrid) {
        const float* p = x + r * n;
        float m = -INFINITY;
        for (long long k = lane; k < n; k += 32) m = pf::nan_max(m, p[k]);
        m = pf::warp_max(m);
        if (lane == 0) y[r] = m;
    }
}

extern "C" __global__ void colsum_f32(const float* x, float* y, long long rows, long long cols) {
    PF_GRID_STRIDE(c, cols) {
        double acc = 0.0;
        for (long long r = 0; r < rows; ++r) acc += (double)x[r * cols + c];
        y[c] = (float)acc;
    }
}
