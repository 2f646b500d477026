package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaContext.fail;
import static dev.perfusion.cuda.CudaContext.launch1d;
import static dev.perfusion.cuda.CudaContext.launchRows;
import static dev.perfusion.cuda.CudaContext.ptr;

import dev.perfusion.cuda.KernelRef.Variants;
import dev.perfusion.cuda.driver.KernelArgs;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.Arrays;

/**
 * Embedding gather and its backward ({@code nn.cu}). The ids are read back to the host once per call (they are
 * few: 77 per prompt) to check their range, as the reference does, and, for the backward, to group the token
 * positions by vocabulary row. The backward then sums each row's dy rows in position order in one block, which
 * makes it deterministic without atomics.
 */
final class CudaEmbedding {
    static final KernelRef GATHER = KernelRef.of("nn", "embedding", Variants.INDEX_TYPES);
    static final KernelRef SCATTER_ROWS = KernelRef.of("nn", "embedding_backward_rows_f32");

    private final CudaContext cx;
    private final CudaMemoryOps memory;
    private final CudaShapeOps shapes;

    CudaEmbedding(CudaContext cx, CudaMemoryOps memory, CudaShapeOps shapes) {
        this.cx = cx;
        this.memory = memory;
        this.shapes = shapes;
    }

    Tensor embedding(Tensor weight, Tensor ids) {
        String op = "embedding";
        cx.checkFloat32(op, "weight", weight);
        if (weight.rank() != 2) {
            throw fail(op, "weight must be [V, D], got " + weight.shape());
        }
        checkIds(op, ids, weight.dim(0));
        int d = weight.dim(1);
        int[] outDims = Arrays.copyOf(ids.shape().dims(), ids.rank() + 1);
        outDims[ids.rank()] = d;
        Tensor y = cx.allocate(Shape.of(outDims), DType.FLOAT32);
        long tokens = ids.numel();
        launch1d(cx.kernel(GATHER, ids.dtype()), tokens * d, KernelArgs.create().ptr(ptr(weight)).ptr(ptr(ids))
                .ptr(ptr(y)).i64(tokens).i64(d).i64(weight.dim(0)));
        return y;
    }

    Tensor embeddingBackward(Tensor dy, Tensor ids, int vocab) {
        String op = "embeddingBackward";
        cx.checkFloat32(op, "dy", dy);
        if (vocab < 0) {
            throw fail(op, "negative vocabulary size " + vocab);
        }
        long[] idv = checkIds(op, ids, vocab);
        if (dy.rank() != ids.rank() + 1 || !leading(dy.shape(), ids.rank()).equals(ids.shape())) {
            throw fail(op, "dy " + dy.shape() + " must be ids " + ids.shape() + " + [D]");
        }
        int d = dy.dim(-1);
        Tensor dw = cx.allocate(Shape.of(vocab, d), DType.FLOAT32);
        shapes.fill(dw, 0);
        if (idv.length == 0 || d == 0) {
            return dw;
        }
        Csr g = Csr.group(idv);
        try (Tensor rowIds = memory.fromArray(g.rowIds(), Shape.of(g.rowIds().length));
             Tensor starts = memory.fromArray(g.starts(), Shape.of(g.starts().length));
             Tensor positions = memory.fromArray(g.positions(), Shape.of(g.positions().length))) {
            launchRows(cx.kernel(SCATTER_ROWS), g.rowIds().length, CudaContext.rowThreads(d, 128),
                    KernelArgs.create().ptr(ptr(dy)).ptr(ptr(rowIds)).ptr(ptr(starts)).ptr(ptr(positions))
                            .ptr(ptr(dw)).i64(g.rowIds().length).i64(d));
        }
        return dw;
    }

    /**
     * Token positions grouped by id: row u is vocabulary row {@code rowIds[u]}, used at positions
     * {@code positions[starts[u] .. starts[u+1])}, ascending. Rows are in ascending id order.
     */
    record Csr(int[] rowIds, int[] starts, int[] positions) {
        static Csr group(long[] ids) {
            Integer[] order = new Integer[ids.length];
            for (int i = 0; i < ids.length; i++) {
                order[i] = i;
            }
            // stable sort by id keeps the positions of one id ascending
            Arrays.sort(order, (p, q) -> Long.compare(ids[p], ids[q]));
            int[] positions = new int[ids.length];
            int[] rowIds = new int[ids.length];
            int[] starts = new int[ids.length + 1];
            int u = -1;
            for (int i = 0; i < ids.length; i++) {
                int p = order[i];
                positions[i] = p;
                if (u < 0 || ids[p] != rowIds[u]) {
                    u++;
                    rowIds[u] = (int) ids[p];
                    starts[u] = i;
                }
            }
            int unique = u + 1;
            starts[unique] = ids.length;
            return new Csr(Arrays.copyOf(rowIds, unique), Arrays.copyOf(starts, unique + 1), positions);
        }
    }

    /** The ids on the host, each checked to lie in [0, vocab). */
    private long[] checkIds(String op, Tensor ids, int vocab) {
        cx.check(op, "ids", ids);
        if (ids.dtype() != DType.INT32 && ids.dtype() != DType.INT64) {
            throw fail(op, "ids must be INT32 or INT64, got " + ids.dtype());
        }
        long[] v = memory.toLongArray(ids);
        for (int t = 0; t < v.length; t++) {
            if (v[t] < 0 || v[t] >= vocab) {
                throw fail(op, "id " + v[t] + " at position " + Arrays.toString(coordinates(ids.shape(), t))
                        + " is out of range for a vocabulary of " + vocab);
            }
        }
        return v;
    }

    private static Shape leading(Shape shape, int n) {
        return Shape.of(Arrays.copyOf(shape.dims(), n));
    }

    private static int[] coordinates(Shape shape, int flat) {
        int[] c = new int[shape.rank()];
        for (int k = shape.rank() - 1; k >= 0; k--) {
            c[k] = flat % shape.dim(k);
            flat /= shape.dim(k);
        }
        return c;
    }
}
