package dev.perfusion.cuda.driver;

import dev.perfusion.cuda.CudaProbe;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One CUDA device as the backend uses it: the device's primary context, a single stream on which all work runs in
 * order, a caching stream-ordered allocator ({@link #allocate}) and a cache of loaded kernel modules
 * ({@link #kernel}). {@link #close()} releases them all; a closed device throws on use.
 *
 * <p>Threads: the driver keeps the current context per thread, so every entry point makes this device's context
 * current first; a device may therefore be used from any thread, though its work stays serialised on one stream.
 *
 * <p>Every driver call is checked ({@link CudaDriverException} with the call and its context); JCuda's own
 * exceptions are switched off when the first device is opened.
 */
public final class CudaDevice implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CudaDevice.class);
    /** Host staging size for copies from and to heap buffers. */
    private static final int STAGING_BYTES = 8 << 20;

    private final int ordinal;
    private final boolean debugSync;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final String name;
    private final int computeCapability;
    private final long totalMemory;
    private final CachingAllocator allocator;
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<String, CudaKernel> kernels = new HashMap<>();
    private ByteBuffer staging;
    private boolean closed;

    private CudaDevice(int ordinal, boolean debugSync) {
        this.ordinal = ordinal;
        this.debugSync = debugSync;
        String where = "opening CUDA device #" + ordinal;
        Driver.call("cuInit", () -> JCudaDriver.cuInit(0), where);
        Driver.call("cuDeviceGet", () -> JCudaDriver.cuDeviceGet(device, ordinal), where);
        Driver.call("cuDevicePrimaryCtxRetain", () -> JCudaDriver.cuDevicePrimaryCtxRetain(context, device), where);
        Driver.call("cuCtxSetCurrent", () -> JCudaDriver.cuCtxSetCurrent(context), where);
        byte[] nameBytes = new byte[256];
        Driver.call("cuDeviceGetName", () -> JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, device), where);
        this.name = cString(nameBytes);
        int[] major = {0};
        int[] minor = {0};
        Driver.call("cuDeviceGetAttribute", () -> JCudaDriver.cuDeviceGetAttribute(major,
                CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device), where);
        Driver.call("cuDeviceGetAttribute", () -> JCudaDriver.cuDeviceGetAttribute(minor,
                CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device), where);
        this.computeCapability = major[0] * 10 + minor[0];
        long[] mem = {0};
        Driver.call("cuDeviceTotalMem", () -> JCudaDriver.cuDeviceTotalMem(mem, device), where);
        this.totalMemory = mem[0];
        // a blocking stream: work that other code puts on the legacy default stream stays ordered with ours
        Driver.call("cuStreamCreate", () -> JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_DEFAULT), where);
        this.allocator = new CachingAllocator(this);
    }

    /**
     * Opens device {@code ordinal}.
     *
     * @param debugSync synchronise after every kernel launch and check for errors (slow; for debugging)
     * @throws IllegalStateException when the probe finds no usable CUDA driver or device (with its reason)
     * @throws CudaDriverException   when a driver call fails
     */
    public static CudaDevice open(int ordinal, boolean debugSync) {
        if (!CudaProbe.available()) {
            throw new IllegalStateException("no CUDA device can be opened: " + CudaProbe.summary());
        }
        // the probe has run (it enables JCuda's exceptions); from here on every call's result is checked by us
        JCudaDriver.setExceptionsEnabled(false);
        CudaDevice d = new CudaDevice(ordinal, debugSync);
        LOG.info("opened CUDA device #{} {} (sm_{}, {} MiB){}", ordinal, d.name, d.computeCapability,
                d.totalMemory >> 20, debugSync ? " with debug synchronisation after every launch" : "");
        return d;
    }

    /** Compute capability as major·10 + minor, e.g. 90 for an H100. */
    public int computeCapability() {
        return computeCapability;
    }

    /** The device's name, e.g. {@code NVIDIA H100 80GB HBM3}. */
    public String name() {
        return name;
    }

    /** The device's ordinal. */
    public int ordinal() {
        return ordinal;
    }

    /** Global memory in bytes. */
    public long totalMemory() {
        return totalMemory;
    }

    /** True when every launch is followed by a synchronisation and an error check. */
    public boolean debugSync() {
        return debugSync;
    }

    /**
     * A device buffer of at least {@code bytes} bytes (0 is allowed) from the caching allocator; never null. Its
     * contents are undefined. Close it to hand the block back; see {@link DeviceBuffer} for why reuse is safe.
     *
     * @throws CudaDriverException when the device is out of memory even after emptying the cache; the message names
     *                             the size and what the allocator holds
     */
    public DeviceBuffer allocate(long bytes) {
        checkOpen();
        return allocator.allocate(bytes);
    }

    /** The kernel {@code function} of module {@code module} (a {@code .cu} file's stem), loaded once and cached. */
    public synchronized CudaKernel kernel(String module, String function) {
        checkOpen();
        String key = module + "/" + function;
        CudaKernel k = kernels.get(key);
        if (k != null) {
            return k;
        }
        CUmodule m = module(module);
        CUfunction f = new CUfunction();
        makeCurrent();
        Driver.call("cuModuleGetFunction", () -> JCudaDriver.cuModuleGetFunction(f, m, function),
                () -> "kernel " + key + " is not in the loaded image of module " + module
                        + " (a typo, or the kernels were not rebuilt: run perfusion-cuda/build-kernels.sh)");
        k = new CudaKernel(this, module, function, f);
        kernels.put(key, k);
        return k;
    }

    private CUmodule module(String module) {
        CUmodule m = modules.get(module);
        if (m != null) {
            return m;
        }
        makeCurrent();
        List<String> tried = new ArrayList<>();
        for (String image : KernelImages.candidates(module, computeCapability)) {
            byte[] bytes = KernelImages.read(image);
            if (bytes == null) {
                tried.add(image + " (not shipped)");
                continue;
            }
            CUmodule loaded = new CUmodule();
            int r = Driver.result(() -> JCudaDriver.cuModuleLoadData(loaded, bytes));
            if (r == CUresult.CUDA_SUCCESS) {
                LOG.debug("loaded kernel module {} from {}", module, image);
                modules.put(module, loaded);
                return loaded;
            }
            tried.add(image + " (" + CudaDriverException.resultName(r) + ")");
            LOG.warn("CUDA module {}: {} did not load on sm_{}: {}", module, image, computeCapability,
                    CudaDriverException.resultName(r));
        }
        throw new CudaDriverException("cuModuleLoadData", CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU,
                "no image of kernel module '" + module + "' loads on " + name + " (sm_" + computeCapability
                        + "); tried " + tried + ". The PTX is ISA 9.0 (nvcc 13) and needs a CUDA 13 driver to JIT; "
                        + "resources are read from " + KernelImages.RESOURCE_DIR);
    }

    /** Waits until all work enqueued on this device's stream has finished, and checks for asynchronous errors. */
    public void synchronize() {
        checkOpen();
        makeCurrent();
        Driver.call("cuStreamSynchronize", () -> JCudaDriver.cuStreamSynchronize(stream),
                "synchronising the stream of " + name + " (an earlier asynchronous launch or copy failed)");
    }

    /** The stream all of this device's work runs on (for code in this module that calls the driver directly). */
    public CUstream stream() {
        return stream;
    }

    /** Sets every byte of {@code bytes} bytes at {@code dst} to zero, in stream order. */
    public void memsetZero(CUdeviceptr dst, long bytes) {
        checkOpen();
        if (bytes == 0) {
            return;
        }
        makeCurrent();
        Driver.call("cuMemsetD8Async", () -> JCudaDriver.cuMemsetD8Async(dst, (byte) 0, bytes, stream),
                () -> "zeroing " + bytes + " bytes");
    }

    /** Copies {@code bytes} bytes between device addresses, in stream order. */
    public void copyDeviceToDevice(CUdeviceptr src, CUdeviceptr dst, long bytes) {
        checkOpen();
        if (bytes == 0) {
            return;
        }
        makeCurrent();
        Driver.call("cuMemcpyDtoDAsync", () -> JCudaDriver.cuMemcpyDtoDAsync(dst, src, bytes, stream),
                () -> "copying " + bytes + " bytes on the device");
    }

    /**
     * Copies {@code src}'s remaining bytes (from its position; the position is not changed) to {@code dst}, after
     * all work enqueued before; returns when the copy is done, so {@code src} may be reused at once.
     */
    public void upload(ByteBuffer src, CUdeviceptr dst) {
        checkOpen();
        makeCurrent();
        ByteBuffer s = src.slice();
        long total = s.remaining();
        if (s.isDirect()) {
            copyIn(s, dst, total);
        } else {
            synchronized (this) {
                ByteBuffer st = staging();
                for (long off = 0; off < total; off += STAGING_BYTES) {
                    int len = (int) Math.min(STAGING_BYTES, total - off);
                    st.clear();
                    st.put(s.slice((int) off, len));
                    st.flip();
                    copyIn(st, off == 0 ? dst : dst.withByteOffset(off), len);
                }
            }
        }
    }

    /**
     * Copies {@code dst.remaining()} bytes from {@code src} into {@code dst} (from its position; the position is
     * not changed), after all work enqueued before; returns when the bytes are there.
     */
    public void download(CUdeviceptr src, ByteBuffer dst) {
        checkOpen();
        makeCurrent();
        ByteBuffer d = dst.slice();
        long total = d.remaining();
        if (d.isDirect()) {
            copyOut(src, d, total);
        } else {
            synchronized (this) {
                ByteBuffer st = staging();
                for (long off = 0; off < total; off += STAGING_BYTES) {
                    int len = (int) Math.min(STAGING_BYTES, total - off);
                    st.clear();
                    copyOut(off == 0 ? src : src.withByteOffset(off), st, len);
                    st.limit(len);
                    d.put((int) off, st, 0, len);
                }
            }
        }
    }

    private void copyIn(ByteBuffer direct, CUdeviceptr dst, long bytes) {
        if (bytes == 0) {
            return;
        }
        Driver.call("cuMemcpyHtoDAsync", () -> JCudaDriver.cuMemcpyHtoDAsync(dst, Pointer.to(direct), bytes, stream),
                () -> "copying " + bytes + " bytes to the device");
        // the host buffer must stay untouched until the copy ran: wait for it
        Driver.call("cuStreamSynchronize", () -> JCudaDriver.cuStreamSynchronize(stream),
                () -> "waiting for a copy of " + bytes + " bytes to the device");
    }

    private void copyOut(CUdeviceptr src, ByteBuffer direct, long bytes) {
        if (bytes == 0) {
            return;
        }
        Driver.call("cuMemcpyDtoHAsync", () -> JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(direct), src, bytes, stream),
                () -> "copying " + bytes + " bytes from the device");
        Driver.call("cuStreamSynchronize", () -> JCudaDriver.cuStreamSynchronize(stream),
                () -> "waiting for a copy of " + bytes + " bytes from the device (or for an earlier kernel)");
    }

    private ByteBuffer staging() {
        if (staging == null) {
            staging = ByteBuffer.allocateDirect(STAGING_BYTES);
        }
        return staging;
    }

    /** The allocator's summary: live, cached and peak bytes, and the driver's free memory. */
    public String memorySummary() {
        return allocator.describe();
    }

    /** Returns every cached, unused block to the driver. */
    public void emptyCache() {
        checkOpen();
        allocator.emptyCache();
    }

    /** Makes this device's context current on the calling thread. */
    void makeCurrent() {
        Driver.call("cuCtxSetCurrent", () -> JCudaDriver.cuCtxSetCurrent(context), () -> "using " + name);
    }

    /** Frees the allocator's cache, unloads the modules, destroys the stream and releases the context. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            makeCurrent();
            synchronize();
            allocator.close();
            for (Map.Entry<String, CUmodule> e : modules.entrySet()) {
                Driver.call("cuModuleUnload", () -> JCudaDriver.cuModuleUnload(e.getValue()),
                        "unloading module " + e.getKey());
            }
            Driver.call("cuStreamDestroy", () -> JCudaDriver.cuStreamDestroy(stream), "closing " + name);
        } finally {
            closed = true;
            modules.clear();
            kernels.clear();
            Driver.result(() -> JCudaDriver.cuDevicePrimaryCtxRelease(device));
            LOG.info("closed CUDA device #{} {}", ordinal, name);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("CUDA device #" + ordinal + " " + name + " is closed");
        }
    }

    private static String cString(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) {
            n++;
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "CudaDevice[#" + ordinal + " " + name + ", sm_" + computeCapability + "]";
    }
}
