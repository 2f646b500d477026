package dev.perfusion.perfusion;

import dev.perfusion.unet.CrossAttentionLayer;
import java.util.Arrays;
import java.util.List;

/**
 * One learned Perfusion concept (DESIGN §4, reference/perfusion-method.md §4): everything a concept file stores.
 * {@code keys} and {@code values} hold the 16 layers' o*_K and o*_V concatenated in UNet run order
 * ({@link #layers}); {@link #keys(int)} and {@link #values(int)} give one layer's slice.
 *
 * <p>The {@link TrainMode} says how the concept was learned and so how it is applied:
 * <ul>
 *   <li>{@link TrainMode#PERFUSION}: {@code keys} are the locked super-category keys W_K·ē_super, the edit's o*_K;
 *       {@code learnedKeys} is null.</li>
 *   <li>{@link TrainMode#NO_KEY_LOCKING}: {@code learnedKeys} [Σd] are the learned key targets, the edit's o*_K;
 *       {@code keys} still hold W_K·ē_super, their starting point (for comparison only).</li>
 *   <li>{@link TrainMode#EMBEDDING_ONLY}: textual inversion, no edit: {@code layers} is empty, {@code keys} and
 *       {@code values} are empty and {@code learnedKeys} is null; only the embedding (and i*, kept for
 *       inspection) matter.</li>
 * </ul>
 * {@link #keyTargets(int)} gives the o*_K the edit uses in every mode that has one.
 *
 * @param placeholder      the prompt token, e.g. {@code <teddy>}
 * @param superclass       the super-category word, e.g. {@code teddy} (one CLIP token)
 * @param embedding        v*, the placeholder's token embedding [D]
 * @param iStar            i*, the target input [D]
 * @param keys             o*_K of every layer, concatenated [Σd]
 * @param values           o*_V of every layer, concatenated [Σd]
 * @param beta             default inference gate bias β
 * @param tau              default inference gate temperature τ
 * @param layers           the edited layers in UNet run order, with their widths
 * @param baseModel        {@link Fingerprints#baseModel} of the model it was trained on
 * @param covariance       {@link Fingerprints#covariance} of the C⁻¹ it was trained with
 * @param training         JSON of the training settings (free form; "{}" when unknown)
 * @param mode             how it was trained (null: {@link TrainMode#PERFUSION})
 * @param learnedKeys      the learned o*_K of every layer, concatenated [Σd], for {@link TrainMode#NO_KEY_LOCKING};
 *                         null in the other modes
 */
public record Concept(String placeholder, String superclass, float[] embedding, float[] iStar, float[] keys,
                      float[] values, float beta, float tau, List<ConceptLayer> layers, String baseModel,
                      String covariance, String training, TrainMode mode, float[] learnedKeys) {

    public Concept {
        if (placeholder == null || placeholder.isBlank() || superclass == null || superclass.isBlank()) {
            throw new IllegalArgumentException("a concept needs a placeholder and a superclass, got '" + placeholder
                    + "', '" + superclass + "'");
        }
        if (embedding == null || iStar == null || embedding.length != iStar.length || embedding.length == 0) {
            throw new IllegalArgumentException("concept " + placeholder + ": embedding and i* must have one length D, got "
                    + (embedding == null ? "null" : embedding.length) + " and " + (iStar == null ? "null" : iStar.length));
        }
        layers = List.copyOf(layers);
        long total = layers.stream().mapToLong(ConceptLayer::width).sum();
        if (keys == null || values == null || keys.length != total || values.length != total) {
            throw new IllegalArgumentException("concept " + placeholder + ": keys and values must each hold Σd = " + total
                    + " floats (the layers' widths), got " + (keys == null ? "null" : keys.length) + " and "
                    + (values == null ? "null" : values.length));
        }
        if (!(tau > 0) || !Float.isFinite(beta)) {
            throw new IllegalArgumentException("concept " + placeholder + ": β must be finite and τ > 0, got " + beta
                    + ", " + tau);
        }
        training = training == null ? "{}" : training;
        mode = mode == null ? TrainMode.PERFUSION : mode;
        if (mode == TrainMode.NO_KEY_LOCKING) {
            if (learnedKeys == null || learnedKeys.length != total) {
                throw new IllegalArgumentException("concept " + placeholder + " (NO_KEY_LOCKING) needs learned key targets "
                        + "of Σd = " + total + " floats, got " + (learnedKeys == null ? "none" : learnedKeys.length));
            }
        } else if (learnedKeys != null) {
            throw new IllegalArgumentException("concept " + placeholder + ": learned key targets belong to NO_KEY_LOCKING "
                    + "concepts only, this one is " + mode);
        }
        if (mode == TrainMode.EMBEDDING_ONLY && !layers.isEmpty()) {
            throw new IllegalArgumentException("concept " + placeholder + " (EMBEDDING_ONLY) edits no layers, got "
                    + layers.size());
        }
    }

    /** A {@link TrainMode#PERFUSION} concept (keys locked to the super-category). */
    public Concept(String placeholder, String superclass, float[] embedding, float[] iStar, float[] keys,
                   float[] values, float beta, float tau, List<ConceptLayer> layers, String baseModel,
                   String covariance, String training) {
        this(placeholder, superclass, embedding, iStar, keys, values, beta, tau, layers, baseModel, covariance,
                training, TrainMode.PERFUSION, null);
    }

    /**
     * A {@link TrainMode#EMBEDDING_ONLY} (textual-inversion) concept: the embedding v* and i* only, applied without
     * any attention edit (β and τ are the defaults, unused).
     */
    public static Concept embeddingOnly(String placeholder, String superclass, float[] embedding, float[] iStar,
                                        String baseModel, String covariance, String training) {
        return new Concept(placeholder, superclass, embedding, iStar, new float[0], new float[0],
                KeyLockedEdit.INFER_BETA, KeyLockedEdit.INFER_TAU, List.of(), baseModel, covariance, training,
                TrainMode.EMBEDDING_ONLY, null);
    }

    /** Whether sampling installs this concept's gated K/V edit ({@link TrainMode#editsAttention()}). */
    public boolean editsAttention() {
        return mode.editsAttention();
    }

    /** The o*_K the edit uses, all layers [Σd]: {@link #learnedKeys()} without key-locking, else {@link #keys()}. */
    public float[] keyTargets() {
        return mode == TrainMode.NO_KEY_LOCKING ? learnedKeys : keys;
    }

    /** The o*_K the edit uses at layer {@code l} (a copy) [d_l]. */
    public float[] keyTargets(int l) {
        int off = offset(l);
        return Arrays.copyOfRange(keyTargets(), off, off + layers.get(l).width());
    }

    /** D, the text width. */
    public int dim() {
        return embedding.length;
    }

    /** Σd. */
    public int totalWidth() {
        return keys.length;
    }

    /** Offset of layer {@code l}'s slice in {@link #keys()} and {@link #values()}. */
    public int offset(int l) {
        int off = 0;
        for (int i = 0; i < l; i++) {
            off += layers.get(i).width();
        }
        return off;
    }

    /** {@link #keys()} of layer {@code l} (a copy) [d_l]: the locked super-category keys. */
    public float[] keys(int l) {
        int off = offset(l);
        return Arrays.copyOfRange(keys, off, off + layers.get(l).width());
    }

    /** o*_V of layer {@code l} (a copy) [d_l]. */
    public float[] values(int l) {
        int off = offset(l);
        return Arrays.copyOfRange(values, off, off + layers.get(l).width());
    }

    /** The layer list of a UNet, in the form a concept records it. */
    public static List<ConceptLayer> layersOf(List<CrossAttentionLayer> unetLayers) {
        return unetLayers.stream().map(l -> new ConceptLayer(l.path(), l.width())).toList();
    }

    /**
     * Checks that this concept's layers are exactly {@code expected} (paths, widths, order). An
     * {@link TrainMode#EMBEDDING_ONLY} concept edits no layer and fits every UNet.
     *
     * @throws IllegalArgumentException naming the first difference
     */
    public void checkLayers(List<ConceptLayer> expected) {
        if (!editsAttention()) {
            return;
        }
        if (layers.size() != expected.size()) {
            throw new IllegalArgumentException("concept " + placeholder + " edits " + layers.size()
                    + " cross-attention layers, the model has " + expected.size());
        }
        for (int i = 0; i < layers.size(); i++) {
            if (!layers.get(i).equals(expected.get(i))) {
                throw new IllegalArgumentException("concept " + placeholder + ": layer " + i + " is " + layers.get(i)
                        + ", the model's is " + expected.get(i));
            }
        }
    }
}
