package dev.perfusion.cuda.driver;

import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.JCudaDriver;

/**
 * One {@code extern "C" __global__} function of a loaded module, launched on its device's stream. Obtained from
 * {@link CudaDevice#kernel(String, String)}, which caches it.
 *
 * <p>Every launch is checked: bad geometry is an {@link IllegalArgumentException}, a failed {@code cuLaunchKernel}
 * a {@link CudaDriverException} naming the module, kernel, grid, block and dynamic shared bytes. With the device's
 * debug option the stream is synchronised after every launch, so that an error inside the kernel (an illegal
 * address, say) is reported against the launch that caused it rather than at some later call.
 */
public final class CudaKernel {
    /** Hardware limits of every architecture we target (sm_75 and newer). */
    static final int MAX_BLOCK_THREADS = 1024;
    static final int MAX_GRID_YZ = 65535;
    static final int MAX_BLOCK_Z = 64;
    static final int STATIC_SHARED_LIMIT = 48 * 1024;

    private final CudaDevice device;
    private final String module;
    private final String name;
    private final CUfunction function;
    private int dynamicSharedLimit = STATIC_SHARED_LIMIT;

    CudaKernel(CudaDevice device, String module, String name, CUfunction function) {
        this.device = device;
        this.module = module;
        this.name = name;
        this.function = function;
    }

    /** The module (the {@code .cu} file's stem). */
    public String module() {
        return module;
    }

    /** The kernel's C name. */
    public String name() {
        return name;
    }

    /**
     * Enqueues the kernel on the device's stream.
     *
     * @param grid               blocks, each component ≥ 1 (y and z ≤ 65535)
     * @param block              threads per block, each component ≥ 1, at most 1024 in all
     * @param dynamicSharedBytes dynamic shared memory per block; above 48 KiB call {@link #requireDynamicShared} first
     * @param args               the kernel's parameters, in order
     * @throws IllegalArgumentException for an impossible geometry
     * @throws CudaDriverException      when the launch (or, with debug sync, the kernel) fails
     */
    public void launch(Dim3 grid, Dim3 block, int dynamicSharedBytes, KernelArgs args) {
        String geometryError = checkGeometry(grid, block, dynamicSharedBytes, dynamicSharedLimit);
        if (geometryError != null) {
            throw new IllegalArgumentException(describe(grid, block, dynamicSharedBytes) + ": " + geometryError);
        }
        device.makeCurrent();
        Driver.call("cuLaunchKernel", () -> JCudaDriver.cuLaunchKernel(function, grid.x(), grid.y(), grid.z(),
                block.x(), block.y(), block.z(), dynamicSharedBytes, device.stream(), args.toPointer(), null),
                () -> describe(grid, block, dynamicSharedBytes) + " args " + args);
        if (device.debugSync()) {
            Driver.call("cuStreamSynchronize", () -> JCudaDriver.cuStreamSynchronize(device.stream()),
                    () -> "debug synchronisation right after " + describe(grid, block, dynamicSharedBytes)
                            + " args " + args + " (the error comes from this kernel or an earlier asynchronous call)");
        }
    }

    /**
     * Allows this kernel up to {@code bytes} of dynamic shared memory ({@code cuFuncSetAttribute} with
     * {@code MAX_DYNAMIC_SHARED_SIZE_BYTES}); needed above 48 KiB. A no-op when already allowed.
     */
    public void requireDynamicShared(int bytes) {
        if (bytes <= dynamicSharedLimit) {
            return;
        }
        device.makeCurrent();
        Driver.call("cuFuncSetAttribute", () -> JCudaDriver.cuFuncSetAttribute(function,
                CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                () -> "allowing " + bytes + " bytes of dynamic shared memory for kernel " + module + "/" + name);
        dynamicSharedLimit = bytes;
    }

    /**
     * Why a launch geometry is impossible, or null when it is fine. Static, so the rules are unit-testable
     * without a GPU.
     */
    static String checkGeometry(Dim3 grid, Dim3 block, int dynamicSharedBytes, int sharedLimit) {
        if (grid.x() < 1 || grid.y() < 1 || grid.z() < 1) {
            return "every grid dimension must be at least 1 (an empty tensor must not be launched)";
        }
        if (grid.y() > MAX_GRID_YZ || grid.z() > MAX_GRID_YZ) {
            return "grid y and z are limited to " + MAX_GRID_YZ;
        }
        if (block.x() < 1 || block.y() < 1 || block.z() < 1) {
            return "every block dimension must be at least 1";
        }
        if (block.z() > MAX_BLOCK_Z || block.volume() > MAX_BLOCK_THREADS) {
            return "a block holds at most " + MAX_BLOCK_THREADS + " threads (z at most " + MAX_BLOCK_Z + ")";
        }
        if (dynamicSharedBytes < 0) {
            return "negative dynamic shared memory";
        }
        if (dynamicSharedBytes > sharedLimit) {
            return dynamicSharedBytes + " bytes of dynamic shared memory exceed the allowed " + sharedLimit
                    + " (call requireDynamicShared first)";
        }
        return null;
    }

    private String describe(Dim3 grid, Dim3 block, int shared) {
        return "kernel " + module + "/" + name + " grid " + grid + " block " + block + " shared " + shared + " bytes";
    }

    @Override
    public String toString() {
        return "CudaKernel[" + module + "/" + name + "]";
    }
}
