// attention.cu — fused scaled dot-product attention, forward and backward (FlashAttention-2 scheme, fp32 math).
//
// Per batch-head b (bh of them) with q [lq, d], k [lk, d], v [lk, dv], optional FLOAT32 mask [lq, lk]:
//   s_ij = scale·q_i·k_j + mask_ij, with s_ij = −∞ where causal and j > i (top-left aligned);
//   P = softmax_j(s), o = P·v [lq, dv], lse_i = log Σ_j exp(s_ij) [lq] (FLOAT32, kept for the backward).
//   A row with every key masked gets o_i = 0 and lse_i = −∞, and in the backward no gradient (p ≡ 0), never NaN.
// Backward (dO [lq, dv] given; D_i = Σ_e dO_ie·o_ie from attn_bwd_pre):
//   p_ij = exp(s_ij − lse_i), dp_ij = dO_i·v_j, ds_ij = p_ij (dp_ij − D_i);
//   dv_j = Σ_i p_ij dO_i,  dk_j = scale Σ_i ds_ij q_i  (attn_bwd_dkdv: one thread group per key, loops over queries)
//   dq_i = scale Σ_j ds_ij k_j                        (attn_bwd_dq:   one thread group per query, loops over keys)
//   Each output element is summed by exactly one thread in a fixed order: deterministic, no atomics.
// All tensors are contiguous row-major; q/k/v/o/dO/dq/dk/dv use the storage type (f32, f16 or bf16), lse, D and
// mask are FLOAT32.
//
// Layout: 128 threads per block; a "group" of G consecutive lanes owns one row (a query in fwd/dq, a key in dkdv)
// and splits its head dimension into G contiguous chunks of DPT (q/k) and DVPT (v) elements held in registers;
// the partial dot products are summed across the group with xor shuffles. Rows of the other side stream through
// shared memory (fp32) in tiles of BT rows, zero-filled past the end and past d / dv, so the inner loops have no
// bounds checks; the online softmax (running max m, running sum l, rescale by exp(m_old − m_new)) is updated once
// per chunk of CH keys. Shared memory is dynamic: BT·(G·DPT + G·DVPT)·4 bytes (+ BT·8 for the dkdv kernel).
// Configurations (suffix): d40 (G=4, DPT=10, BT=64), d64 (4, 16, 64), d80 (4, 20, 64), d160 (8, 20, 32) for
// d == dv == that value (no padding of the arithmetic); any other d, dv runs on the smallest of d64 (d, dv ≤ 64),
// gen128 (8, 16, 32) and gen256 (8, 32, 16), padded with zeros to G·DPT inside the kernel.
// Grid: x = ceil(rows / (128 / G)) (queries for fwd/dq, keys for dkdv), y = min(bh, 65535) (blocks loop over b).
// attn_bwd_pre_*: D = rowsum(dO ∘ o), one warp per row, 128 threads, grid ceil(bh·lq / 4).
#include "hot_common.cuh"
#include <math_constants.h>

namespace {

constexpr int ATTN_THREADS = 128;

// Σ_i r[i]·s[i] over one thread's chunk of a shared-memory row, read with the widest aligned vector.
template <int N>
__device__ __forceinline__ float chunk_dot(const float (&r)[N], const float* s) {
    float acc = 0.0f;
    if constexpr (N % 4 == 0) {
#pragma unroll
        for (int i = 0; i < N; i += 4) {
            const float4 t = *reinterpret_cast<const float4*>(s + i);
            acc = fmaf(r[i], t.x, acc);
            acc = fmaf(r[i + 1], t.y, acc);
            acc = fmaf(r[i + 2], t.z, acc);
            acc = fmaf(r[i + 3], t.w, acc);
        }
    } else if constexpr (N % 2 == 0) {
#pragma unroll
        for (int i = 0; i < N; i += 2) {
            const float2 t = *reinterpret_cast<const float2*>(s + i);
            acc = fmaf(r[i], t.x, acc);
            acc = fmaf(r[i + 1], t.y, acc);
        }
    } else {
#pragma unroll
        for (int i = 0; i < N; ++i) acc = fmaf(r[i], s[i], acc);
    }
    return acc;
}

// r[i] += w·s[i] over one chunk of a shared-memory row.
template <int N>
__device__ __forceinline__ void chunk_axpy(float (&r)[N], float w, const float* s) {
    if constexpr (N % 4 == 0) {
#pragma unroll
        for (int i = 0; i < N; i += 4) {
            const float4 t = *reinterpret_cast<const float4*>(s + i);
            r[i] = fmaf(w, t.x, r[i]);
            r[i + 1] = fmaf(w, t.y, r[i + 1]);
            r[i + 2] = fmaf(w, t.z, r[i + 2]);
            r[i + 3] = fmaf(w, t.w, r[i + 3]);
        }
    } else if constexpr (N % 2 == 0) {
#pragma unroll
        for (int i = 0; i < N; i += 2) {
            const float2 t = *reinterpret_cast<const float2*>(s + i);
            r[i] = fmaf(w, t.x, r[i]);
            r[i + 1] = fmaf(w, t.y, r[i + 1]);
        }
    } else {
#pragma unroll
        for (int i = 0; i < N; ++i) r[i] = fmaf(w, s[i], r[i]);
    }
}

// Sum over the G lanes of a group (G a power of two dividing 32); every lane of the group gets the total.
template <int G>
__device__ __forceinline__ float group_sum(float x) {
#pragma unroll
    for (int off = G / 2; off > 0; off >>= 1) x += __shfl_xor_sync(0xffffffffu, x, off);
    return x;
}

// One row's chunk [s·N, s·N + N) of a global row of `width` elements, widened to fp32, 0 past width or if !ok.
template <typename T, int N>
__device__ __forceinline__ void load_chunk(float (&r)[N], const T* row, int s, int width, bool ok) {
#pragma unroll
    for (int i = 0; i < N; ++i) {
        const int e = s * N + i;
        r[i] = (ok && e < width) ? hot::load_f32(row + e) : 0.0f;
    }
}

// Copies rows [r0, r0 + BT) of a [rows, width] global matrix into shared memory with row stride P (≥ width),
// as fp32, zero past `rows` and past `width`.
template <typename T, int BT, int P>
__device__ __forceinline__ void load_rows(float* dst, const T* src, int r0, int rows, int width) {
    for (int idx = threadIdx.x; idx < BT * P; idx += ATTN_THREADS) {
        const int r = idx / P;
        const int c = idx % P;
        const int gr = r0 + r;
        dst[idx] = (gr < rows && c < width) ? hot::load_f32(src + (size_t)gr * width + c) : 0.0f;
    }
}

template <int G>
__device__ __forceinline__ int group_lane() { return threadIdx.x % G; }

// Rows handled per reduction step in the backward kernels. The shared-memory values of a chunk are reused by the
// dot products and the updates, so CH·width of them stay live in registers: CH = 8, 4, 2, 1 for width < 8, < 32,
// < 64, ≥ 64 keeps every configuration inside 255 registers without spills (checked with ptxas -v for sm_90).
__host__ __device__ constexpr int bwd_chunk(int width) {
    return width >= 64 ? 1 : width >= 32 ? 2 : width >= 8 ? 4 : 8;
}

// ---------------------------------------------------------------------------------------------------------------
// Forward.
// ---------------------------------------------------------------------------------------------------------------
template <typename T, int G, int DPT, int DVPT, int BT>
__device__ __forceinline__ void attn_fwd_body(const T* __restrict__ q, const T* __restrict__ k,
                                              const T* __restrict__ v, const float* __restrict__ mask,
                                              T* __restrict__ o, float* __restrict__ lse, int bh, int lq, int lk,
                                              int d, int dv, int causal, float scale) {
    constexpr int RB = ATTN_THREADS / G;
    constexpr int DP = G * DPT;
    constexpr int DVP = G * DVPT;
    constexpr int CH = 8;
    static_assert(BT % CH == 0, "key tiles are walked in chunks of CH");
    extern __shared__ __align__(16) float smem[];
    float* Ks = smem;
    float* Vs = smem + BT * DP;

    const int s = group_lane<G>();
    const int r0 = blockIdx.x * RB;
    const int row = r0 + threadIdx.x / G;
    const bool rowOk = row < lq;
    // keys past the block's last query are all causally masked: not even loaded
    const int keyEnd = causal ? min(lk, min(lq, r0 + RB)) : lk;

    for (long long b = blockIdx.y; b < bh; b += gridDim.y) {
        const size_t qrow = (size_t)b * lq + (rowOk ? row : 0);
        float qr[DPT];
        load_chunk<T, DPT>(qr, q + qrow * d, s, d, rowOk);
        const float* mrow = (mask != nullptr && rowOk) ? mask + qrow * lk : nullptr;
        const T* kb = k + (size_t)b * lk * d;
        const T* vb = v + (size_t)b * lk * dv;

        float acc[DVPT];
#pragma unroll
        for (int i = 0; i < DVPT; ++i) acc[i] = 0.0f;
        float m = -CUDART_INF_F;
        float l = 0.0f;

        for (int kt0 = 0; kt0 < keyEnd; kt0 += BT) {
            __syncthreads();  // previous tile fully consumed
            load_rows<T, BT, DP>(Ks, kb, kt0, lk, d);
            load_rows<T, BT, DVP>(Vs, vb, kt0, lk, dv);
            __syncthreads();
            const int nkeys = min(BT, keyEnd - kt0);
            for (int c0 = 0; c0 < nkeys; c0 += CH) {
                float sc[CH];
#pragma unroll
                for (int c = 0; c < CH; ++c) sc[c] = chunk_dot<DPT>(qr, Ks + (c0 + c) * DP + s * DPT);
#pragma unroll
                for (int c = 0; c < CH; ++c) sc[c] = group_sum<G>(sc[c]);
                float cmax = -CUDART_INF_F;
#pragma unroll
                for (int c = 0; c < CH; ++c) {
                    const int j = kt0 + c0 + c;
                    const bool valid = rowOk && j < keyEnd && !(causal && j > row);
                    const float x = valid ? fmaf(sc[c], scale, mrow != nullptr ? mrow[j] : 0.0f) : -CUDART_INF_F;
                    sc[c] = x;
                    cmax = fmaxf(cmax, x);
                }
                const float mnew = fmaxf(m, cmax);
                if (mnew != -CUDART_INF_F) {  // else every key so far is masked: nothing to add
                    const float alpha = (m == -CUDART_INF_F) ? 0.0f : expf(m - mnew);
                    l *= alpha;
#pragma unroll
                    for (int i = 0; i < DVPT; ++i) acc[i] *= alpha;
#pragma unroll
                    for (int c = 0; c < CH; ++c) {
                        const float p = (sc[c] == -CUDART_INF_F) ? 0.0f : expf(sc[c] - mnew);
                        l += p;
                        chunk_axpy<DVPT>(acc, p, Vs + (c0 + c) * DVP + s * DVPT);
                    }
                    m = mnew;
                }
            }
        }

        if (rowOk) {
            const bool any = l > 0.0f;
            const float inv = any ? 1.0f / l : 0.0f;
            T* orow = o + qrow * dv;
#pragma unroll
            for (int i = 0; i < DVPT; ++i) {
                const int e = s * DVPT + i;
                if (e < dv) orow[e] = hot::from_f32<T>(acc[i] * inv);
            }
            if (s == 0) lse[qrow] = any ? m + logf(l) : -CUDART_INF_F;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Backward: dk, dv (one group per key).
// ---------------------------------------------------------------------------------------------------------------
template <typename T, int G, int DPT, int DVPT, int BT>
__device__ __forceinline__ void attn_bwd_dkdv_body(const T* __restrict__ q, const T* __restrict__ k,
                                                   const T* __restrict__ v, const float* __restrict__ mask,
                                                   const T* __restrict__ dO, const float* __restrict__ lse,
                                                   const float* __restrict__ Dvec, T* __restrict__ dk,
                                                   T* __restrict__ dvout, int bh, int lq, int lk, int d, int dv,
                                                   int causal, float scale) {
    constexpr int RB = ATTN_THREADS / G;
    constexpr int DP = G * DPT;
    constexpr int DVP = G * DVPT;
    constexpr int CH = bwd_chunk(DPT + DVPT);
    static_assert(BT % CH == 0, "query tiles are walked in chunks of CH");
    extern __shared__ __align__(16) float smem[];
    float* Qs = smem;
    float* dOs = Qs + BT * DP;
    float* Ls = dOs + BT * DVP;
    float* Ds = Ls + BT;

    const int s = group_lane<G>();
    const int j0 = blockIdx.x * RB;
    const int j = j0 + threadIdx.x / G;
    const bool colOk = j < lk;
    // causal: query i only sees keys j <= i, so queries before the block's first key contribute nothing
    const int qStart = causal ? j0 : 0;

    for (long long b = blockIdx.y; b < bh; b += gridDim.y) {
        const size_t krow = (size_t)b * lk + (colOk ? j : 0);
        float kr[DPT], vr[DVPT], gk[DPT], gv[DVPT];
        load_chunk<T, DPT>(kr, k + krow * d, s, d, colOk);
        load_chunk<T, DVPT>(vr, v + krow * dv, s, dv, colOk);
#pragma unroll
        for (int i = 0; i < DPT; ++i) gk[i] = 0.0f;
#pragma unroll
        for (int i = 0; i < DVPT; ++i) gv[i] = 0.0f;
        const T* qb = q + (size_t)b * lq * d;
        const T* dOb = dO + (size_t)b * lq * dv;
        const float* mb = mask != nullptr ? mask + (size_t)b * lq * lk : nullptr;

        for (int qt0 = qStart; qt0 < lq; qt0 += BT) {
            __syncthreads();
            load_rows<T, BT, DP>(Qs, qb, qt0, lq, d);
            load_rows<T, BT, DVP>(dOs, dOb, qt0, lq, dv);
            for (int r = threadIdx.x; r < BT; r += ATTN_THREADS) {
                const bool ok = qt0 + r < lq;
                Ls[r] = ok ? lse[(size_t)b * lq + qt0 + r] : -CUDART_INF_F;
                Ds[r] = ok ? Dvec[(size_t)b * lq + qt0 + r] : 0.0f;
            }
            __syncthreads();
            const int nq = min(BT, lq - qt0);
            for (int c0 = 0; c0 < nq; c0 += CH) {
                float sk[CH], sv[CH];
#pragma unroll
                for (int c = 0; c < CH; ++c) {
                    sk[c] = chunk_dot<DPT>(kr, Qs + (c0 + c) * DP + s * DPT);
                    sv[c] = chunk_dot<DVPT>(vr, dOs + (c0 + c) * DVP + s * DVPT);
                }
#pragma unroll
                for (int c = 0; c < CH; ++c) {
                    sk[c] = group_sum<G>(sk[c]);
                    sv[c] = group_sum<G>(sv[c]);
                }
#pragma unroll
                for (int c = 0; c < CH; ++c) {
                    const int i = qt0 + c0 + c;
                    const float L = Ls[c0 + c];
                    float p = 0.0f;
                    if (colOk && i < lq && !(causal && j > i) && L != -CUDART_INF_F) {
                        const float x = fmaf(sk[c], scale, mb != nullptr ? mb[(size_t)i * lk + j] : 0.0f);
                        p = (x == -CUDART_INF_F) ? 0.0f : expf(x - L);
                    }
                    const float ds = p * (sv[c] - Ds[c0 + c]);
                    chunk_axpy<DVPT>(gv, p, dOs + (c0 + c) * DVP + s * DVPT);
                    chunk_axpy<DPT>(gk, ds, Qs + (c0 + c) * DP + s * DPT);
                }
            }
        }

        if (colOk) {
#pragma unroll
            for (int i = 0; i < DPT; ++i) {
                const int e = s * DPT + i;
                if (e < d) dk[krow * d + e] = hot::from_f32<T>(gk[i] * scale);
            }
#pragma unroll
            for (int i = 0; i < DVPT; ++i) {
                const int e = s * DVPT + i;
                if (e < dv) dvout[krow * dv + e] = hot::from_f32<T>(gv[i]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Backward: dq (one group per query).
// ---------------------------------------------------------------------------------------------------------------
template <typename T, int G, int DPT, int DVPT, int BT>
__device__ __forceinline__ void attn_bwd_dq_body(const T* __restrict__ q, const T* __restrict__ k,
                                                 const T* __restrict__ v, const float* __restrict__ mask,
                                                 const T* __restrict__ dO, const float* __restrict__ lse,
                                                 const float* __restrict__ Dvec, T* __restrict__ dq, int bh, int lq,
                                                 int lk, int d, int dv, int causal, float scale) {
    constexpr int RB = ATTN_THREADS / G;
    constexpr int DP = G * DPT;
    constexpr int DVP = G * DVPT;
    constexpr int CH = bwd_chunk(DPT);
    static_assert(BT % CH == 0, "key tiles are walked in chunks of CH");
    extern __shared__ __align__(16) float smem[];
    float* Ks = smem;
    float* Vs = smem + BT * DP;

    const int s = group_lane<G>();
    const int r0 = blockIdx.x * RB;
    const int row = r0 + threadIdx.x / G;
    const bool rowOk = row < lq;
    const int keyEnd = causal ? min(lk, min(lq, r0 + RB)) : lk;

    for (long long b = blockIdx.y; b < bh; b += gridDim.y) {
        const size_t qrow = (size_t)b * lq + (rowOk ? row : 0);
        float qr[DPT], dor[DVPT], g[DPT];
        load_chunk<T, DPT>(qr, q + qrow * d, s, d, rowOk);
        load_chunk<T, DVPT>(dor, dO + qrow * dv, s, dv, rowOk);
#pragma unroll
        for (int i = 0; i < DPT; ++i) g[i] = 0.0f;
        const float L = rowOk ? lse[qrow] : -CUDART_INF_F;
        const float Di = rowOk ? Dvec[qrow] : 0.0f;
        const float* mrow = (mask != nullptr && rowOk) ? mask + qrow * lk : nullptr;
        const T* kb = k + (size_t)b * lk * d;
        const T* vb = v + (size_t)b * lk * dv;

        for (int kt0 = 0; kt0 < keyEnd; kt0 += BT) {
            __syncthreads();
            load_rows<T, BT, DP>(Ks, kb, kt0, lk, d);
            load_rows<T, BT, DVP>(Vs, vb, kt0, lk, dv);
            __syncthreads();
            const int nkeys = min(BT, keyEnd - kt0);
            for (int c0 = 0; c0 < nkeys; c0 += CH) {
                float sk[CH], sv[CH];
#pragma unroll
                for (int c = 0; c < CH; ++c) {
                    sk[c] = chunk_dot<DPT>(qr, Ks + (c0 + c) * DP + s * DPT);
                    sv[c] = chunk_dot<DVPT>(dor, Vs + (c0 + c) * DVP + s * DVPT);
                }
#pragma unroll
                for (int c = 0; c < CH; ++c) {
                    sk[c] = group_sum<G>(sk[c]);
                    sv[c] = group_sum<G>(sv[c]);
                }
#pragma unroll
                for (int c = 0; c < CH; ++c) {
                    const int j = kt0 + c0 + c;
                    float p = 0.0f;
                    if (rowOk && j < keyEnd && !(causal && j > row) && L != -CUDART_INF_F) {
                        const float x = fmaf(sk[c], scale, mrow != nullptr ? mrow[j] : 0.0f);
                        p = (x == -CUDART_INF_F) ? 0.0f : expf(x - L);
                    }
                    const float ds = p * (sv[c] - Di);
                    chunk_axpy<DPT>(g, ds, Ks + (c0 + c) * DP + s * DPT);
                }
            }
        }

        if (rowOk) {
#pragma unroll
            for (int i = 0; i < DPT; ++i) {
                const int e = s * DPT + i;
                if (e < d) dq[qrow * d + e] = hot::from_f32<T>(g[i] * scale);
            }
        }
    }
}

// D_r = Σ_e dO_re·o_re for each of `rows` rows of width dv: one warp per row.
template <typename T>
__device__ __forceinline__ void attn_bwd_pre_body(const T* __restrict__ o, const T* __restrict__ dO,
                                                  float* __restrict__ Dvec, long long rows, int dv) {
    const int lane = threadIdx.x & 31;
    const long long r = (long long)blockIdx.x * (ATTN_THREADS / 32) + (threadIdx.x >> 5);
    if (r >= rows) return;  // whole warps leave together
    float acc = 0.0f;
    for (int e = lane; e < dv; e += 32) acc = fmaf(hot::load_f32(o + r * dv + e), hot::load_f32(dO + r * dv + e), acc);
    acc = group_sum<32>(acc);
    if (lane == 0) Dvec[r] = acc;
}

}  // namespace

#define ATTN_KERNELS(SUF, T, G, DPT, DVPT, BT)                                                                     \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS)                                                    \
        attn_fwd_##SUF(const T* q, const T* k, const T* v, const float* mask, T* o, float* lse, int bh, int lq,   \
                       int lk, int d, int dv, int causal, float scale) {                                          \
        attn_fwd_body<T, G, DPT, DVPT, BT>(q, k, v, mask, o, lse, bh, lq, lk, d, dv, causal, scale);              \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS)                                                    \
        attn_bwd_dkdv_##SUF(const T* q, const T* k, const T* v, const float* mask, const T* dO, const float* lse,  \
                            const float* Dvec, T* dk, T* dvout, int bh, int lq, int lk, int d, int dv, int causal, \
                            float scale) {                                                                        \
        attn_bwd_dkdv_body<T, G, DPT, DVPT, BT>(q, k, v, mask, dO, lse, Dvec, dk, dvout, bh, lq, lk, d, dv,       \
                                                causal, scale);                                                   \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS)                                                    \
        attn_bwd_dq_##SUF(const T* q, const T* k, const T* v, const float* mask, const T* dO, const float* lse,    \
                          const float* Dvec, T* dq, int bh, int lq, int lk, int d, int dv, int causal,            \
                          float scale) {                                                                          \
        attn_bwd_dq_body<T, G, DPT, DVPT, BT>(q, k, v, mask, dO, lse, Dvec, dq, bh, lq, lk, d, dv, causal,        \
                                              scale);                                                             \
    }

#define ATTN_ALL_CONFIGS(DT, T)                      \
    ATTN_KERNELS(DT##_d40, T, 4, 10, 10, 64)         \
    ATTN_KERNELS(DT##_d64, T, 4, 16, 16, 64)         \
    ATTN_KERNELS(DT##_d80, T, 4, 20, 20, 64)         \
    ATTN_KERNELS(DT##_d160, T, 8, 20, 20, 32)        \
    ATTN_KERNELS(DT##_gen128, T, 8, 16, 16, 32)      \
    ATTN_KERNELS(DT##_gen256, T, 8, 32, 32, 16)      \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS)                                       \
        attn_bwd_pre_##DT(const T* o, const T* dO, float* Dvec, long long rows, int dv) {           \
        attn_bwd_pre_body<T>(o, dO, Dvec, rows, dv);                                                 \
    }

ATTN_ALL_CONFIGS(f32, float)
ATTN_ALL_CONFIGS(f16, __half)
ATTN_ALL_CONFIGS(bf16, __nv_bfloat16)
