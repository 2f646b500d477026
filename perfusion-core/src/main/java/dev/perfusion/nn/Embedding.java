package dev.perfusion.nn;

import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A lookup table, {@code torch.nn.Embedding}: y[..., :] = W[ids[...], :].
 *
 * <ul>
 *   <li>input ids: integer (INT64 or INT32) [...], each in [0, V)</li>
 *   <li>{@code weight} W: [V, D]</li>
 *   <li>output: [..., D]</li>
 * </ul>
 * Initialisation: N(0, 0.02²), the standard deviation CLIP's token and position embeddings are trained from
 * (PyTorch's own default is N(0, 1)). The gradient of W is a scatter-add of the output gradient's rows.
 *
 * <p>A half-precision table ({@link WeightStorage#AS_STORED}) is gathered without widening it whole: only the rows
 * the ids select are widened to FLOAT32.
 */
public final class Embedding extends Module {
    /** Standard deviation of the initial values. */
    public static final double INIT_STD = 0.02;

    private final int numEmbeddings;
    private final int embeddingDim;
    private final Parameter weight;

    /**
     * @param numEmbeddings V, the vocabulary (or position) count
     * @param embeddingDim  D
     */
    public Embedding(Backend backend, int numEmbeddings, int embeddingDim) {
        super(backend);
        if (numEmbeddings <= 0 || embeddingDim <= 0) {
            throw new IllegalArgumentException("Embedding needs positive sizes, got " + numEmbeddings + " × " + embeddingDim);
        }
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.weight = registerParameter("weight", Parameter.zeros(backend, Shape.of(numEmbeddings, embeddingDim)));
    }

    /** ids [...] (integer) → [..., D]. */
    public Tensor forward(Tensor ids) {
        if (ids.dtype().isFloating()) {
            throw new IllegalArgumentException("Embedding needs integer ids, got " + ids.dtype() + " " + ids.shape());
        }
        if (!weight.isHalf()) {
            return Ops.embedding(weight.value(), ids); // [..., D]
        }
        return gatherHalf(ids); // [..., D]
    }

    /**
     * The forward for a half-precision table: widens only the rows the ids use instead of the whole table, which
     * for CLIP's token embedding (49408 × 768) would be a 152 MB FLOAT32 copy per call to read at most 77 rows per
     * prompt. With u_0 &lt; … &lt; u_{U−1} the distinct ids, R = cast(W[u, :], FLOAT32) [U, D] and r(id) the index of
     * id among the u: y[..., :] = R[r(ids[...]), :], the same values as a gather from the widened table. Rows are
     * sliced in runs of consecutive ids; when the ids touch a quarter of the table or more, the whole table is
     * widened instead (fewer, larger copies).
     */
    private Tensor gatherHalf(Tensor ids) {
        if (ids.backend() != backend()) {
            throw new IllegalArgumentException("Embedding on backend '" + backend().name() + "' got ids on '"
                    + ids.backend().name() + "'");
        }
        long[] idv = ids.toLongArray();
        TreeMap<Long, Integer> rank = new TreeMap<>();
        for (long id : idv) {
            if (id < 0 || id >= numEmbeddings) {
                throw new IllegalArgumentException("Embedding(" + numEmbeddings + ", " + embeddingDim + ") got id " + id
                        + ", outside [0, " + numEmbeddings + ")");
            }
            rank.put(id, 0);
        }
        if (rank.isEmpty() || 4L * rank.size() >= numEmbeddings) {
            Tensor w = weight.compute();            // [V, D] FLOAT32
            Tensor y = Ops.embedding(w, ids);       // [..., D]
            return Intermediates.release(y, w);
        }
        List<Tensor> runs = new ArrayList<>();
        int next = 0;
        long runStart = -1;
        long runEnd = -1; // exclusive
        for (Map.Entry<Long, Integer> e : rank.entrySet()) {
            long id = e.getKey();
            e.setValue(next++);
            if (id != runEnd) {
                if (runStart >= 0) {
                    runs.add(Ops.slice(weight.value(), 0, (int) runStart, (int) runEnd)); // [run, D] stored dtype
                }
                runStart = id;
            }
            runEnd = id + 1;
        }
        runs.add(Ops.slice(weight.value(), 0, (int) runStart, (int) runEnd));         // [run, D] stored dtype
        Tensor rows = runs.size() == 1 ? runs.get(0) : Ops.concat(runs, 0);          // [U, D] stored dtype
        Tensor rows32 = backend().cast(rows, DType.FLOAT32);                          // [U, D]
        long[] local = new long[idv.length];
        for (int i = 0; i < idv.length; i++) {
            local[i] = rank.get(idv[i]);
        }
        Tensor localIds = backend().fromArray(local, ids.shape());                   // [...] INT64
        Tensor y = Ops.embedding(rows32, localIds);                                   // [..., D]
        runs.forEach(Tensor::close);
        rows.close();
        rows32.close(); // nothing tracks these: a half table is frozen, and ids carry no gradient
        localIds.close();
        return y;
    }

    /** V, the number of rows. */
    public int numEmbeddings() {
        return numEmbeddings;
    }

    /** D, the width of a row. */
    public int embeddingDim() {
        return embeddingDim;
    }

    /** W [V, D]. */
    public Parameter weight() {
        return weight;
    }

    @Override
    protected void initializeParameter(String name, Parameter p, long seed) {
        Init.normal(p, seed, INIT_STD);
    }
}
