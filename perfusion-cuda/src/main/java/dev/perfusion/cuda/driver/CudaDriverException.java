package dev.perfusion.cuda.driver;

import jcuda.driver.CUresult;

/**
 * A CUDA driver call failed. The message names the driver call, the {@code CUresult} name and code, and the
 * context of the call (for a kernel launch: module, kernel, grid, block and dynamic shared memory; for an
 * allocation: the size and what the allocator holds), so that a failure in a long run can be traced to its cause.
 */
public final class CudaDriverException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int result;

    /**
     * @param call    the driver function, e.g. {@code cuLaunchKernel}
     * @param result  the {@code CUresult} it returned
     * @param context what was being done, e.g. {@code "kernel elementwise/unary_f32 grid (40,1,1) block (256,1,1)"}
     */
    public CudaDriverException(String call, int result, String context) {
        super(call + " failed with " + resultName(result) + " (" + result + ")"
                + (context == null || context.isEmpty() ? "" : ": " + context));
        this.call = call;
        this.result = result;
    }

    /**
     * @param call    the driver function
     * @param result  the {@code CUresult} it returned
     * @param context what was being done
     * @param cause   the underlying exception (e.g. a {@code jcuda.CudaException} when JCuda's exceptions are on)
     */
    public CudaDriverException(String call, int result, String context, Throwable cause) {
        this(call, result, context);
        initCause(cause);
    }

    /** The driver function that failed, e.g. {@code cuMemAlloc}. */
    public String call() {
        return call;
    }

    /** The {@code CUresult} code (see {@link #resultName(int)}); -1 when the failure did not come as a code. */
    public int result() {
        return result;
    }

    /** The symbolic name of a {@code CUresult}, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public static String resultName(int result) {
        if (result == -1) {
            return "an exception";
        }
        try {
            return CUresult.stringFor(result);
        } catch (RuntimeException | LinkageError e) {
            return "CUresult " + result;
        }
    }
}
