package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaContext.fail;
import static dev.perfusion.cuda.CudaContext.launch1d;
import static dev.perfusion.cuda.CudaContext.ptr;

import dev.perfusion.cuda.KernelRef.Variants;
import dev.perfusion.cuda.driver.KernelArgs;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Host ↔ device copies, casts and fills. Values travel as little-endian bytes (the device's order too); FLOAT16
 * and BFLOAT16 are stored on the device as their 16-bit patterns, INT32/INT64 as themselves.
 */
final class CudaMemoryOps {
    static final KernelRef CAST = KernelRef.of("cast", "cast", Variants.DTYPE_PAIRS);

    private final CudaContext cx;
    private final CudaShapeOps shapes;

    CudaMemoryOps(CudaContext cx, CudaShapeOps shapes) {
        this.cx = cx;
        this.shapes = shapes;
    }

    Tensor fromArray(float[] data, Shape shape) {
        checkLength(data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        return upload(b, DType.FLOAT32, shape);
    }

    Tensor fromArray(long[] data, Shape shape) {
        checkLength(data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(data);
        return upload(b, DType.INT64, shape);
    }

    Tensor fromArray(int[] data, Shape shape) {
        checkLength(data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(data);
        return upload(b, DType.INT32, shape);
    }

    /** Copies the raw bytes (never wraps): the device cannot read host memory. */
    Tensor fromBytes(ByteBuffer data, DType dtype, Shape shape) {
        long expected = shape.numel() * dtype.byteSize();
        if (data.remaining() != expected) {
            throw fail("fromBytes", data.remaining() + " bytes for " + dtype + " " + shape + ", expected " + expected);
        }
        return upload(data.slice(), dtype, shape);
    }

    private Tensor upload(ByteBuffer bytes, DType dtype, Shape shape) {
        Tensor t = cx.allocate(shape, dtype);
        try {
            cx.device().upload(bytes, ptr(t));
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** The raw little-endian bytes of {@code x}. */
    ByteBuffer download(Tensor x) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(x.numel() * x.dtype().byteSize()))
                .order(ByteOrder.LITTLE_ENDIAN);
        cx.device().download(ptr(x), b);
        return b;
    }

    float[] toFloatArray(Tensor x) {
        cx.check("toFloatArray", "x", x);
        ByteBuffer b = download(x);
        int n = x.shape().numelInt();
        float[] out = new float[n];
        switch (x.dtype()) {
            case FLOAT32 -> b.asFloatBuffer().get(out);
            case FLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.fp16ToFloat(b.getShort(2 * i));
                }
            }
            case BFLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.bf16ToFloat(b.getShort(2 * i));
                }
            }
            case INT32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = b.getInt(4 * i);
                }
            }
            case INT64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = b.getLong(8 * i);
                }
            }
            default -> throw new AssertionError(x.dtype());
        }
        return out;
    }

    long[] toLongArray(Tensor x) {
        cx.check("toLongArray", "x", x);
        if (x.dtype() != DType.INT32 && x.dtype() != DType.INT64) {
            throw fail("toLongArray", "x must be an integer tensor (INT32 or INT64), got " + x.dtype());
        }
        ByteBuffer b = download(x);
        int n = x.shape().numelInt();
        long[] out = new long[n];
        if (x.dtype() == DType.INT64) {
            b.asLongBuffer().get(out);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = b.getInt(4 * i);
            }
        }
        return out;
    }

    /** Any dtype to any dtype, with the reference backend's rounding, truncation and saturation rules. */
    Tensor cast(Tensor x, DType dtype) {
        cx.check("cast", "x", x);
        if (dtype == null) {
            throw fail("cast", "target dtype is null");
        }
        Tensor y = cx.allocate(x.shape(), dtype);
        launch1d(cx.device().kernel(CAST.module(), CAST.name(x.dtype(), dtype)), x.numel(),
                KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(x.numel()));
        return y;
    }

    Tensor full(Shape shape, float value) {
        Tensor y = cx.allocate(shape, DType.FLOAT32);
        shapes.fill(y, CudaContext.bits(value, DType.FLOAT32));
        return y;
    }

    private static void checkLength(int length, Shape shape) {
        if (length != shape.numel()) {
            throw fail("fromArray", length + " values for shape " + shape + " (" + shape.numel() + " elements)");
        }
    }
}
