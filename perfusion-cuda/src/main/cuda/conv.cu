// conv.cu — the data-movement kernels of 2-D convolution as im2col + GEMM (the products run in gemm.cu).
//
// Convolution (NCHW, weights OIHW): y[n,o,i,j] = bias[o] + Σ_{c,p,q} w[o,c,p,q]·x[n,c,i·s+p−pad, j·s+q−pad],
// oh = (h + 2pad − kh)/s + 1, ow likewise; R = c·kh·kw rows of the column matrix, P = oh·ow columns per image.
// Column-matrix layout, shared by im2col and col2im: element (image n, row r = (c·kh + p)·kw + q, column i·ow + j)
// lives at col[n·colStrideN + r·colLdRow + i·ow + j]. Forward and backwardInput use one [R, P] matrix per image
// (colStrideN = R·P, colLdRow = P); backwardWeight lays a chunk of images side by side, [R, nb·P]
// (colStrideN = P, colLdRow = nb·P), so that dW = dyᵀ-permuted · colᵀ is a single product over nb·P.
//
// Kernels (suffix f32 / f16 / bf16: the storage type of every tensor; sums are fp32):
//   conv_im2col_*      (x, col, nb, c, h, w, kh, kw, stride, pad, oh, ow, colStrideN, colLdRow)
//                      one thread per column element (zero where the window is outside x).
//   conv_col2im_*      (col, dx, nb, c, h, w, kh, kw, stride, pad, oh, ow, colStrideN, colLdRow)
//                      dx[n,c,y,x] = Σ over the (p, q, i, j) with i·s + p − pad = y, j·s + q − pad = x of col;
//                      one thread per dx element GATHERS its terms in a fixed order: deterministic, no atomics.
//   conv_bias_add_*    (y, bias, total, o, hw): y[n,o,·] += bias[o] (rounded once to the storage type).
//   conv_to_cn_*       (src, dst, nb, o, hw): [nb, o, hw] → [o, nb·hw] (dy for the weight gradient).
//   conv_sum_chunks_*  (partial, out, chunks, count): out[i] = Σ_k partial[k·count + i] in a fixed order (the
//                      weight gradient when the batch is processed in several chunks).
// Launch: 256 threads, 1-D grid of min(ceil(total / 256), 65535·16) blocks, grid-stride loops (64-bit indices).
#include "hot_common.cuh"

namespace {

constexpr int CONV_THREADS = 256;

template <typename T>
__device__ __forceinline__ void im2col_body(const T* __restrict__ x, T* __restrict__ col, int nb, int c, int h,
                                            int w, int kh, int kw, int stride, int pad, int oh, int ow,
                                            long long colStrideN, long long colLdRow) {
    const long long P = (long long)oh * ow;
    const long long R = (long long)c * kh * kw;
    const long long total = (long long)nb * R * P;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (long long)gridDim.x * blockDim.x) {
        const long long pix = idx % P;
        const long long rest = idx / P;
        const long long r = rest % R;
        const int n = (int)(rest / R);
        const int q = (int)(r % kw);
        const int p = (int)((r / kw) % kh);
        const int ci = (int)(r / ((long long)kw * kh));
        const int i = (int)(pix / ow);
        const int j = (int)(pix % ow);
        const int yy = i * stride + p - pad;
        const int xx = j * stride + q - pad;
        T v = hot::zero<T>();
        if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
            v = x[(((size_t)n * c + ci) * h + yy) * w + xx];
        }
        col[n * colStrideN + r * colLdRow + pix] = v;
    }
}

template <typename T>
__device__ __forceinline__ void col2im_body(const T* __restrict__ col, T* __restrict__ dx, int nb, int c, int h,
                                            int w, int kh, int kw, int stride, int pad, int oh, int ow,
                                            long long colStrideN, long long colLdRow) {
    const long long total = (long long)nb * c * h * w;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (long long)gridDim.x * blockDim.x) {
        const int xx = (int)(idx % w);
        const int yy = (int)((idx / w) % h);
        const int ci = (int)((idx / ((long long)w * h)) % c);
        const int n = (int)(idx / ((long long)w * h * c));
        const T* cn = col + n * colStrideN;
        float acc = 0.0f;
        for (int p = 0; p < kh; ++p) {
            const int ty = yy + pad - p;  // = i·stride
            if (ty < 0 || ty % stride != 0) continue;
            const int i = ty / stride;
            if (i >= oh) continue;
            for (int q = 0; q < kw; ++q) {
                const int tx = xx + pad - q;
                if (tx < 0 || tx % stride != 0) continue;
                const int j = tx / stride;
                if (j >= ow) continue;
                const long long r = ((long long)ci * kh + p) * kw + q;
                acc += hot::load_f32(cn + r * colLdRow + (long long)i * ow + j);
            }
        }
        dx[idx] = hot::from_f32<T>(acc);
    }
}

template <typename T>
__device__ __forceinline__ void bias_add_body(T* __restrict__ y, const T* __restrict__ bias, long long total, int o,
                                              int hw) {
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (long long)gridDim.x * blockDim.x) {
        const int oc = (int)((idx / hw) % o);
        y[idx] = hot::from_f32<T>(hot::to_f32(y[idx]) + hot::load_f32(bias + oc));
    }
}

template <typename T>
__device__ __forceinline__ void to_cn_body(const T* __restrict__ src, T* __restrict__ dst, int nb, int o, int hw) {
    const long long total = (long long)nb * o * hw;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (long long)gridDim.x * blockDim.x) {
        // idx walks dst [o, nb, hw]: consecutive threads write consecutive addresses and read runs of hw
        const long long pix = idx % hw;
        const long long n = (idx / hw) % nb;
        const long long oc = idx / ((long long)hw * nb);
        dst[idx] = src[(n * o + oc) * hw + pix];
    }
}

template <typename T>
__device__ __forceinline__ void sum_chunks_body(const T* __restrict__ partial, T* __restrict__ out, int chunks,
                                                long long count) {
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < count;
         idx += (long long)gridDim.x * blockDim.x) {
        float acc = 0.0f;
        for (int k = 0; k < chunks; ++k) acc += hot::load_f32(partial + k * count + idx);
        out[idx] = hot::from_f32<T>(acc);
    }
}

}  // namespace

#define CONV_KERNELS(DT, T)                                                                                        \
    extern "C" __global__ void __launch_bounds__(CONV_THREADS)                                                    \
        conv_im2col_##DT(const T* x, T* col, int nb, int c, int h, int w, int kh, int kw, int stride, int pad,    \
                         int oh, int ow, long long colStrideN, long long colLdRow) {                              \
        im2col_body<T>(x, col, nb, c, h, w, kh, kw, stride, pad, oh, ow, colStrideN, colLdRow);                   \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(CONV_THREADS)                                                    \
        conv_col2im_##DT(const T* col, T* dx, int nb, int c, int h, int w, int kh, int kw, int stride, int pad,   \
                         int oh, int ow, long long colStrideN, long long colLdRow) {                              \
        col2im_body<T>(col, dx, nb, c, h, w, kh, kw, stride, pad, oh, ow, colStrideN, colLdRow);                  \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(CONV_THREADS)                                                    \
        conv_bias_add_##DT(T* y, const T* bias, long long total, int o, int hw) {                                 \
        bias_add_body<T>(y, bias, total, o, hw);                                                                  \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(CONV_THREADS)                                                    \
        conv_to_cn_##DT(const T* src, T* dst, int nb, int o, int hw) {                                            \
        to_cn_body<T>(src, dst, nb, o, hw);                                                                       \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(CONV_THREADS)                                                    \
        conv_sum_chunks_##DT(const T* partial, T* out, int chunks, long long count) {                             \
        sum_chunks_body<T>(partial, out, chunks, count);                                                          \
    }

CONV_KERNELS(f32, float)
CONV_KERNELS(f16, __half)
CONV_KERNELS(bf16, __nv_bfloat16)
