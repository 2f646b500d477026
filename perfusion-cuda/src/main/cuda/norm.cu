// norm.cu — group norm and layer norm, forward and backward (dev.perfusion.cuda.CudaNorms launches them).
// Storage type T is float (_f32), __half (_f16) or __nv_bfloat16 (_bf16) for x, dy, y, dx, γ and β; statistics
// and gradients are accumulated in double, the saved mean/rstd and the partial sums are float. γ/β pointers may be
// null (meaning 1 and 0). Nothing uses atomics: every result is deterministic.
//
// Letters: a *segment* is the set of elements normalised together: for group norm of x [N, C, S] (S = product of
// the spatial axes) segment s = n·G + g is channels g·C/G … (g+1)·C/G − 1 of sample n, M = C/G·S contiguous
// elements; for layer norm of x [rows, D] a segment is one row, M = D. x̂ = (x − μ)·rstd, rstd = 1/√(σ² + eps),
// σ² the biased variance (two passes: mean first, then Σ(x − μ)²/M).
//
//  groupnorm_fwd_T(x, gamma, beta, y, mean, rstd, segments, M, S, cPerGroup, groups, eps)
//      One block per segment (grid-stride), blockDim a multiple of 32. y = x̂·γ[c] + β[c], c = g·C/G + e/S.
//      y may be null (statistics only); mean/rstd [segments] may be null (not saved).
//  groupnorm_bwd_channel_T(x, dy, mean, rstd, sumDy, sumDyXhat, planes, S, cPerGroup, groups)
//      One block per (n, c) plane: sumDy[n,c] = Σ_s dy, sumDyXhat[n,c] = Σ_s dy·x̂ (float outputs [N·C]).
//  groupnorm_bwd_dx_T(x, dy, gamma, mean, rstd, sumDy, sumDyXhat, dx, segments, M, S, cPerGroup, groups)
//      One block per segment: with g = dy·γ[c], Σg = Σ_c γ[c]·sumDy[n,c] and Σg·x̂ likewise over the group's
//      channels; dx = rstd·(g − Σg/M − x̂·Σg·x̂/M). dγ and dβ are the column sums over n of sumDyXhat and sumDy
//      (colsum_f32 in reduce.cu).
//  layernorm_fwd_T(x, gamma, beta, y, mean, rstd, rows, D, eps)
//      One block per row; y = x̂·γ[d] + β[d]; mean/rstd [rows] may be null.
//  layernorm_bwd_dx_T(x, dy, gamma, dx, mean, rstd, rows, D, eps)
//      One block per row: dx = rstd·(g − Σg/D − x̂·Σ(g·x̂)/D), g = dy·γ; saves mean/rstd [rows] for the next kernel.
//  layernorm_bwd_params_T(x, dy, mean, rstd, partDGamma, partDBeta, rows, D, rowsPerChunk)
//      grid (⌈D/256⌉, chunks), block 256: partDGamma[chunk, d] = Σ_{rows of the chunk} dy·x̂,
//      partDBeta[chunk, d] = Σ dy; then colsum_f32 over the chunks gives dγ and dβ.
#include "common.cuh"

namespace {

// mean and rstd of `m` contiguous elements at p, two-pass in double; every thread of the block gets them.
template <typename T>
__device__ void segment_stats(const T* p, long long m, float eps, double* scratch, float& mean, float& rstd) {
    double s = 0.0;
    for (long long e = threadIdx.x; e < m; e += blockDim.x) s += (double)pf::load(p, e);
    const double mu = pf::block_sum(s, scratch) / (double)m;
    double v = 0.0;
    for (long long e = threadIdx.x; e < m; e += blockDim.x) {
        const double d = (double)pf::load(p, e) - mu;
        v += d * d;
    }
    const double var = pf::block_sum(v, scratch) / (double)m;
    mean = (float)mu;
    rstd = (float)(1.0 / sqrt(var + (double)eps));
}

template <typename T>
__device__ void groupnorm_fwd_impl(const T* x, const T* gamma, const T* beta, T* y, float* meanOut, float* rstdOut,
                                   long long segments, long long m, long long s, long long cPerGroup, long long groups,
                                   float eps) {
    __shared__ double scratch[32];
    for (long long seg = blockIdx.x; seg < segments; seg += gridDim.x) {
        const long long base = seg * m;
        float mean, rstd;
        segment_stats(x + base, m, eps, scratch, mean, rstd);
        if (threadIdx.x == 0) {
            if (meanOut) meanOut[seg] = mean;
            if (rstdOut) rstdOut[seg] = rstd;
        }
        if (y) {
            const long long c0 = (seg % groups) * cPerGroup;
            for (long long e = threadIdx.x; e < m; e += blockDim.x) {
                const long long c = c0 + e / s;
                const float g = gamma ? pf::load(gamma, c) : 1.f;
                const float b = beta ? pf::load(beta, c) : 0.f;
                pf::store(y, base + e, (pf::load(x, base + e) - mean) * rstd * g + b);
            }
        }
    }
}

template <typename T>
__device__ void groupnorm_bwd_channel_impl(const T* x, const T* dy, const float* mean, const float* rstd,
                                           float* sumDy, float* sumDyXhat, long long planes, long long s,
                                           long long cPerGroup, long long groups) {
    __shared__ double scratch[32];
    for (long long plane = blockIdx.x; plane < planes; plane += gridDim.x) {
        // plane = n·C + c, and its segment is n·G + c/(C/G) = plane / (C/G) because C = G·C/G
        const long long seg = plane / cPerGroup;
        const float mu = mean[seg];
        const float rs = rstd[seg];
        const long long base = plane * s;
        double a = 0.0;
        double b = 0.0;
        for (long long e = threadIdx.x; e < s; e += blockDim.x) {
            const double d = (double)pf::load(dy, base + e);
            a += d;
            b += d * (double)((pf::load(x, base + e) - mu) * rs);
        }
        a = pf::block_sum(a, scratch);
        b = pf::block_sum(b, scratch);
        if (threadIdx.x == 0) {
            sumDy[plane] = (float)a;
            sumDyXhat[plane] = (float)b;
        }
    }
    (void)groups;
}

template <typename T>
__device__ void groupnorm_bwd_dx_impl(const T* x, const T* dy, const T* gamma, const float* mean, const float* rstd,
                                      const float* sumDy, const float* sumDyXhat, T* dx, long long segments,
                                      long long m, long long s, long long cPerGroup, long long groups) {
    __shared__ double scratch[32];
    for (long long seg = blockIdx.x; seg < segments; seg += gridDim.x) {
        const long long n = seg / groups;
        const long long c0 = (seg % groups) * cPerGroup;
        const long long cTotal = groups * cPerGroup;
        double sg = 0.0;
        double sgx = 0.0;
        for (long long k = threadIdx.x; k < cPerGroup; k += blockDim.x) {
            const double g = gamma ? (double)pf::load(gamma, c0 + k) : 1.0;
            sg += g * (double)sumDy[n * cTotal + c0 + k];
            sgx += g * (double)sumDyXhat[n * cTotal + c0 + k];
        }
        const float meanG = (float)(pf::block_sum(sg, scratch) / (double)m);
        const float meanGX = (float)(pf::block_sum(sgx, scratch) / (double)m);
        const float mu = mean[seg];
        const float rs = rstd[seg];
        const long long base = seg * m;
        for (long long e = threadIdx.x; e < m; e += blockDim.x) {
            const long long c = c0 + e / s;
            const float g = pf::load(dy, base + e) * (gamma ? pf::load(gamma, c) : 1.f);
            const float xhat = (pf::load(x, base + e) - mu) * rs;
            pf::store(dx, base + e, rs * (g - meanG - xhat * meanGX));
        }
    }
}

template <typename T>
__device__ void layernorm_fwd_impl(const T* x, const T* gamma, const T* beta, T* y, float* meanOut, float* rstdOut,
                                   long long rows, long long d, float eps) {
    __shared__ double scratch[32];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const long long base = r * d;
        float mean, rstd;
        segment_stats(x + base, d, eps, scratch, mean, rstd);
        if (threadIdx.x == 0) {
            if (meanOut) meanOut[r] = mean;
            if (rstdOut) rstdOut[r] = rstd;
        }
        for (long long e = threadIdx.x; e < d; e += blockDim.x) {
            const float g = gamma ? pf::load(gamma, e) : 1.f;
            const float b = beta ? pf::load(beta, e) : 0.f;
            pf::store(y, base + e, (pf::load(x, base + e) - mean) * rstd * g + b);
        }
    }
}

template <typename T>
__device__ void layernorm_bwd_dx_impl(const T* x, const T* dy, const T* gamma, T* dx, float* meanOut, float* rstdOut,
                                      long long rows, long long d, float eps) {
    __shared__ double scratch[32];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const long long base = r * d;
        float mean, rstd;
        segment_stats(x + base, d, eps, scratch, mean, rstd);
        double sg = 0.0;
        double sgx = 0.0;
        for (long long e = threadIdx.x; e < d; e += blockDim.x) {
            const float g = pf::load(dy, base + e) * (gamma ? pf::load(gamma, e) : 1.f);
            const float xhat = (pf::load(x, base + e) - mean) * rstd;
            sg += (double)g;
            sgx += (double)g * (double)xhat;
        }
        const float meanG = (float)(pf::block_sum(sg, scratch) / (double)d);
        const float meanGX = (float)(pf::block_sum(sgx, scratch) / (double)d);
        if (threadIdx.x == 0) {
            meanOut[r] = mean;
            rstdOut[r] = rstd;
        }
        for (long long e = threadIdx.x; e < d; e += blockDim.x) {
            const float g = pf::load(dy, base + e) * (gamma ? pf::load(gamma, e) : 1.f);
            const float xhat = (pf::load(x, base + e) - mean) * rstd;
            pf::store(dx, base + e, rstd * (g - meanG - xhat * meanGX));
        }
    }
}

template <typename T>
__device__ void layernorm_bwd_params_impl(const T* x, const T* dy, const float* mean, const float* rstd,
                                          float* partDGamma, float* partDBeta, long long rows, long long d,
                                          long long rowsPerChunk) {
    const long long col = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= d) return;
    const long long chunk = blockIdx.y;
    const long long r0 = chunk * rowsPerChunk;
    const long long r1 = min(rows, r0 + rowsPerChunk);
    double dg = 0.0;
    double db = 0.0;
    for (long long r = r0; r < r1; ++r) {
        const double g = (double)pf::load(dy, r * d + col);
        dg += g * (double)((pf::load(x, r * d + col) - mean[r]) * rstd[r]);
        db += g;
    }
    partDGamma[chunk * d + col] = (float)dg;
    partDBeta[chunk * d + col] = (float)db;
}

}  // namespace

#define PF_NORM(SUFFIX, T)                                                                                         \
    extern "C" __global__ void groupnorm_fwd_##SUFFIX(const T* x, const T* gamma, const T* beta, T* y, float* mean,  \
                                                      float* rstd, long long segments, long long m, long long s,    \
                                                      long long cPerGroup, long long groups, float eps) {          \
        groupnorm_fwd_impl<T>(x, gamma, beta, y, mean, rstd, segments, m, s, cPerGroup, groups, eps);              \
    }                                                                                                              \
    extern "C" __global__ void groupnorm_bwd_channel_##SUFFIX(const T* x, const T* dy, const float* mean,           \
                                                              const float* rstd, float* sumDy, float* sumDyXhat,    \
                                                              long long planes, long long s, long long cPerGroup,   \
                                                              long long groups) {                                  \
        groupnorm_bwd_channel_impl<T>(x, dy, mean, rstd, sumDy, sumDyXhat, planes, s, cPerGroup, groups);          \
    }                                                                                                              \
    extern "C" __global__ void groupnorm_bwd_dx_##SUFFIX(const T* x, const T* dy, const T* gamma, const float* mean, \
                                                         const float* rstd, const float* sumDy,                     \
                                                         const float* sumDyXhat, T* dx, long long segments,         \
                                                         long long m, long long s, long long cPerGroup,             \
                                                         long long groups) {                                        \
        groupnorm_bwd_dx_impl<T>(x, dy, gamma, mean, rstd, sumDy, sumDyXhat, dx, segments, m, s, cPerGroup, groups); \
    }                                                                                                              \
    extern "C" __global__ void layernorm_fwd_##SUFFIX(const T* x, const T* gamma, const T* beta, T* y, float* mean,  \
                                                      float* rstd, long long rows, long long d, float eps) {        \
        layernorm_fwd_impl<T>(x, gamma, beta, y, mean, rstd, rows, d, eps);                                        \
    }                                                                                                              \
    extern "C" __global__ void layernorm_bwd_dx_##SUFFIX(const T* x, const T* dy, const T* gamma, T* dx,            \
                                                         float* mean, float* rstd, long long rows, long long d,     \
                                                         float eps) {                                               \
        layernorm_bwd_dx_impl<T>(x, dy, gamma, dx, mean, rstd, rows, d, eps);                                      \
    }                                                                                                              \
    extern "C" __global__ void layernorm_bwd_params_##SUFFIX(const T* x, const T* dy, const float* mean,            \
                                                             const float* rstd, float* partDGamma,                  \
                                                             float* partDBeta, long long rows, long long d,         \
                                                             long long rowsPerChunk) {                              \
        layernorm_bwd_params_impl<T>(x, dy, mean, rstd, partDGamma, partDBeta, rows, d, rowsPerChunk);             \
    }

PF_NORM(f32, float)
PF_NORM(f16, __half)
PF_NORM(bf16, __nv_bfloat16)
