// gemm.cu — batched matrix products C[b] = op(A[b]) · op(B[b]) with fp32 accumulation.
//
// Shapes (all row-major, contiguous within one batch entry):
//   op(A) is [M,K]: A stored [M,K], or [K,M] when transA;   op(B) is [K,N]: B stored [K,N], or [N,K] when transB;
//   C is [M,N]. Batch entry b reads A + b·strideA, B + b·strideB and writes C + b·strideC (elements); a stride of 0
//   broadcasts one matrix to every batch entry. Any M, N, K ≥ 0 (K = 0 writes zeros); edges are zero-filled.
//
// Kernels (every kernel has the same parameter list, see GEMM_PARAMS):
//   gemm_f32_128x128, gemm_f32_64x64 — FLOAT32, SIMT fp32 FMA. 256 threads; a block computes a BM×BN tile of C,
//       each thread a TM×TN register tile (8×8, resp. 4×4); A and B tiles go through shared memory k-major.
//       transA / transB are run-time arguments (they only change how a tile is read from global memory).
//   gemm_{f16,bf16}_{nn,nt,tn,tt}_{128x128,64x64} — FLOAT16 / BFLOAT16 on tensor cores (mma.sync m16n8k16,
//       fp32 accumulators, result rounded to the storage type once). The two letters are transA, transB
//       (n = not transposed); the run-time transA / transB arguments are ignored. BK = 32; 128x128 runs 8 warps
//       (each a 64×32 warp tile), 64x64 runs 4 warps (32×32 each). Tiles are copied global→shared with 16-byte
//       cp.async when a row is 16-byte aligned and fully inside the matrix, element by element with zero fill
//       otherwise; two shared-memory stages (copy of tile k+1 overlaps the mma of tile k). Shared-memory rows
//       keep the global contiguity (k-contiguous or m/n-contiguous) and fragments are read with ldmatrix, with
//       .trans where the stored layout is the transpose of the fragment's.
// Launch: grid (ceil(N/BN), ceil(M/BM), min(batch, 65535)); blocks loop over batch entries blockIdx.z + i·gridDim.z.
// No dynamic shared memory (all tiles are static, ≤ 40 KiB).
#include "hot_common.cuh"

#define GEMM_PARAMS(T)                                                                                         \
    const T *__restrict__ A, const T *__restrict__ B, T *__restrict__ C, int batch, int M, int N, int K,      \
        int transA, int transB, long long strideA, long long strideB, long long strideC

// ---------------------------------------------------------------------------------------------------------------
// FLOAT32: SIMT register-tiled kernel.
// ---------------------------------------------------------------------------------------------------------------
template <int BM, int BN, int BK, int TM, int TN>
__device__ __forceinline__ void gemm_f32_body(GEMM_PARAMS(float)) {
    constexpr int TX = BN / TN;                // threads along N
    constexpr int THREADS = (BM / TM) * TX;    // 256
    constexpr int LDA_S = BM + 4;              // +4 floats: rows stay 16-byte aligned, stores spread over banks
    constexpr int LDB_S = BN + 4;
    static_assert(THREADS == 256, "the f32 kernels run 256 threads");
    static_assert((BM * BK) % THREADS == 0 && (BN * BK) % THREADS == 0, "tile loads must divide evenly");
    __shared__ __align__(16) float As[BK][LDA_S];
    __shared__ __align__(16) float Bs[BK][LDB_S];

    const int tid = threadIdx.x;
    const int tx = tid % TX;
    const int ty = tid / TX;
    const int m0 = blockIdx.y * BM;
    const int n0 = blockIdx.x * BN;

    for (long long bi = blockIdx.z; bi < batch; bi += gridDim.z) {
        const float* Ab = A + bi * strideA;
        const float* Bb = B + bi * strideB;
        float* Cb = C + bi * strideC;
        float acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
            for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

        for (int k0 = 0; k0 < K; k0 += BK) {
            // A tile -> As[k][m]; consecutive threads walk the contiguous global axis (coalesced).
#pragma unroll
            for (int it = 0; it < (BM * BK) / THREADS; ++it) {
                const int e = tid + it * THREADS;
                int mm, kk;
                if (transA) { kk = e / BM; mm = e % BM; } else { mm = e / BK; kk = e % BK; }
                const int gm = m0 + mm, gk = k0 + kk;
                float v = 0.0f;
                if (gm < M && gk < K) {
                    v = transA ? __ldg(Ab + (size_t)gk * M + gm) : __ldg(Ab + (size_t)gm * K + gk);
                }
                As[kk][mm] = v;
            }
            // B tile -> Bs[k][n].
#pragma unroll
            for (int it = 0; it < (BN * BK) / THREADS; ++it) {
                const int e = tid + it * THREADS;
                int nn, kk;
                if (transB) { nn = e / BK; kk = e % BK; } else { kk = e / BN; nn = e % BN; }
                const int gn = n0 + nn, gk = k0 + kk;
                float v = 0.0f;
                if (gn < N && gk < K) {
                    v = transB ? __ldg(Bb + (size_t)gn * K + gk) : __ldg(Bb + (size_t)gk * N + gn);
                }
                Bs[kk][nn] = v;
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < BK; ++kk) {
                float a[TM], b[TN];
#pragma unroll
                for (int i = 0; i < TM; i += 4) {
                    const float4 t = *reinterpret_cast<const float4*>(&As[kk][ty * TM + i]);
                    a[i] = t.x; a[i + 1] = t.y; a[i + 2] = t.z; a[i + 3] = t.w;
                }
#pragma unroll
                for (int j = 0; j < TN; j += 4) {
                    const float4 t = *reinterpret_cast<const float4*>(&Bs[kk][tx * TN + j]);
                    b[j] = t.x; b[j + 1] = t.y; b[j + 2] = t.z; b[j + 3] = t.w;
                }
#pragma unroll
                for (int i = 0; i < TM; ++i)
#pragma unroll
                    for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
            }
            __syncthreads();
        }
#pragma unroll
        for (int i = 0; i < TM; ++i) {
            const int gm = m0 + ty * TM + i;
            if (gm >= M) break;
#pragma unroll
            for (int j = 0; j < TN; ++j) {
                const int gn = n0 + tx * TN + j;
                if (gn < N) Cb[(size_t)gm * N + gn] = acc[i][j];
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(256) gemm_f32_128x128(GEMM_PARAMS(float)) {
    gemm_f32_body<128, 128, 8, 8, 8>(A, B, C, batch, M, N, K, transA, transB, strideA, strideB, strideC);
}
extern "C" __global__ void __launch_bounds__(256) gemm_f32_64x64(GEMM_PARAMS(float)) {
    gemm_f32_body<64, 64, 16, 4, 4>(A, B, C, batch, M, N, K, transA, transB, strideA, strideB, strideC);
}

// ---------------------------------------------------------------------------------------------------------------
// FLOAT16 / BFLOAT16: tensor cores.
// ---------------------------------------------------------------------------------------------------------------
namespace {

constexpr int TC_BK = 32;
constexpr int TC_PAD = 8;  // 16 bytes per shared row: keeps ldmatrix rows aligned and spreads them over banks

// Copies the TR×TC tile at (r0, c0) of a row-major [rows, cols] global matrix g into shared memory s (row stride
// TC + TC_PAD), zero outside the matrix. 16-byte cp.async where possible (vec: base aligned and cols % 8 == 0).
template <typename T, int TR, int TC, int THREADS>
__device__ __forceinline__ void load_tile(T* s, const T* g, int rows, int cols, int r0, int c0, bool vec) {
    constexpr int VPR = TC / 8;  // 8 elements of 2 bytes = one 16-byte vector
    constexpr int LDS = TC + TC_PAD;
    const T z = hot::zero<T>();
#pragma unroll
    for (int v = threadIdx.x; v < TR * VPR; v += THREADS) {
        const int r = v / VPR;
        const int c = (v % VPR) * 8;
        const int gr = r0 + r, gc = c0 + c;
        T* dst = s + r * LDS + c;
        if (vec && gr < rows && gc + 8 <= cols) {
            hot::cp_async16(dst, g + (size_t)gr * cols + gc);
        } else {
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                dst[e] = (gr < rows && gc + e < cols) ? g[(size_t)gr * cols + gc + e] : z;
            }
        }
    }
}

template <typename T> struct Pair;
template <> struct Pair<__half> {
    typedef __half2 type;
    static __device__ __forceinline__ __half2 make(float a, float b) { return __floats2half2_rn(a, b); }
};
template <> struct Pair<__nv_bfloat16> {
    typedef __nv_bfloat162 type;
    static __device__ __forceinline__ __nv_bfloat162 make(float a, float b) { return __floats2bfloat162_rn(a, b); }
};

template <typename T, int BM, int BN, int WM, int WN, bool TA, bool TB>
__device__ __forceinline__ void gemm_tc_body(GEMM_PARAMS(T)) {
    constexpr int BK = TC_BK;
    constexpr int WARPS_M = BM / WM;
    constexpr int WARPS_N = BN / WN;
    constexpr int THREADS = 32 * WARPS_M * WARPS_N;
    constexpr int MT = WM / 16;  // m16 tiles per warp
    constexpr int NT = WN / 8;   // n8 tiles per warp
    static_assert(NT % 2 == 0, "B fragments are read two n8 tiles at a time");
    // Shared layouts follow the global contiguity: A as [BM][BK] (k-contiguous) or, when transA, [BK][BM].
    constexpr int A_LDS = TA ? (BM + TC_PAD) : (BK + TC_PAD);
    constexpr int B_LDS = TB ? (BK + TC_PAD) : (BN + TC_PAD);
    constexpr int A_ELEMS = TA ? BK * A_LDS : BM * A_LDS;
    constexpr int B_ELEMS = TB ? BN * B_LDS : BK * B_LDS;
    __shared__ __align__(16) T As[2][A_ELEMS];
    __shared__ __align__(16) T Bs[2][B_ELEMS];

    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int wm = warp % WARPS_M;
    const int wn = warp / WARPS_M;
    const int m0 = blockIdx.y * BM;
    const int n0 = blockIdx.x * BN;
    const int nk = (K + BK - 1) / BK;
    // ldmatrix lane roles: matrix j = lane / 8, row r = lane % 8 of that matrix
    const int lj = lane >> 3;
    const int lr = lane & 7;

    for (long long bi = blockIdx.z; bi < batch; bi += gridDim.z) {
        const T* Ab = A + bi * strideA;
        const T* Bb = B + bi * strideB;
        T* Cb = C + bi * strideC;
        const bool vecA = hot::aligned16(Ab) && ((TA ? M : K) % 8 == 0);
        const bool vecB = hot::aligned16(Bb) && ((TB ? K : N) % 8 == 0);

        auto load_stage = [&](int stage, int k0) {
            if (TA) load_tile<T, BK, BM, THREADS>(As[stage], Ab, K, M, k0, m0, vecA);
            else    load_tile<T, BM, BK, THREADS>(As[stage], Ab, M, K, m0, k0, vecA);
            if (TB) load_tile<T, BN, BK, THREADS>(Bs[stage], Bb, N, K, n0, k0, vecB);
            else    load_tile<T, BK, BN, THREADS>(Bs[stage], Bb, K, N, k0, n0, vecB);
        };

        float acc[MT][NT][4];
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

        if (nk > 0) {
            load_stage(0, 0);
            hot::cp_async_commit();
        }
        for (int kt = 0; kt < nk; ++kt) {
            const int stage = kt & 1;
            if (kt + 1 < nk) {
                load_stage(stage ^ 1, (kt + 1) * BK);
                hot::cp_async_commit();
                hot::cp_async_wait<1>();  // tile kt has landed, tile kt+1 may still be in flight
            } else {
                hot::cp_async_wait<0>();
            }
            __syncthreads();
            const T* as = As[stage];
            const T* bs = Bs[stage];
#pragma unroll
            for (int kk = 0; kk < BK; kk += 16) {
                unsigned a[MT][4];
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    const int mb = wm * WM + mt * 16;
                    // matrix j covers rows mb + (j&1)*8 .. +7, k kk + (j>>1)*8 .. +7 (a0..a3 of the fragment)
                    if (TA) {
                        hot::ldmatrix_x4_trans(a[mt], as + (kk + lr + (lj >> 1) * 8) * A_LDS + mb + (lj & 1) * 8);
                    } else {
                        hot::ldmatrix_x4(a[mt], as + (mb + lr + (lj & 1) * 8) * A_LDS + kk + (lj >> 1) * 8);
                    }
                }
                unsigned b[NT][2];
#pragma unroll
                for (int np = 0; np < NT / 2; ++np) {
                    const int nb = wn * WN + np * 16;
                    unsigned r[4];
                    // r0, r1: b0, b1 of n-tile 2np; r2, r3: b0, b1 of n-tile 2np+1
                    if (TB) {
                        hot::ldmatrix_x4(r, bs + (nb + lr + (lj >> 1) * 8) * B_LDS + kk + (lj & 1) * 8);
                    } else {
                        hot::ldmatrix_x4_trans(r, bs + (kk + lr + (lj & 1) * 8) * B_LDS + nb + (lj >> 1) * 8);
                    }
                    b[2 * np][0] = r[0];
                    b[2 * np][1] = r[1];
                    b[2 * np + 1][0] = r[2];
                    b[2 * np + 1][1] = r[3];
                }
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                    for (int nt = 0; nt < NT; ++nt) hot::Mma<T>::run(acc[mt][nt], a[mt], b[nt][0], b[nt][1]);
            }
            __syncthreads();  // the next iteration's copy overwrites this stage
        }

        // Epilogue: c0,c1 at (g, 2t), (g, 2t+1); c2,c3 at row g+8 (g = lane/4, t = lane%4).
        const bool pairOk = ((reinterpret_cast<uintptr_t>(Cb) & 3u) == 0) && (N % 2 == 0);
        const int g = lane >> 2;
        const int t4 = lane & 3;
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
            for (int nt = 0; nt < NT; ++nt) {
                const int col = n0 + wn * WN + nt * 8 + 2 * t4;
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int row = m0 + wm * WM + mt * 16 + g + h * 8;
                    if (row >= M || col >= N) continue;
                    const float v0 = acc[mt][nt][2 * h], v1 = acc[mt][nt][2 * h + 1];
                    T* dst = Cb + (size_t)row * N + col;
                    if (pairOk && col + 1 < N) {
                        *reinterpret_cast<typename Pair<T>::type*>(dst) = Pair<T>::make(v0, v1);
                    } else {
                        dst[0] = hot::from_f32<T>(v0);
                        if (col + 1 < N) dst[1] = hot::from_f32<T>(v1);
                    }
                }
            }
        }
    }
}

}  // namespace

#define GEMM_TC_KERNEL(NAME, T, TA, TB, BM, BN, WM, WN)                                                     \
    extern "C" __global__ void __launch_bounds__(32 * (BM / WM) * (BN / WN)) NAME(GEMM_PARAMS(T)) {         \
        gemm_tc_body<T, BM, BN, WM, WN, TA, TB>(A, B, C, batch, M, N, K, transA, transB, strideA, strideB,   \
                                                strideC);                                                  \
    }

#define GEMM_TC_ALL(PREFIX, T)                                                                    \
    GEMM_TC_KERNEL(PREFIX##_nn_128x128, T, false, false, 128, 128, 64, 32)                        \
    GEMM_TC_KERNEL(PREFIX##_nt_128x128, T, false, true, 128, 128, 64, 32)                         \
    GEMM_TC_KERNEL(PREFIX##_tn_128x128, T, true, false, 128, 128, 64, 32)                         \
    GEMM_TC_KERNEL(PREFIX##_tt_128x128, T, true, true, 128, 128, 64, 32)                          \
    GEMM_TC_KERNEL(PREFIX##_nn_64x64, T, false, false, 64, 64, 32, 32)                            \
    GEMM_TC_KERNEL(PREFIX##_nt_64x64, T, false, true, 64, 64, 32, 32)                             \
    GEMM_TC_KERNEL(PREFIX##_tn_64x64, T, true, false, 64, 64, 32, 32)                             \
    GEMM_TC_KERNEL(PREFIX##_tt_64x64, T, true, true, 64, 64, 32, 32)

GEMM_TC_ALL(gemm_f16, __half)
GEMM_TC_ALL(gemm_bf16, __nv_bfloat16)
