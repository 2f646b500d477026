package dev.perfusion.cuda.driver;

import java.util.function.IntSupplier;
import java.util.function.Supplier;
import jcuda.CudaException;
import jcuda.driver.CUresult;

/**
 * Checks the result of every driver call. JCuda's own exceptions are switched off when a device is opened (they
 * carry no context), so each call returns its {@code CUresult} and a failure becomes a {@link CudaDriverException}
 * naming the call and what it was doing. Should JCuda's exceptions have been switched back on by other code, its
 * {@link CudaException} is wrapped the same way.
 */
final class Driver {
    private Driver() {
    }

    /** Runs {@code fn}, a driver call named {@code call}; throws unless it returns {@code CUDA_SUCCESS}. */
    static void call(String call, IntSupplier fn, Supplier<String> context) {
        int result;
        try {
            result = fn.getAsInt();
        } catch (CudaException e) {
            throw new CudaDriverException(call, -1, context.get() + " [" + e.getMessage() + "]", e);
        }
        if (result != CUresult.CUDA_SUCCESS) {
            throw new CudaDriverException(call, result, context.get());
        }
    }

    /** {@link #call(String, IntSupplier, Supplier)} with a fixed context string. */
    static void call(String call, IntSupplier fn, String context) {
        call(call, fn, () -> context);
    }

    /** Runs {@code fn} and returns its {@code CUresult} without throwing (for calls whose failure is handled). */
    static int result(IntSupplier fn) {
        try {
            return fn.getAsInt();
        } catch (CudaException e) {
            return CUresult.CUDA_ERROR_UNKNOWN;
        }
    }
}
