package dev.perfusion.backend.nd4j;

import dev.perfusion.tensor.Storage;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The native memory behind ND4J tensors: the base array that owns the buffer, shared by every view (reshape)
 * made of it. Freed with {@link INDArray#close()} when the last tensor using it is closed, because ND4J's
 * garbage-collector-driven release comes far too late for activations (engine-notes §3).
 */
final class Nd4jStorage extends Storage {
    private INDArray base;
    /** For a zero-copy tensor: the caller's buffer, kept reachable while ND4J reads its memory. */
    private Object keepAlive;
    private final boolean external;

    /** Storage owning {@code base}, a fresh array made by this backend. */
    Nd4jStorage(INDArray base) {
        this.base = base;
        this.keepAlive = null;
        this.external = false;
    }

    /**
     * Storage over memory this backend does not own ({@code keepAlive}, e.g. a mapped file region): freeing it
     * only drops the references, and the memory goes when the buffer becomes unreachable.
     */
    Nd4jStorage(INDArray base, Object keepAlive) {
        this.base = base;
        this.keepAlive = keepAlive;
        this.external = true;
    }

    /** The owning array (for tests); null once freed. */
    synchronized INDArray base() {
        return base;
    }

    /** True when the memory is a wrapped caller buffer (zero-copy). */
    boolean isExternal() {
        return external;
    }

    @Override
    protected synchronized void free() {
        INDArray b = base;
        base = null;
        keepAlive = null;
        // views and workspace arrays report closeable() == false and close() would be a silent no-op; wrapped
        // caller memory must never be released by ND4J
        if (b != null && !external && b.closeable()) {
            b.close();
        }
    }
}
