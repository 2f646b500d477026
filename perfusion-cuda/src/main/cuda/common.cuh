// common.cuh — device helpers shared by the INFRA kernels of perfusion-cuda (elementwise, cast, layout, reduce,
// norm, softmax, nn). Owned by INFRA; the tensor-core kernels keep their own helpers in hot_common.cuh.
//
// Conventions used by every kernel that includes this header:
//  * Storage types are float (FLOAT32), __half (FLOAT16) and __nv_bfloat16 (BFLOAT16). Arithmetic is always in
//    float: pf::load widens, pf::store rounds to nearest even (bit-exact with dev.perfusion.tensor.HalfFloats,
//    except that the payload of a NaN may differ; it stays a NaN).
//  * Element counts and offsets are 64-bit (long long). Elementwise kernels use grid-stride loops, so any grid
//    size is correct; the Java side caps the grid and picks 256 threads per block.
//  * Strided kernels receive up to PF_MAX_DIMS axis sizes and strides as separate long long parameters (the Java
//    side collapses contiguous axes and pads at the front with size 1 / stride 0).
//  * Reductions are deterministic: fixed per-thread order and a fixed shuffle tree, never atomics.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#define PF_MAX_DIMS 6

// Parameter list of six 64-bit axis sizes or strides: p0 … p5 (outermost first).
#define PF_DIMS6(p) long long p##0, long long p##1, long long p##2, long long p##3, long long p##4, long long p##5
// The same six values as a local array p[6].
#define PF_ARRAY6(p) const long long p[PF_MAX_DIMS] = {p##0, p##1, p##2, p##3, p##4, p##5}

// for (i = global thread index; i < n; i += total threads)
#define PF_GRID_STRIDE(i, n)                                                                                       \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                                  \
         i += (long long)blockDim.x * gridDim.x)

namespace pf {

// ---------------------------------------------------------------------------------------------- storage types

__device__ __forceinline__ float load(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float load(const __half* p, long long i) { return __half2float(p[i]); }
__device__ __forceinline__ float load(const __nv_bfloat16* p, long long i) { return __bfloat162float(p[i]); }

__device__ __forceinline__ void store(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__half* p, long long i, float v) { p[i] = __float2half_rn(v); }
__device__ __forceinline__ void store(__nv_bfloat16* p, long long i, float v) { p[i] = __float2bfloat16_rn(v); }

// ---------------------------------------------------------------------------------------------- index maths

// Offset of flat row-major index `i` of a tensor with sizes dims[0..5] in a layout with `strides`.
// Axes of size 1 are skipped (they contribute nothing and the division is the expensive part).
template <typename I>
__device__ __forceinline__ long long strided_offset(I i, const long long* dims, const long long* strides) {
    long long off = 0;
#pragma unroll
    for (int k = PF_MAX_DIMS - 1; k >= 0; --k) {
        I d = (I)dims[k];
        if (d != 1) {
            I c = i % d;
            i /= d;
            off += (long long)c * strides[k];
        }
    }
    return off;
}

// Two offsets at once (same coordinates, two layouts): one division per axis instead of two.
template <typename I>
__device__ __forceinline__ void strided_offset2(I i, const long long* dims, const long long* sa, const long long* sb,
                                                long long& oa, long long& ob) {
    oa = 0;
    ob = 0;
#pragma unroll
    for (int k = PF_MAX_DIMS - 1; k >= 0; --k) {
        I d = (I)dims[k];
        if (d != 1) {
            I c = i % d;
            i /= d;
            oa += (long long)c * sa[k];
            ob += (long long)c * sb[k];
        }
    }
}

// ---------------------------------------------------------------------------------------------- reductions

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// max that propagates NaN (as PyTorch and the reference backend do)
__device__ __forceinline__ float nan_max(float a, float b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    return a > b ? a : b;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
// `scratch` holds 32 values in shared memory; the leading __syncthreads lets callers reuse it back to back.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
    v = warp_sum(v);
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    const int warps = blockDim.x >> 5;
    T r = lane < warps ? scratch[lane] : T(0);
    return warp_sum(r);
}

// NaN-propagating max over the block; every thread gets the result.
__device__ __forceinline__ float block_max(float v, float* scratch) {
    v = warp_max(v);
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    const int warps = blockDim.x >> 5;
    float r = lane < warps ? scratch[lane] : -INFINITY;
    return warp_max(r);
}

// ---------------------------------------------------------------------------------------------- activations

__device__ __forceinline__ float sigmoid(float x) {
    // the branch keeps expf's argument ≤ 0, so nothing overflows
    if (x >= 0.f) return 1.f / (1.f + expf(-x));
    const float e = expf(x);
    return e / (1.f + e);
}

// exact (erf) GELU: ½x(1 + erf(x/√2))
__device__ __forceinline__ float gelu_erf(float x) { return 0.5f * x * (1.f + erff(x * 0.70710678118654752440f)); }

// d/dx of gelu_erf: Φ(x) + x·φ(x)
__device__ __forceinline__ float gelu_erf_grad(float x) {
    return 0.5f * (1.f + erff(x * 0.70710678118654752440f)) + x * expf(-0.5f * x * x) * 0.39894228040143267794f;
}

}  // namespace pf
