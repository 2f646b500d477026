// layout.cu — element rearrangements and fills of the CUDA backend (dev.perfusion.cuda.CudaShapeOps). These
// kernels move raw elements without arithmetic, so they work for every dtype by element width: _b16 (FLOAT16,
// BFLOAT16), _b32 (FLOAT32, INT32), _b64 (INT64).
//
//  strided_copy_bW(src, dst, n, dims[6], ss[6], ds[6])
//      For every row-major index i < n of a tensor with sizes dims (outermost first, padded at the front with 1):
//      dst[Σ c_k·ds_k] = src[Σ c_k·ss_k], c = the coordinates of i. permute (ss permuted), slice (src offset by
//      the host), expand (ss = 0 on broadcast axes), concat and pad (ds = the output's strides, dst offset by the
//      host) are all this one kernel. Destination elements must be distinct (ds never maps two i to one slot).
//  fill_bW(dst, n, bits)  dst[i] = bits for i < n (bits: the element's raw bit pattern, zero-extended).
// Launch layout: 1-D grid-stride loop, block 256.
#include "common.cuh"

namespace {

template <typename W, typename I>
__device__ void strided_copy_loop(const W* src, W* dst, long long n, const long long* dims, const long long* ss,
                                  const long long* ds) {
    PF_GRID_STRIDE(i, n) {
        long long so, dof;
        pf::strided_offset2<I>((I)i, dims, ss, ds, so, dof);
        dst[dof] = src[so];
    }
}

template <typename W>
__device__ void strided_copy_impl(const W* src, W* dst, long long n, const long long* dims, const long long* ss,
                                  const long long* ds) {
    if (n <= 0xffffffffLL) {
        strided_copy_loop<W, unsigned int>(src, dst, n, dims, ss, ds);
    } else {
        strided_copy_loop<W, unsigned long long>(src, dst, n, dims, ss, ds);
    }
}

template <typename W>
__device__ void fill_impl(W* dst, long long n, W bits) {
    PF_GRID_STRIDE(i, n) { dst[i] = bits; }
}

}  // namespace

#define PF_LAYOUT(SUFFIX, W)                                                                                       \
    extern "C" __global__ void strided_copy_##SUFFIX(const W* src, W* dst, long long n, PF_DIMS6(d), PF_DIMS6(ss), \
                                                     PF_DIMS6(ds)) {                                               \
        PF_ARRAY6(d);                                                                                              \
        PF_ARRAY6(ss);                                                                                             \
        PF_ARRAY6(ds);                                                                                             \
        strided_copy_impl<W>(src, dst, n, d, ss, ds);                                                              \
    }                                                                                                              \
    extern "C" __global__ void fill_##SUFFIX(W* dst, long long n, long long bits) { fill_impl<W>(dst, n, (W)bits); }

PF_LAYOUT(b16, unsigned short)
PF_LAYOUT(b32, unsigned int)
PF_LAYOUT(b64, unsigned long long)
