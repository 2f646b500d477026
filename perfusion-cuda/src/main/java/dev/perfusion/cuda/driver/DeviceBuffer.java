package dev.perfusion.cuda.driver;

import jcuda.driver.CUdeviceptr;

/**
 * A block of device memory from a {@link CudaDevice}'s caching allocator. {@link #close()} hands the block back to
 * the allocator's cache (not to the driver), where the next request of the same size class reuses it.
 *
 * <p>Reuse is safe without any event or synchronisation because all work of a {@link CudaDevice} runs on its one
 * stream: a block closed right after enqueueing kernels that read it can only be handed to work enqueued later,
 * which the stream runs after those kernels. (Closing scratch memory right after enqueueing is therefore fine.)
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CachingAllocator allocator;
    private final CUdeviceptr pointer;
    private final long bytes;
    private final long blockBytes;
    private boolean closed;

    DeviceBuffer(CachingAllocator allocator, CUdeviceptr pointer, long bytes, long blockBytes) {
        this.allocator = allocator;
        this.pointer = pointer;
        this.bytes = bytes;
        this.blockBytes = blockBytes;
    }

    /** The start of the buffer. */
    public CUdeviceptr pointer() {
        checkOpen();
        return pointer;
    }

    /**
     * The address {@code byteOffset} bytes into the buffer.
     *
     * @throws IllegalArgumentException when the offset lies outside [0, {@link #bytes()}]
     */
    public CUdeviceptr pointer(long byteOffset) {
        checkOpen();
        if (byteOffset < 0 || byteOffset > bytes) {
            throw new IllegalArgumentException("byte offset " + byteOffset + " outside a device buffer of " + bytes
                    + " bytes");
        }
        return byteOffset == 0 ? pointer : pointer.withByteOffset(byteOffset);
    }

    /** The size that was asked for, in bytes (the block behind it may be larger). */
    public long bytes() {
        return bytes;
    }

    /** The size of the allocator's block behind this buffer (its size class). */
    public long blockBytes() {
        return blockBytes;
    }

    /** True once closed. */
    public boolean isClosed() {
        return closed;
    }

    /** Returns the block to the allocator's cache; closing twice is harmless. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        allocator.release(pointer, blockBytes);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("use of a closed device buffer of " + bytes + " bytes");
        }
    }

    @Override
    public String toString() {
        return "DeviceBuffer[" + bytes + " bytes" + (closed ? ", closed" : "") + "]";
    }
}
