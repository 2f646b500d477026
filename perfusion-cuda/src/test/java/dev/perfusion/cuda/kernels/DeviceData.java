package dev.perfusion.cuda.kernels;

import dev.perfusion.cuda.CudaProbe;
import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.HostRandom;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Test helpers for the kernel tests: host arrays to and from device buffers in a storage type (fp16 / bf16 rounded
 * to nearest even, as the device stores them), seeded inputs, and the reason string of a skipped GPU test.
 */
final class DeviceData {
    private DeviceData() {
    }

    /** Why a {@code cuda} test is skipped here. */
    static String noGpu() {
        return "no usable GPU: " + CudaProbe.summary();
    }

    /** A device buffer holding {@code data} in {@code dtype} (at least one byte, so that the pointer is valid). */
    static DeviceBuffer upload(CudaDevice dev, DType dtype, float[] data) {
        DeviceBuffer buf = dev.allocate(Math.max(1, (long) data.length * dtype.byteSize()));
        if (data.length > 0) {
            ByteBuffer bb = ByteBuffer.allocateDirect(data.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : data) {
                switch (dtype) {
                    case FLOAT32 -> bb.putFloat(f);
                    case FLOAT16 -> bb.putShort(HalfFloats.floatToFp16(f));
                    case BFLOAT16 -> bb.putShort(HalfFloats.floatToBf16(f));
                    default -> throw new IllegalArgumentException("dtype " + dtype);
                }
            }
            bb.flip();
            dev.upload(bb, buf.pointer());
        }
        return buf;
    }

    /** A device buffer of {@code count} elements of {@code dtype} filled with a NaN pattern (0xFF bytes). */
    static DeviceBuffer poisoned(CudaDevice dev, DType dtype, long count) {
        long bytes = Math.max(1, count * dtype.byteSize());
        DeviceBuffer buf = dev.allocate(bytes);
        ByteBuffer bb = ByteBuffer.allocateDirect((int) bytes);
        for (int i = 0; i < bytes; i++) {
            bb.put((byte) 0xFF); // all-ones: NaN in f32, f16 and bf16, so an element the kernel forgot shows up
        }
        bb.flip();
        dev.upload(bb, buf.pointer());
        return buf;
    }

    /** The first {@code count} elements of {@code buf} ({@code dtype}) widened to float (after the stream is idle). */
    static float[] download(CudaDevice dev, DType dtype, DeviceBuffer buf, int count) {
        float[] out = new float[count];
        if (count == 0) {
            return out;
        }
        ByteBuffer bb = ByteBuffer.allocateDirect(count * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        dev.synchronize();
        dev.download(buf.pointer(), bb);
        for (int i = 0; i < count; i++) {
            out[i] = switch (dtype) {
                case FLOAT32 -> bb.getFloat(i * 4);
                case FLOAT16 -> HalfFloats.fp16ToFloat(bb.getShort(i * 2));
                case BFLOAT16 -> HalfFloats.bf16ToFloat(bb.getShort(i * 2));
                default -> throw new IllegalArgumentException("dtype " + dtype);
            };
        }
        return out;
    }

    /** {@code n} seeded normal values times {@code scale}, rounded to {@code dtype} (what the device will hold). */
    static float[] normal(long seed, int n, double scale, DType dtype) {
        float[] x = HostRandom.normal(seed, n);
        for (int i = 0; i < n; i++) {
            x[i] = HalfFloats.round((float) (x[i] * scale), dtype);
        }
        return x;
    }

    /** {@code count} distinct-ish seeded indices in [0, bound), always including 0 and bound − 1. */
    static int[] sample(long seed, int bound, int count) {
        if (bound <= count) {
            int[] all = new int[bound];
            for (int i = 0; i < bound; i++) {
                all[i] = i;
            }
            return all;
        }
        SplittableRandom r = new SplittableRandom(seed);
        int[] out = new int[count];
        out[0] = 0;
        out[1] = bound - 1;
        for (int i = 2; i < count; i++) {
            out[i] = r.nextInt(bound);
        }
        return out;
    }

    /** max |x|, at least {@code floor}. */
    static double maxAbs(float[] x, double floor) {
        double m = floor;
        for (float v : x) {
            if (Float.isFinite(v)) {
                m = Math.max(m, Math.abs(v));
            }
        }
        return m;
    }

    /** A name for assertion messages. */
    static String label(String op, DType dtype, Object... sizes) {
        StringBuilder sb = new StringBuilder(op).append(' ').append(dtype);
        for (Object s : sizes) {
            sb.append(' ').append(s);
        }
        return sb.toString();
    }
}
