// elementwise.cu — elementwise kernels of the CUDA backend (dev.perfusion.cuda.CudaElementwise launches them).
//
// Every kernel exists for the three floating storage types, suffixed _f32 (float), _f16 (__half) and _bf16
// (__nv_bfloat16); values are widened to float, computed in float and rounded once on store.
// Launch layout for all of them: 1-D grid-stride loop, block 256, grid ⌈n/256⌉ capped by the launcher.
//
//  unary_T(x, y, n, op)              y[i] = f_op(x[i]), n elements, contiguous.
//  unary_backward_T(x, dy, dx, n, op) dx[i] = dy[i]·f_op′(x[i]).
//      op codes (dev.perfusion.tensor.UnaryOp): 0 NEG, 1 SQUARE, 2 EXP, 3 LOG, 4 SQRT, 5 RSQRT, 6 SIN, 7 COS,
//      8 TANH, 9 SIGMOID, 10 SILU, 11 GELU (erf), 12 GELU_TANH, 13 QUICK_GELU (x·σ(1.702x)).
//  binary_T(a, b, y, n, op, contiguous, dims[6], sa[6], sb[6])
//      y[i] = g_op(a[offA(i)], b[offB(i)]) with NumPy broadcasting: y is contiguous with sizes dims; sa/sb are the
//      element strides of a and b in y's coordinates (0 on broadcast axes). contiguous = 1 means a, b and y all
//      share y's layout (offA = offB = i) and the index maths is skipped.
//      op codes (dev.perfusion.tensor.BinaryOp): 0 ADD, 1 SUB, 2 MUL, 3 DIV, 4 MAXIMUM, 5 MINIMUM (NaN propagates,
//      max(−0, +0) = +0 and min(−0, +0) = −0, as java.lang.Math).
//  affine_T(x, y, n, scale, shift)   y[i] = fma(scale, x[i], shift).
//  pow_T(x, y, n, p)                 y[i] = powf(x[i], p).
//  geglu_T(x, y, rows, f)            x [rows, 2F] = (h, g); y [rows, F] = h·GELU(g) (erf GELU); n = rows·F threads.
//  geglu_backward_T(x, dy, dx, rows, f)  dx[:, :F] = dy·GELU(g), dx[:, F:] = dy·h·GELU′(g).
//  upsample2x_T(x, y, planes, h, w)  y [planes, 2h, 2w] = x[planes, ⌊i/2⌋, ⌊j/2⌋]; one thread per output element.
//  upsample2x_backward_T(dy, dx, planes, h, w)  dx [planes, h, w] = Σ of the 2×2 block of dy [planes, 2h, 2w];
//      one thread per dx element, the four terms added in a fixed order (deterministic).
#include "common.cuh"

namespace {

__device__ __forceinline__ float unary_value(int op, float x) {
    switch (op) {
        case 0: return -x;
        case 1: return x * x;
        case 2: return expf(x);
        case 3: return logf(x);
        case 4: return sqrtf(x);
        case 5: return 1.f / sqrtf(x);
        case 6: return sinf(x);
        case 7: return cosf(x);
        case 8: return tanhf(x);
        case 9: return pf::sigmoid(x);
        case 10: return x * pf::sigmoid(x);
        case 11: return pf::gelu_erf(x);
        case 12: {
            const float k0 = 0.79788456080286535588f;  // √(2/π)
            return 0.5f * x * (1.f + tanhf(k0 * (x + 0.044715f * x * x * x)));
        }
        case 13: return x * pf::sigmoid(1.702f * x);
        default: return __int_as_float(0x7fc00000);  // unknown op: NaN, never silently a number
    }
}

__device__ __forceinline__ float unary_grad(int op, float x) {
    switch (op) {
        case 0: return -1.f;
        case 1: return 2.f * x;
        case 2: return expf(x);
        case 3: return 1.f / x;
        case 4: return 0.5f / sqrtf(x);
        case 5: return -0.5f / (x * sqrtf(x));
        case 6: return cosf(x);
        case 7: return -sinf(x);
        case 8: {
            const float t = tanhf(x);
            return 1.f - t * t;
        }
        case 9: {
            const float s = pf::sigmoid(x);
            return s * (1.f - s);
        }
        case 10: {
            const float s = pf::sigmoid(x);
            return s * (1.f + x * (1.f - s));
        }
        case 11: return pf::gelu_erf_grad(x);
        case 12: {
            const float k0 = 0.79788456080286535588f;
            const float k1 = 0.044715f;
            const float t = tanhf(k0 * (x + k1 * x * x * x));
            return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * k0 * (1.f + 3.f * k1 * x * x);
        }
        case 13: {
            const float s = pf::sigmoid(1.702f * x);
            return s + 1.702f * x * s * (1.f - s);
        }
        default: return __int_as_float(0x7fc00000);
    }
}

__device__ __forceinline__ float binary_value(int op, float a, float b) {
    switch (op) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4:
            if (isnan(a) || isnan(b)) return a + b;
            if (a == b) return signbit(a) ? b : a;  // max(−0, +0) = +0
            return a > b ? a : b;
        case 5:
            if (isnan(a) || isnan(b)) return a + b;
            if (a == b) return signbit(a) ? a : b;  // min(−0, +0) = −0
            return a < b ? a : b;
        default: return __int_as_float(0x7fc00000);
    }
}

template <typename T>
__device__ void unary_impl(const T* x, T* y, long long n, int op) {
    PF_GRID_STRIDE(i, n) { pf::store(y, i, unary_value(op, pf::load(x, i))); }
}

template <typename T>
__device__ void unary_backward_impl(const T* x, const T* dy, T* dx, long long n, int op) {
    PF_GRID_STRIDE(i, n) { pf::store(dx, i, pf::load(dy, i) * unary_grad(op, pf::load(x, i))); }
}

template <typename T, typename I>
__device__ void binary_strided(const T* a, const T* b, T* y, long long n, int op, const long long* dims,
                               const long long* sa, const long long* sb) {
    PF_GRID_STRIDE(i, n) {
        long long oa, ob;
        pf::strided_offset2<I>((I)i, dims, sa, sb, oa, ob);
        pf::store(y, i, binary_value(op, pf::load(a, oa), pf::load(b, ob)));
    }
}

template <typename T>
__device__ void binary_impl(const T* a, const T* b, T* y, long long n, int op, int contiguous, const long long* dims,
                            const long long* sa, const long long* sb) {
    if (contiguous) {
        PF_GRID_STRIDE(i, n) { pf::store(y, i, binary_value(op, pf::load(a, i), pf::load(b, i))); }
    } else if (n <= 0xffffffffLL) {
        binary_strided<T, unsigned int>(a, b, y, n, op, dims, sa, sb);  // 32-bit divisions are much cheaper
    } else {
        binary_strided<T, unsigned long long>(a, b, y, n, op, dims, sa, sb);
    }
}

template <typename T>
__device__ void affine_impl(const T* x, T* y, long long n, float scale, float shift) {
    PF_GRID_STRIDE(i, n) { pf::store(y, i, fmaf(scale, pf::load(x, i), shift)); }
}

template <typename T>
__device__ void pow_impl(const T* x, T* y, long long n, float p) {
    PF_GRID_STRIDE(i, n) { pf::store(y, i, powf(pf::load(x, i), p)); }
}

template <typename T>
__device__ void geglu_impl(const T* x, T* y, long long rows, long long f) {
    const long long n = rows * f;
    PF_GRID_STRIDE(i, n) {
        const long long r = i / f;
        const long long e = i - r * f;
        const float h = pf::load(x, r * 2 * f + e);
        const float g = pf::load(x, r * 2 * f + f + e);
        pf::store(y, i, h * pf::gelu_erf(g));
    }
}

template <typename T>
__device__ void geglu_backward_impl(const T* x, const T* dy, T* dx, long long rows, long long f) {
    const long long n = rows * f;
    PF_GRID_STRIDE(i, n) {
        const long long r = i / f;
        const long long e = i - r * f;
        const float h = pf::load(x, r * 2 * f + e);
        const float g = pf::load(x, r * 2 * f + f + e);
        const float d = pf::load(dy, i);
        pf::store(dx, r * 2 * f + e, d * pf::gelu_erf(g));
        pf::store(dx, r * 2 * f + f + e, d * h * pf::gelu_erf_grad(g));
    }
}

template <typename T>
__device__ void upsample2x_impl(const T* x, T* y, long long planes, long long h, long long w) {
    const long long ow = 2 * w;
    const long long n = planes * 4 * h * w;
    PF_GRID_STRIDE(i, n) {
        const long long j = i % ow;
        const long long t = i / ow;
        const long long r = t % (2 * h);
        const long long p = t / (2 * h);
        y[i] = x[(p * h + r / 2) * w + j / 2];  // a pure copy: no widening needed
    }
}

template <typename T>
__device__ void upsample2x_backward_impl(const T* dy, T* dx, long long planes, long long h, long long w) {
    const long long ow = 2 * w;
    const long long n = planes * h * w;
    PF_GRID_STRIDE(i, n) {
        const long long j = i % w;
        const long long t = i / w;
        const long long r = t % h;
        const long long p = t / h;
        const long long base = (p * 2 * h + 2 * r) * ow + 2 * j;
        const float s = pf::load(dy, base) + pf::load(dy, base + 1) + pf::load(dy, base + ow) + pf::load(dy, base + ow + 1);
        pf::store(dx, i, s);
    }
}

}  // namespace

#define PF_ELEMENTWISE(SUFFIX, T)                                                                                  \
    extern "C" __global__ void unary_##SUFFIX(const T* x, T* y, long long n, int op) { unary_impl<T>(x, y, n, op); } \
    extern "C" __global__ void unary_backward_##SUFFIX(const T* x, const T* dy, T* dx, long long n, int op) {       \
        unary_backward_impl<T>(x, dy, dx, n, op);                                                                  \
    }                                                                                                              \
    extern "C" __global__ void binary_##SUFFIX(const T* a, const T* b, T* y, long long n, int op, int contiguous,   \
                                               PF_DIMS6(d), PF_DIMS6(sa), PF_DIMS6(sb)) {                          \
        PF_ARRAY6(d);                                                                                              \
        PF_ARRAY6(sa);                                                                                             \
        PF_ARRAY6(sb);                                                                                             \
        binary_impl<T>(a, b, y, n, op, contiguous, d, sa, sb);                                                     \
    }                                                                                                              \
    extern "C" __global__ void affine_##SUFFIX(const T* x, T* y, long long n, float scale, float shift) {          \
        affine_impl<T>(x, y, n, scale, shift);                                                                     \
    }                                                                                                              \
    extern "C" __global__ void pow_##SUFFIX(const T* x, T* y, long long n, float p) { pow_impl<T>(x, y, n, p); }    \
    extern "C" __global__ void geglu_##SUFFIX(const T* x, T* y, long long rows, long long f) {                     \
        geglu_impl<T>(x, y, rows, f);                                                                              \
    }                                                                                                              \
    extern "C" __global__ void geglu_backward_##SUFFIX(const T* x, const T* dy, T* dx, long long rows, long long f) { \
        geglu_backward_impl<T>(x, dy, dx, rows, f);                                                                \
    }                                                                                                              \
    extern "C" __global__ void upsample2x_##SUFFIX(const T* x, T* y, long long planes, long long h, long long w) {  \
        upsample2x_impl<T>(x, y, planes, h, w);                                                                    \
    }                                                                                                              \
    extern "C" __global__ void upsample2x_backward_##SUFFIX(const T* dy, T* dx, long long planes, long long h,     \
                                                            long long w) {                                         \
        upsample2x_backward_impl<T>(dy, dx, planes, h, w);                                                         \
    }

PF_ELEMENTWISE(f32, float)
PF_ELEMENTWISE(f16, __half)
PF_ELEMENTWISE(bf16, __nv_bfloat16)
