package dev.perfusion.cuda.driver;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A caching device allocator with size classes, for one {@link CudaDevice}. {@code cuMemAlloc}/{@code cuMemFree}
 * are slow and {@code cuMemFree} synchronises the device, so freed blocks are kept in per-size-class free lists and
 * handed out again.
 *
 * <p><b>Stream order.</b> All work of the device runs on its single stream, in enqueue order. A block released
 * right after enqueueing kernels that use it is only handed to work enqueued later, which the stream runs after
 * those kernels, so reuse needs no events. (This is why the allocator belongs to a device with one stream.)
 *
 * <p>Size classes: requests are rounded up to a multiple of 512 bytes up to 1 MiB, and above that to one of eight
 * steps per power of two (at most 12.5% slack). A block serves only requests of its own class. When the driver
 * runs out of memory, the cache is emptied (after synchronising the stream) and the allocation retried once.
 */
final class CachingAllocator {
    private static final Logger LOG = LoggerFactory.getLogger(CachingAllocator.class);
    private static final long SMALL = 1L << 20;
    private static final long SMALL_STEP = 512;

    private final CudaDevice device;
    private final Map<Long, ArrayDeque<CUdeviceptr>> free = new HashMap<>();
    private long liveBytes;
    private long liveBlocks;
    private long cachedBytes;
    private long peakBytes;
    private boolean closed;

    CachingAllocator(CudaDevice device) {
        this.device = device;
    }

    /** The block size (size class) that serves a request of {@code bytes}. */
    static long blockSize(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation size " + bytes);
        }
        if (bytes <= SMALL) {
            return Math.max(SMALL_STEP, (bytes + SMALL_STEP - 1) / SMALL_STEP * SMALL_STEP);
        }
        long step = Long.highestOneBit(bytes - 1) / 8; // ≥ 128 KiB here
        return (bytes + step - 1) / step * step;
    }

    /** A buffer of at least {@code bytes} bytes, from the cache when a block of its class is free. */
    synchronized DeviceBuffer allocate(long bytes) {
        if (closed) {
            throw new IllegalStateException("allocate(" + bytes + ") on a closed CUDA device");
        }
        long block = blockSize(bytes);
        ArrayDeque<CUdeviceptr> list = free.get(block);
        CUdeviceptr p = list == null ? null : list.pollLast();
        if (p != null) {
            cachedBytes -= block;
        } else {
            p = fresh(bytes, block);
        }
        liveBytes += block;
        liveBlocks++;
        peakBytes = Math.max(peakBytes, liveBytes);
        return new DeviceBuffer(this, p, bytes, block);
    }

    private CUdeviceptr fresh(long bytes, long block) {
        device.makeCurrent();
        CUdeviceptr p = new CUdeviceptr();
        int r = Driver.result(() -> JCudaDriver.cuMemAlloc(p, block));
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY && cachedBytes > 0) {
            long had = cachedBytes;
            LOG.warn("CUDA out of memory allocating {} bytes: freeing {} cached bytes and retrying", block, had);
            emptyCache();
            r = Driver.result(() -> JCudaDriver.cuMemAlloc(p, block));
        }
        if (r != CUresult.CUDA_SUCCESS) {
            throw new CudaDriverException("cuMemAlloc", r, String.format(Locale.ROOT,
                    "allocating %d bytes (block of %d) on %s; %s", bytes, block, device.name(), describe()));
        }
        return p;
    }

    /** Takes a block back into the cache. */
    synchronized void release(CUdeviceptr p, long block) {
        liveBytes -= block;
        liveBlocks--;
        if (closed) {
            // the device is gone; its context freed everything
            return;
        }
        free.computeIfAbsent(block, k -> new ArrayDeque<>()).addLast(p);
        cachedBytes += block;
    }

    /** Returns every cached block to the driver (after the stream has finished with them). */
    synchronized void emptyCache() {
        if (cachedBytes == 0) {
            return;
        }
        device.synchronize();
        for (Map.Entry<Long, ArrayDeque<CUdeviceptr>> e : free.entrySet()) {
            for (CUdeviceptr p : e.getValue()) {
                Driver.call("cuMemFree", () -> JCudaDriver.cuMemFree(p), "freeing a cached block of " + e.getKey()
                        + " bytes");
            }
        }
        free.clear();
        cachedBytes = 0;
    }

    /** Bytes handed out and not yet released (by block size). */
    synchronized long liveBytes() {
        return liveBytes;
    }

    /** Bytes held in the cache. */
    synchronized long cachedBytes() {
        return cachedBytes;
    }

    /** The most bytes ever live at once. */
    synchronized long peakBytes() {
        return peakBytes;
    }

    /** A one-line summary for error messages: live, cached, peak, and the driver's free/total memory. */
    synchronized String describe() {
        long[] freeMem = {0};
        long[] total = {0};
        int r = Driver.result(() -> JCudaDriver.cuMemGetInfo(freeMem, total));
        String driver = r == CUresult.CUDA_SUCCESS
                ? String.format(Locale.ROOT, ", driver reports %.1f of %.1f MiB free", freeMem[0] / 1048576.0,
                        total[0] / 1048576.0)
                : "";
        return String.format(Locale.ROOT, "allocator: %d live blocks of %.1f MiB, %.1f MiB cached, peak %.1f MiB%s",
                liveBlocks, liveBytes / 1048576.0, cachedBytes / 1048576.0, peakBytes / 1048576.0, driver);
    }

    /** Frees the cache; blocks still live are reported (they die with the context). */
    synchronized void close() {
        if (closed) {
            return;
        }
        emptyCache();
        if (liveBlocks > 0) {
            LOG.warn("closing a CUDA device with {} device buffers ({} bytes) still open: tensors were not closed",
                    liveBlocks, liveBytes);
        }
        closed = true;
    }
}
