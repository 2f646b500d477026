// softmax.cu — row softmax and its backward (dev.perfusion.cuda.CudaNorms launches them).
// Storage type T: float (_f32), __half (_f16), __nv_bfloat16 (_bf16); arithmetic in float.
//
//  softmax_T(x, y, rows, d)
//      x, y [rows, d] contiguous; y = e^(x − max x) / Σ e^(x − max x) per row. Three passes over the row (max, sum,
//      write); subtracting the max keeps every exponent ≤ 0. A row that is entirely −∞ gives NaN, as PyTorch's and
//      the reference backend's softmax do. A NaN anywhere in a row propagates to the whole row.
//  softmax_backward_T(y, dy, dx, rows, d)
//      dx = y ⊙ (dy − Σ dy ⊙ y) per row (the dot product accumulated in double).
// Launch layout: one block per row (grid-stride over rows), blockDim a multiple of 32 (the launcher picks 32…256
// from d); the block reductions use a fixed tree, so results are deterministic.
#include "common.cuh"

namespace {

template <typename T>
__device__ void softmax_impl(const T* x, T* y, long long rows, long long d) {
    __shared__ float scratch[32];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const long long base = r * d;
        float m = -INFINITY;
        for (long long e = threadIdx.x; e < d; e += blockDim.x) m = pf::nan_max(m, pf::load(x, base + e));
        m = pf::block_max(m, scratch);
        float s = 0.f;
        for (long long e = threadIdx.x; e < d; e += blockDim.x) s += expf(pf::load(x, base + e) - m);
        s = pf::block_sum(s, scratch);
        const float inv = 1.f / s;
        for (long long e = threadIdx.x; e < d; e += blockDim.x) {
            pf::store(y, base + e, expf(pf::load(x, base + e) - m) * inv);
        }
    }
}

template <typename T>
__device__ void softmax_backward_impl(const T* y, const T* dy, T* dx, long long rows, long long d) {
    __shared__ double scratch[32];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const long long base = r * d;
        double dot = 0.0;
        for (long long e = threadIdx.x; e < d; e += blockDim.x) {
            dot += (double)pf::load(dy, base + e) * (double)pf::load(y, base + e);
        }
        const float s = (float)pf::block_sum(dot, scratch);
        for (long long e = threadIdx.x; e < d; e += blockDim.x) {
            pf::store(dx, base + e, pf::load(y, base + e) * (pf::load(dy, base + e) - s));
        }
    }
}

}  // namespace

#define PF_SOFTMAX(SUFFIX, T)                                                                                      \
    extern "C" __global__ void softmax_##SUFFIX(const T* x, T* y, long long rows, long long d) {                   \
        softmax_impl<T>(x, y, rows, d);                                                                            \
    }                                                                                                              \
    extern "C" __global__ void softmax_backward_##SUFFIX(const T* y, const T* dy, T* dx, long long rows,           \
                                                         long long d) {                                            \
        softmax_backward_impl<T>(y, dy, dx, rows, d);                                                              \
    }

PF_SOFTMAX(f32, float)
PF_SOFTMAX(f16, __half)
PF_SOFTMAX(bf16, __nv_bfloat16)
