package dev.perfusion.perfusion;

/**
 * What a concept learns, and so how it is applied at sampling: Perfusion itself or one of the ablations of the
 * evaluation (issue 7; reference/perfusion-method.md §2.1), all at the same training budget.
 *
 * <table>
 *   <caption>modes</caption>
 *   <tr><th>mode</th><th>trained</th><th>K edit target o*_K</th><th>V edit target o*_V</th></tr>
 *   <tr><td>{@link #PERFUSION}</td><td>v*, o*_V</td><td>W_K·ē_super, frozen (key-locking)</td><td>learned</td></tr>
 *   <tr><td>{@link #NO_KEY_LOCKING}</td><td>v*, o*_K, o*_V</td><td>learned, initialised to W_K·ē_super</td><td>learned</td></tr>
 *   <tr><td>{@link #EMBEDDING_ONLY}</td><td>v*</td><td colspan="2">no K/V edit at all (textual inversion)</td></tr>
 * </table>
 */
public enum TrainMode {
    /** Key-locked rank-one editing: keys locked to the super-category, values and embedding learned. */
    PERFUSION,
    /** The same gated rank-one edit, but the key targets o*_K are learned like the values (no key-locking). */
    NO_KEY_LOCKING,
    /** Textual inversion: only the concept embedding v* is learned; the UNet's attention is left unchanged. */
    EMBEDDING_ONLY;

    /** Whether concepts of this mode install the gated K/V edit on every {@code attn2}. */
    public boolean editsAttention() {
        return this != EMBEDDING_ONLY;
    }

    /**
     * The mode named {@code name} (case-insensitive, as written in concept files and settings).
     *
     * @throws IllegalArgumentException naming the unknown mode and the known ones
     */
    public static TrainMode parse(String name) {
        for (TrainMode m : values()) {
            if (m.name().equalsIgnoreCase(name == null ? "" : name.strip())) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown Perfusion training mode '" + name + "'; known: "
                + java.util.Arrays.toString(values()));
    }
}
