// nn.cu — embedding gather and its deterministic scatter-add backward (dev.perfusion.cuda.CudaEmbedding).
// FLOAT32 weights and gradients; ids INT32 (_i32) or INT64 (_i64). The launcher has already checked on the host
// that every id lies in [0, V) (it needs the ids on the host for the backward anyway); the kernels still guard
// the range and write 0 for a bad id rather than read out of bounds.
//
//  embedding_I(weight, ids, y, tokens, d, vocab)
//      weight [V, D], ids [tokens], y [tokens, D]: y[t, :] = weight[ids[t], :]. 1-D grid-stride over tokens·D,
//      block 256.
//  embedding_backward_rows_f32(dy, rowIds, starts, positions, dw, uniqueRows, d)
//      dy [tokens, D]; the host groups the tokens by id (CSR): unique row u is vocabulary row rowIds[u], used at
//      token positions positions[starts[u] .. starts[u+1]) in ascending order. dw [V, D] was zero-filled; this
//      kernel writes dw[rowIds[u], e] = Σ dy[position, e] over those positions, in order. One block per unique
//      row (grid-stride over u), threads over e (block 128): no two blocks touch the same row, no atomics, so the
//      result is deterministic and independent of scheduling.
#include "common.cuh"

namespace {

template <typename I>
__device__ void embedding_impl(const float* weight, const I* ids, float* y, long long tokens, long long d,
                               long long vocab) {
    const long long n = tokens * d;
    PF_GRID_STRIDE(i, n) {
        const long long t = i / d;
        const long long e = i - t * d;
        const long long id = (long long)ids[t];
        y[i] = (id >= 0 && id < vocab) ? weight[id * d + e] : 0.f;
    }
}

}  // namespace

extern "C" __global__ void embedding_i32(const float* weight, const int* ids, float* y, long long tokens, long long d,
                                         long long vocab) {
    embedding_impl<int>(weight, ids, y, tokens, d, vocab);
}

extern "C" __global__ void embedding_i64(const float* weight, const long long* ids, float* y, long long tokens,
                                         long long d, long long vocab) {
    embedding_impl<long long>(weight, ids, y, tokens, d, vocab);
}

extern "C" __global__ void embedding_backward_rows_f32(const float* dy, const int* rowIds, const int* starts,
                                                       const int* positions, float* dw, long long uniqueRows,
                                                       long long d) {
    for (long long u = blockIdx.x; u < uniqueRows; u += gridDim.x) {
        const long long row = rowIds[u];
        const int p0 = starts[u];
        const int p1 = starts[u + 1];
        for (long long e = threadIdx.x; e < d; e += blockDim.x) {
            double acc = 0.0;
            for (int p = p0; p < p1; ++p) acc += (double)dy[(long long)positions[p] * d + e];
            dw[row * d + e] = (float)acc;
        }
    }
}
