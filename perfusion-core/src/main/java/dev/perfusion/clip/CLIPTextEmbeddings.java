package dev.perfusion.clip;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Embedding;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * transformers' {@code CLIPTextEmbeddings}: the encoder's input is the token embedding plus a learned absolute
 * position embedding,
 * <pre>
 *   hidden_states.0[b, t, :] = token_embedding.weight[ids[b, t], :] + position_embedding.weight[t, :]
 * </pre>
 * with positions 0..L−1 (transformers' {@code position_ids} buffer is {@code arange(P)}, sliced to L).
 * <pre>
 *   token_embedding.weight     [V, D]
 *   position_embedding.weight  [P, D]
 * </pre>
 * Token rows may also come from a caller's extra table ({@link #tokenEmbeds(Tensor, Tensor)}), which is how
 * Perfusion's placeholder tokens (ids V, V+1, …) get their trainable embeddings without touching the frozen
 * vocabulary.
 *
 * <p>Source: transformers {@code src/transformers/models/clip/modeling_clip.py}, class {@code CLIPTextEmbeddings}
 * (4.45.0.dev0, commit d6751d91, the version the project's goldens were made with).
 */
public final class CLIPTextEmbeddings extends Module {
    private final int embedDim;
    private final Embedding tokenEmbedding;
    private final Embedding positionEmbedding;

    /** Modules for {@code config}; weights start at zero until loaded or initialised. */
    public CLIPTextEmbeddings(Backend backend, CLIPTextConfig config) {
        super(backend);
        this.embedDim = config.hiddenSize();
        this.tokenEmbedding = registerModule("token_embedding",
                new Embedding(backend, config.vocabSize(), config.hiddenSize()));
        this.positionEmbedding = registerModule("position_embedding",
                new Embedding(backend, config.maxPositionEmbeddings(), config.hiddenSize()));
    }

    /**
     * Token plus position embeddings of in-vocabulary ids: ids [B, L] (INT64 or INT32, each in [0, V), L ≤ P)
     * → hidden_states.0 [B, L, D].
     */
    public Tensor forward(Tensor inputIds) {
        Tensor tok = tokenEmbeds(inputIds, null); // [B, L, D]
        Tensor h = addPositions(tok);             // [B, L, D]
        return Intermediates.release(h, tok);
    }

    /**
     * The token embedding rows of {@code inputIds} [B, L] → [B, L, D], without positions.
     *
     * <p>With {@code extraRows} E [K, D] (or null for none) the table is the vocabulary followed by E: an id
     * i &lt; V selects {@code token_embedding.weight[i]}, an id V ≤ i &lt; V+K selects E[i − V]. The result
     * equals {@code Ops.embedding(concat(W, E), ids)}, but is computed as two gathers blended by 0/1 masks so the
     * [V+K, D] table (152 MB for SD v1.5) is never copied and its [V+K, D] gradient never materialised:
     * <pre>
     *   y = W[ids′]·m + E[ids″]·(1 − m),   m = [ids &lt; V],  ids′ = ids·m,  ids″ = (ids − V)·(1 − m)
     * </pre>
     * Gradients flow into E when it requires grad (a scatter-add over the positions holding its ids) and into
     * W only if W itself is unfrozen. When no id reaches V, E still takes part (its gradient is then zero).
     *
     * @throws IllegalArgumentException for ids that are not [B, L] integers, longer than P, or outside [0, V+K)
     *                                  (naming the first bad id and its position), or E not [K, D]
     */
    public Tensor tokenEmbeds(Tensor inputIds, Tensor extraRows) {
        int vocab = tokenEmbedding.numEmbeddings();
        if (extraRows == null) {
            checkIds(inputIds, positionEmbedding.numEmbeddings(), vocab, "vocab_size " + vocab);
            return tokenEmbedding.forward(inputIds); // [B, L, D]
        }
        if (extraRows.backend() != backend()) {
            throw new IllegalArgumentException("extra embedding rows live on backend '" + extraRows.backend().name()
                    + "', the text encoder on '" + backend().name() + "'");
        }
        if (extraRows.rank() != 2 || extraRows.dim(1) != embedDim || extraRows.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException("extra embedding rows must be FLOAT32 [K, " + embedDim + "], got "
                    + extraRows.dtype() + " " + extraRows.shape());
        }
        int extra = extraRows.dim(0);
        long[] ids = checkIds(inputIds, positionEmbedding.numEmbeddings(), (long) vocab + extra,
                "vocab_size " + vocab + " + " + extra + " extra rows");
        long[] fromTable = new long[ids.length];
        long[] fromExtra = new long[ids.length];
        float[] tableMask = new float[ids.length];
        float[] extraMask = new float[ids.length];
        for (int i = 0; i < ids.length; i++) {
            boolean inVocab = ids[i] < vocab;
            fromTable[i] = inVocab ? ids[i] : 0;          // any valid row; masked out below
            fromExtra[i] = inVocab ? 0 : ids[i] - vocab;
            tableMask[i] = inVocab ? 1f : 0f;
            extraMask[i] = inVocab ? 0f : 1f;
        }
        Backend be = backend();
        Shape idShape = inputIds.shape();
        Shape maskShape = Shape.of(idShape.dim(0), idShape.dim(1), 1);
        Tensor tableIds = be.fromArray(fromTable, idShape);         // [B, L]
        Tensor extraIds = be.fromArray(fromExtra, idShape);         // [B, L]
        Tensor tm = be.fromArray(tableMask, maskShape);             // [B, L, 1]
        Tensor em = be.fromArray(extraMask, maskShape);             // [B, L, 1]
        Tensor rowsW = tokenEmbedding.forward(tableIds);            // [B, L, D]
        Tensor rowsE = Ops.embedding(extraRows, extraIds);          // [B, L, D]
        Tensor partW = Ops.mul(rowsW, tm);                          // [B, L, D]
        Tensor partE = Ops.mul(rowsE, em);                          // [B, L, D]
        Tensor y = Ops.add(partW, partE);                           // [B, L, D]
        // the ids and masks are read by the backward closures, so they follow the same rule as activations
        return Intermediates.release(y, tableIds, extraIds, tm, em, rowsW, rowsE, partW, partE);
    }

    /**
     * Adds the position embeddings of positions 0..L−1: inputsEmbeds [B, L, D] (L ≤ P) → [B, L, D]. The entry point
     * for callers that build the token embeddings themselves.
     */
    public Tensor addPositions(Tensor inputsEmbeds) {
        if (inputsEmbeds.rank() != 3 || inputsEmbeds.dim(2) != embedDim) {
            throw new IllegalArgumentException("token embeddings must be [B, L, " + embedDim + "], got "
                    + inputsEmbeds.shape());
        }
        int len = inputsEmbeds.dim(1);
        int maxLen = positionEmbedding.numEmbeddings();
        if (len < 1 || len > maxLen) {
            throw new IllegalArgumentException("sequence length " + len + " is outside [1, " + maxLen
                    + "] (max_position_embeddings)");
        }
        Tensor table = positionEmbedding.weight().compute();                  // [P, D] FLOAT32
        Tensor pos = Ops.slice(table, 0, 0, len);                             // [L, D]
        Tensor h = Ops.add(inputsEmbeds, pos);                                // [B, L, D]
        return Intermediates.release(h, pos, Parameter.temporary(positionEmbedding.weight(), table));
    }

    /** {@code token_embedding}: [V, D]. */
    public Embedding tokenEmbedding() {
        return tokenEmbedding;
    }

    /** {@code position_embedding}: [P, D]. */
    public Embedding positionEmbedding() {
        return positionEmbedding;
    }

    /**
     * Checks token ids and copies them to the host: an integer tensor [B, L] on this module's backend, B ≥ 1,
     * 1 ≤ L ≤ {@code maxLen}, every id in [0, {@code limit}).
     *
     * @param limitName what {@code limit} is, for the message (e.g. {@code vocab_size 49408})
     * @return the ids, row-major
     */
    long[] checkIds(Tensor ids, int maxLen, long limit, String limitName) {
        if (ids == null) {
            throw new IllegalArgumentException("input ids are null");
        }
        if (ids.dtype() != DType.INT64 && ids.dtype() != DType.INT32) {
            throw new IllegalArgumentException("input ids must be INT64 or INT32, got " + ids.dtype() + " " + ids.shape());
        }
        if (ids.rank() != 2 || ids.dim(0) < 1) {
            throw new IllegalArgumentException("input ids must be [B, L] with B ≥ 1, got " + ids.shape());
        }
        if (ids.dim(1) < 1 || ids.dim(1) > maxLen) {
            throw new IllegalArgumentException("input ids " + ids.shape() + ": sequence length " + ids.dim(1)
                    + " is outside [1, " + maxLen + "] (max_position_embeddings)");
        }
        if (ids.backend() != backend()) {
            throw new IllegalArgumentException("input ids live on backend '" + ids.backend().name()
                    + "', the text encoder on '" + backend().name() + "'");
        }
        long[] v = ids.toLongArray();
        int len = ids.dim(1);
        for (int i = 0; i < v.length; i++) {
            if (v[i] < 0 || v[i] >= limit) {
                throw new IllegalArgumentException("input id " + v[i] + " at [" + (i / len) + ", " + (i % len)
                        + "] (batch " + (i / len) + ", position " + (i % len) + ") is outside [0, " + limit + ") ("
                        + limitName + ")");
            }
        }
        return v;
    }
}
