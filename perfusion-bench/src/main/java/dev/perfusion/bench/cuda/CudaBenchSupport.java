package dev.perfusion.bench.cuda;

import dev.perfusion.cuda.CudaProbe;
import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.HostRandom;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * What the GPU benchmarks share: opening the device (or failing the trial with the probe's reason), seeded
 * inputs uploaded in the benchmark's storage type, and the number of kernel calls timed per JMH operation.
 *
 * <p>Timing: a JMH invocation enqueues {@link #CALLS} back-to-back calls and then waits for the stream, and is
 * declared as {@link #CALLS} operations; the result is the time per call with the launch queue kept full (as the
 * PyTorch yardstick's event timing), not launch + synchronise latency. Inputs are not rotated: operands that fit
 * the 50 MB L2 stay warm across calls, in both this and {@code torch_ops.py}.
 */
final class CudaBenchSupport {
    /** Kernel calls per JMH invocation (the benchmarks' {@code @OperationsPerInvocation}). */
    static final int CALLS = 20;

    private CudaBenchSupport() {
    }

    /** Opens device 0, or throws with a clear message naming the benchmark when there is no usable GPU. */
    static CudaDevice open(String bench) {
        if (!CudaProbe.available()) {
            throw new IllegalStateException(bench + " needs a CUDA GPU and skips here: " + CudaProbe.summary());
        }
        return CudaDevice.open(0, false);
    }

    /** The dtype named by a benchmark parameter ({@code FLOAT16}, {@code BFLOAT16} or {@code FLOAT32}). */
    static DType dtype(String name) {
        DType dt = DType.valueOf(name);
        if (dt != DType.FLOAT32 && dt != DType.FLOAT16 && dt != DType.BFLOAT16) {
            throw new IllegalArgumentException("dtype " + name + " is not a floating storage type of the kernels");
        }
        return dt;
    }

    /** A device buffer of {@code count} seeded N(0,1)·scale values in {@code dtype}. */
    static DeviceBuffer normal(CudaDevice dev, DType dtype, long seed, long count, double scale) {
        if (count > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("benchmark input of " + count + " elements is too large");
        }
        int n = (int) count;
        float[] x = HostRandom.normal(seed, n);
        ByteBuffer bb = ByteBuffer.allocateDirect(Math.max(1, n * dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : x) {
            float v = (float) (f * scale);
            switch (dtype) {
                case FLOAT32 -> bb.putFloat(v);
                case FLOAT16 -> bb.putShort(HalfFloats.floatToFp16(v));
                default -> bb.putShort(HalfFloats.floatToBf16(v));
            }
        }
        bb.flip();
        DeviceBuffer buf = dev.allocate(Math.max(1, count * dtype.byteSize()));
        dev.upload(bb, buf.pointer());
        return buf;
    }

    /** An uninitialised device buffer of {@code count} elements of {@code bytesPerElement} bytes. */
    static DeviceBuffer empty(CudaDevice dev, long count, int bytesPerElement) {
        return dev.allocate(Math.max(1, count * bytesPerElement));
    }

    /** Closes what is not null, then the device. */
    static void close(CudaDevice dev, AutoCloseable... xs) {
        for (AutoCloseable x : xs) {
            if (x != null) {
                try {
                    x.close();
                } catch (Exception e) {
                    throw new IllegalStateException("close failed: " + x, e);
                }
            }
        }
        if (dev != null) {
            dev.close();
        }
    }
}
