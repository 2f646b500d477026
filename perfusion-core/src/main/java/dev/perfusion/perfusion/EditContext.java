package dev.perfusion.perfusion;

import dev.perfusion.tensor.Tensor;

/**
 * The Perfusion edit's per-prompt state for one UNet evaluation batch: the {@link PerfusionEncoding}s that the
 * keys and the values of every {@code attn2} are projected from. The batch covers everything the UNet sees in one
 * call, e.g. [unconditional…, conditional…] for classifier-free guidance: the edit applies to both branches
 * (method §1.6; the gates are ≈ 0 on unrelated tokens).
 *
 * <p>{@link KeyLocking#LOCAL}: keys and values share one encoding of E. {@link KeyLocking#GLOBAL}: keys come from
 * E_super (the prompt with each placeholder replaced by its super-category word; for the unconditional branch the
 * same "" encoding), values from E (method §1.5).
 *
 * <p>{@link #none}: a batch whose concepts are all {@link TrainMode#EMBEDDING_ONLY}: there is no edit, and
 * {@link #keys()} and {@link #values()} are null ({@link PerfusionInstallation} then installs nothing).
 */
public final class EditContext implements AutoCloseable {
    private final KeyLocking locking;
    private final PerfusionEncoding keys;
    private final PerfusionEncoding values;
    private final int batch;
    private final int tokens;
    private AutoCloseable owned;

    private EditContext(KeyLocking locking, PerfusionEncoding keys, PerfusionEncoding values) {
        this.locking = locking;
        this.keys = keys;
        this.values = values;
        this.batch = values.batch();
        this.tokens = values.tokens();
    }

    private EditContext(KeyLocking locking, int batch, int tokens) {
        this.locking = locking;
        this.keys = null;
        this.values = null;
        this.batch = batch;
        this.tokens = tokens;
    }

    /**
     * A context without an edit, for a batch of B prompts of M tokens whose concepts install no attention edit.
     */
    public static EditContext none(KeyLocking locking, int batch, int tokens) {
        return new EditContext(locking, batch, tokens);
    }

    /** Whether there is an edit (false for {@link #none}). */
    public boolean hasEdit() {
        return values != null;
    }

    /** Makes this context close {@code resource} (e.g. an edit derived for it) when it is closed; returns this. */
    EditContext owning(AutoCloseable resource) {
        this.owned = resource;
        return this;
    }

    /**
     * Local key-locking: one encoding of the text states serves keys and values.
     *
     * @param text E [B, M, D]
     */
    public static EditContext local(KeyLockedEdit edit, Tensor text) {
        PerfusionEncoding enc = edit.encode(text);
        return new EditContext(KeyLocking.LOCAL, enc, enc);
    }

    /**
     * Global key-locking: keys from {@code superText}, values from {@code text}.
     *
     * @param text      E [B, M, D], the prompts with the concepts' placeholders
     * @param superText E_super [B, M, D], the same prompts with each placeholder replaced by its super-category word
     */
    public static EditContext global(KeyLockedEdit edit, Tensor text, Tensor superText) {
        if (!text.shape().equals(superText.shape())) {
            throw new IllegalArgumentException("global key-locking needs E and E_super of one shape, got "
                    + text.shape() + " and " + superText.shape());
        }
        PerfusionEncoding values = edit.encode(text);
        try {
            PerfusionEncoding keys = edit.encode(superText);
            return new EditContext(KeyLocking.GLOBAL, keys, values);
        } catch (RuntimeException e) {
            values.close();
            throw e;
        }
    }

    /** The context's key-locking mode. */
    public KeyLocking locking() {
        return locking;
    }

    /** The encoding the keys are projected from. */
    public PerfusionEncoding keys() {
        return keys;
    }

    /** The encoding the values are projected from. */
    public PerfusionEncoding values() {
        return values;
    }

    /** B. */
    public int batch() {
        return batch;
    }

    /** M. */
    public int tokens() {
        return tokens;
    }

    @Override
    public void close() {
        if (values != null) {
            values.close();
        }
        if (keys != null && keys != values) {
            keys.close();
        }
        if (owned != null) {
            AutoCloseable o = owned;
            owned = null;
            try {
                o.close();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
