package dev.perfusion.tensor;

/**
 * The native (or heap) memory behind one or more tensors. Views such as a reshape share one storage;
 * the storage is freed when the last tensor using it is closed. Backends subclass it.
 */
public abstract class Storage {
    private int refs = 1;

    /** Adds a user (a new view). */
    public final synchronized Storage retain() {
        if (refs <= 0) {
            throw new IllegalStateException("storage already freed");
        }
        refs++;
        return this;
    }

    /** Drops a user; frees the memory when none is left. */
    public final synchronized void release() {
        if (refs <= 0) {
            return;
        }
        if (--refs == 0) {
            free();
        }
    }

    /** True once the memory has been freed. */
    public final synchronized boolean isFreed() {
        return refs <= 0;
    }

    /** Frees the memory; called exactly once. */
    protected abstract void free();

    /** Storage with nothing to free (Java heap arrays). */
    public static Storage heap() {
        return new Storage() {
            @Override
            protected void free() {
                // heap arrays are reclaimed by the garbage collector
            }
        };
    }
}
