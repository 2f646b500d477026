package dev.perfusion.cuda;

import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.CudaKernel;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.cuda.driver.Dim3;
import dev.perfusion.cuda.driver.KernelArgs;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

/**
 * What every op family of {@link CudaBackend} shares: the device, tensor allocation, argument checks with the
 * reference backend's messages, and launch geometry. Package-private; one per backend.
 */
final class CudaContext {
    /** Threads per block of the 1-D elementwise kernels. */
    static final int BLOCK = 256;
    /** Cap on the blocks of a grid-stride launch (the kernels loop over the rest). */
    static final int MAX_BLOCKS = 1 << 18;

    private final CudaBackend backend;
    private final CudaDevice device;

    CudaContext(CudaBackend backend, CudaDevice device) {
        this.backend = backend;
        this.device = device;
    }

    CudaDevice device() {
        return device;
    }

    CudaBackend backend() {
        return backend;
    }

    // ------------------------------------------------------------------ tensors

    /** A new contiguous tensor of {@code shape} and {@code dtype}; its contents are undefined. */
    Tensor allocate(Shape shape, DType dtype) {
        long bytes = shape.numel() * dtype.byteSize();
        DeviceBuffer buffer = device.allocate(bytes);
        return new Tensor(backend, shape, dtype, new CudaHandle(buffer, 0), new CudaStorage(buffer));
    }

    /** A FLOAT32 scratch buffer of {@code n} elements (close it after enqueueing its last use). */
    DeviceBuffer scratchFloats(long n) {
        return device.allocate(n * 4);
    }

    /** The device address of {@code x}'s first element (x already checked). */
    static CUdeviceptr ptr(Tensor x) {
        return ((CudaHandle) x.handle()).pointer(x.dtype().byteSize());
    }

    /** The device address of {@code x}'s element {@code element}. */
    static CUdeviceptr ptr(Tensor x, long element) {
        CudaHandle h = (CudaHandle) x.handle();
        return h.buffer().pointer((h.elementOffset() + element) * x.dtype().byteSize());
    }

    /** The address of an optional tensor: a null pointer when absent. */
    static CUdeviceptr ptrOrNull(Tensor x) {
        return x == null ? new CUdeviceptr() : ptr(x);
    }

    // ------------------------------------------------------------------ checks (messages as the reference's)

    /** Checks that {@code x} is an open tensor of this backend; {@code role} names it in errors. */
    void check(String op, String role, Tensor x) {
        if (x == null) {
            throw fail(op, role + " is null");
        }
        if (x.backend() != backend) {
            throw fail(op, role + " " + x.shape() + " belongs to backend '" + x.backend().name()
                    + "', not to this CUDA backend");
        }
        x.handle(); // throws IllegalStateException when x is closed
    }

    /** Checks a FLOAT32 input. */
    void checkFloat32(String op, String role, Tensor x) {
        check(op, role, x);
        if (x.dtype() != DType.FLOAT32) {
            throw fail(op, role + " must be FLOAT32, got " + x.dtype()
                    + (x.dtype().isFloating() ? " (this op has no half-precision kernel on the CUDA backend: cast "
                    + "to FLOAT32 first)" : ""));
        }
    }

    /** Checks a floating input (FLOAT32, FLOAT16 or BFLOAT16 storage: the kernels compute in float). */
    void checkFloating(String op, String role, Tensor x) {
        check(op, role, x);
        if (!x.dtype().isFloating()) {
            throw fail(op, role + " must be FLOAT32, FLOAT16 or BFLOAT16, got " + x.dtype());
        }
    }

    /** Checks that {@code x} (already checked) has the dtype of the op's first operand. */
    static void sameDType(String op, String role, Tensor x, String firstRole, DType first) {
        if (x.dtype() != first) {
            throw fail(op, role + " is " + x.dtype() + " but " + firstRole + " is " + first
                    + ": all floating operands of one call need the same dtype");
        }
    }

    /** Checks an optional parameter tensor: floating, of {@code dtype}, with {@code shape}. */
    void checkOptional(String op, String role, Tensor x, Shape shape, DType dtype) {
        if (x == null) {
            return;
        }
        checkFloating(op, role, x);
        sameDType(op, role, x, "x", dtype);
        if (!x.shape().equals(shape)) {
            throw fail(op, role + " must be " + shape + ", got " + x.shape());
        }
    }

    /** Throws unless {@code a} and {@code b} have the same shape. */
    static void sameShape(String op, String aRole, Tensor a, String bRole, Tensor b) {
        if (!a.shape().equals(b.shape())) {
            throw fail(op, aRole + " " + a.shape() + " and " + bRole + " " + b.shape() + " must have the same shape");
        }
    }

    /** {@code shape.axis(axis)} with the op named in the error. */
    static int axis(String op, Shape shape, int axis) {
        try {
            return shape.axis(axis);
        } catch (IllegalArgumentException e) {
            throw fail(op, e.getMessage());
        }
    }

    /** {@link Shape#broadcast} with the op named in the error. */
    static Shape broadcast(String op, Shape a, Shape b) {
        try {
            return Shape.broadcast(a, b);
        } catch (IllegalArgumentException e) {
            throw fail(op, e.getMessage());
        }
    }

    /** An exception naming the op, as the reference backend words them. */
    static IllegalArgumentException fail(String op, String message) {
        return new IllegalArgumentException(op + ": " + message);
    }

    // ------------------------------------------------------------------ launching

    /** The kernel of {@code ref} with a single name. */
    CudaKernel kernel(KernelRef ref) {
        return device.kernel(ref.module(), ref.name());
    }

    /** The variant of {@code ref} for dtype {@code t}. */
    CudaKernel kernel(KernelRef ref, DType t) {
        return device.kernel(ref.module(), ref.name(t));
    }

    /** Launches a 1-D grid-stride kernel over {@code n} items (nothing when n is 0). */
    static void launch1d(CudaKernel k, long n, KernelArgs args) {
        if (n <= 0) {
            return;
        }
        k.launch(Dim3.of(blocks(n, BLOCK)), Dim3.of(BLOCK), 0, args);
    }

    /** Launches a kernel with one block per row (grid-stride over rows) and {@code threads} per block. */
    static void launchRows(CudaKernel k, long rows, int threads, KernelArgs args) {
        if (rows <= 0) {
            return;
        }
        k.launch(Dim3.of((int) Math.min(rows, MAX_BLOCKS)), Dim3.of(threads), 0, args);
    }

    /** ⌈n / per⌉ capped at {@link #MAX_BLOCKS}. */
    static int blocks(long n, int per) {
        return (int) Math.min((n + per - 1) / per, MAX_BLOCKS);
    }

    /** Threads for a block that reduces {@code length} elements: a power of two in [32, max]. */
    static int rowThreads(long length, int max) {
        int t = 32;
        while (t < max && t < length) {
            t <<= 1;
        }
        return t;
    }

    /** The raw bit pattern of {@code value} stored as {@code dtype}, zero-extended (for the fill kernels). */
    static long bits(float value, DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> Float.floatToRawIntBits(value) & 0xffffffffL;
            case FLOAT16 -> dev.perfusion.tensor.HalfFloats.floatToFp16(value) & 0xffffL;
            case BFLOAT16 -> dev.perfusion.tensor.HalfFloats.floatToBf16(value) & 0xffffL;
            case INT32 -> ((int) value) & 0xffffffffL;
            case INT64 -> (long) value;
        };
    }
}
