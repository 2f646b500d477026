// cast.cu — dtype conversions of the CUDA backend (dev.perfusion.cuda.CudaMemoryOps#cast launches them).
//
//  cast_S_D(x, y, n)   y[i] = x[i] converted from storage type S to D, n contiguous elements, for every pair of
//      S, D in {f32, f16, bf16, i32, i64} (25 kernels; S == D is a plain copy).
//      Semantics match dev.perfusion.backend.reference.ReferenceBackend#cast exactly:
//        float → half type: round to nearest even (__float2half_rn / __float2bfloat16_rn);
//        half type → float: exact widening;
//        half → other half: widen to float, then round;
//        floating → integer: truncate toward zero, saturate at the integer range, NaN gives 0 (Java's narrowing;
//          the PTX cvt.rzi conversions behave exactly so);
//        integer → floating: to float with round-to-nearest (as Java's (float) of an int or long), then, for a half
//          type, rounded again to it (the reference does the same two steps);
//        INT64 → INT32 keeps the low 32 bits; INT32 → INT64 sign-extends.
// Launch layout: 1-D grid-stride loop, block 256.
#include "common.cuh"

namespace {

// every source type to float (integers round to nearest, as Java's (float) conversion)
__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(int v) { return __int2float_rn(v); }
__device__ __forceinline__ float to_float(long long v) { return __ll2float_rn(v); }

template <typename D>
struct Convert;

template <>
struct Convert<float> {
    template <typename S>
    __device__ static float from(S v) { return to_float(v); }
};

template <>
struct Convert<__half> {
    template <typename S>
    __device__ static __half from(S v) { return __float2half_rn(to_float(v)); }
};

template <>
struct Convert<__nv_bfloat16> {
    template <typename S>
    __device__ static __nv_bfloat16 from(S v) { return __float2bfloat16_rn(to_float(v)); }
};

template <>
struct Convert<int> {
    template <typename S>
    __device__ static int from(S v) { return __float2int_rz(to_float(v)); }  // saturating, NaN → 0
    __device__ static int from(int v) { return v; }
    __device__ static int from(long long v) { return (int)(unsigned int)(unsigned long long)v; }  // low 32 bits
};

template <>
struct Convert<long long> {
    template <typename S>
    __device__ static long long from(S v) { return __float2ll_rz(to_float(v)); }  // saturating, NaN → 0
    __device__ static long long from(int v) { return (long long)v; }
    __device__ static long long from(long long v) { return v; }
};

template <typename S, typename D>
__device__ void cast_impl(const S* x, D* y, long long n) {
    PF_GRID_STRIDE(i, n) { y[i] = Convert<D>::from(x[i]); }
}

}  // namespace

#define PF_CAST(SN, S, DN, D)                                                                                      \
    extern "C" __global__ void cast_##SN##_##DN(const S* x, D* y, long long n) { cast_impl<S, D>(x, y, n); }

#define PF_CAST_FROM(SN, S)                                                                                        \
    PF_CAST(SN, S, f32, float)                                                                                     \
    PF_CAST(SN, S, f16, __half)                                                                                    \
    PF_CAST(SN, S, bf16, __nv_bfloat16)                                                                            \
    PF_CAST(SN, S, i32, int)                                                                                       \
    PF_CAST(SN, S, i64, long long)

PF_CAST_FROM(f32, float)
PF_CAST_FROM(f16, __half)
PF_CAST_FROM(bf16, __nv_bfloat16)
PF_CAST_FROM(i32, int)
PF_CAST_FROM(i64, long long)
