package dev.perfusion.cuda;

import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.tensor.Storage;

/**
 * The device memory behind one or more CUDA tensors (a reshape shares it). Freed, that is handed back to the
 * device's caching allocator, when the last tensor using it is closed.
 */
public final class CudaStorage extends Storage {
    private final DeviceBuffer buffer;

    /** Takes ownership of {@code buffer}. */
    CudaStorage(DeviceBuffer buffer) {
        this.buffer = buffer;
    }

    /** The device buffer. */
    public DeviceBuffer buffer() {
        return buffer;
    }

    @Override
    protected void free() {
        buffer.close();
    }

    @Override
    public String toString() {
        return "CudaStorage[" + buffer + "]";
    }
}
