package dev.perfusion.bench.cuda;

import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.cuda.kernels.Convolution;
import dev.perfusion.tensor.DType;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Our convolution ({@link Convolution}, im2col + GEMM) at the UNet's 3×3 padding-1 shapes, batch 2, NCHW:
 * {@code forward} (with bias), {@code forwardDgrad} (forward + input gradient, the frozen-weight training step as
 * in the PyTorch yardstick) and {@code backwardWeight}. Without a GPU the trial fails in setup.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class CudaConvBench {

    /** conv2d(x [n, c, hw, hw], w [o, c, 3, 3]), padding 1. */
    public record Shape(int n, int c, int o, int hw, int stride) {
        /** Output side: (hw + 2 − 3)/stride + 1. */
        public int out() {
            return (hw + 2 - 3) / stride + 1;
        }

        /** One forward (or one input gradient, or one weight gradient): 2·N·O·H′·W′·C·9. */
        public long flops() {
            return 2L * n * o * out() * out() * c * 9;
        }

        /** e.g. {@code 2×320→320 64×64 s1}. */
        public String label() {
            return String.format(Locale.ROOT, "%d×%d→%d %d×%d s%d", n, c, o, hw, hw, stride);
        }
    }

    /** The shape behind a {@code layer} value (the yardstick's conv names). */
    public static Shape shape(String layer) {
        return switch (layer) {
            case "conv_in" -> new Shape(2, 4, 320, 64, 1);
            case "res_L0" -> new Shape(2, 320, 320, 64, 1);
            case "down_L0_s2" -> new Shape(2, 320, 320, 64, 2);
            case "res_L1" -> new Shape(2, 640, 640, 32, 1);
            case "res_L2" -> new Shape(2, 1280, 1280, 16, 1);
            case "res_L3" -> new Shape(2, 1280, 1280, 8, 1);
            default -> throw new IllegalArgumentException("unknown CudaConvBench layer '" + layer + "'");
        };
    }

    /** FLOPs of the {@code forward} (and of the {@code backwardWeight}) benchmark for a layer. */
    public static long forwardFlops(String layer) {
        return shape(layer).flops();
    }

    /** FLOPs of the {@code forwardDgrad} benchmark: forward + input gradient = 2 × forward. */
    public static long forwardDgradFlops(String layer) {
        return 2 * shape(layer).flops();
    }

    /** Storage type (fp32 accumulation in all). */
    @Param({"FLOAT16", "FLOAT32"})
    public String dtype;

    /** A name from {@link #shape}. */
    @Param({"conv_in", "res_L0", "down_L0_s2", "res_L1", "res_L2", "res_L3"})
    public String layer;

    private CudaDevice dev;
    private DType dt;
    private Shape s;
    private DeviceBuffer x;
    private DeviceBuffer w;
    private DeviceBuffer bias;
    private DeviceBuffer y;
    private DeviceBuffer dy;
    private DeviceBuffer dx;
    private DeviceBuffer dw;

    /** Opens the device and uploads seeded operands. */
    @Setup(Level.Trial)
    public void setup() {
        s = shape(layer);
        dt = CudaBenchSupport.dtype(dtype);
        dev = CudaBenchSupport.open("CudaConvBench");
        long xs = (long) s.n() * s.c() * s.hw() * s.hw();
        long ys = (long) s.n() * s.o() * s.out() * s.out();
        long ws = (long) s.o() * s.c() * 9;
        x = CudaBenchSupport.normal(dev, dt, 3, xs, 1.0);
        w = CudaBenchSupport.normal(dev, dt, 4, ws, 1.0 / Math.sqrt(9.0 * s.c()));
        bias = CudaBenchSupport.normal(dev, dt, 5, s.o(), 0.1);
        dy = CudaBenchSupport.normal(dev, dt, 6, ys, 1.0);
        y = CudaBenchSupport.empty(dev, ys, dt.byteSize());
        dx = CudaBenchSupport.empty(dev, xs, dt.byteSize());
        dw = CudaBenchSupport.empty(dev, ws, dt.byteSize());
        dev.synchronize();
    }

    private void forwardOnce() {
        Convolution.forward(dev, dt, x.pointer(), w.pointer(), bias.pointer(), y.pointer(), s.n(), s.c(), s.hw(),
                s.hw(), s.o(), 3, 3, s.stride(), 1);
    }

    /** {@link CudaBenchSupport#CALLS} forwards, then a stream synchronisation. */
    @Benchmark
    @OperationsPerInvocation(CudaBenchSupport.CALLS)
    public void forward() {
        for (int i = 0; i < CudaBenchSupport.CALLS; i++) {
            forwardOnce();
        }
        dev.synchronize();
    }

    /** {@link CudaBenchSupport#CALLS} × (forward + input gradient). */
    @Benchmark
    @OperationsPerInvocation(CudaBenchSupport.CALLS)
    public void forwardDgrad() {
        for (int i = 0; i < CudaBenchSupport.CALLS; i++) {
            forwardOnce();
            Convolution.backwardInput(dev, dt, dy.pointer(), w.pointer(), dx.pointer(), s.n(), s.c(), s.hw(), s.hw(),
                    s.o(), 3, 3, s.stride(), 1);
        }
        dev.synchronize();
    }

    /** {@link CudaBenchSupport#CALLS} weight gradients. */
    @Benchmark
    @OperationsPerInvocation(CudaBenchSupport.CALLS)
    public void backwardWeight() {
        for (int i = 0; i < CudaBenchSupport.CALLS; i++) {
            Convolution.backwardWeight(dev, dt, dy.pointer(), x.pointer(), dw.pointer(), s.n(), s.c(), s.hw(), s.hw(),
                    s.o(), 3, 3, s.stride(), 1);
        }
        dev.synchronize();
    }

    /** Frees the buffers and the device. */
    @TearDown(Level.Trial)
    public void tearDown() {
        CudaBenchSupport.close(dev, x, w, bias, y, dy, dx, dw);
    }
}
