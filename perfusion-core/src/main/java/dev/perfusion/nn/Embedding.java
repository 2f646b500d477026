package dev.perfusion.nn;

import dev.perfusion.autograd.Ops;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

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
        return Ops.embedding(weight.value(), ids); // [..., D]
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
