package dev.perfusion.bench.cuda;

import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.cuda.kernels.Gemm;
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
 * Our GEMM kernels ({@link Gemm}) at the SD v1.5 linear-layer shapes: {@code y[M,N] = x[M,K]·W[N,K]ᵀ} as
 * {@code nn.Linear} computes it (transB), M = tokens at batch 2. The same shapes as the PyTorch yardstick's
 * matmul section ({@code F.linear}); time per product. Without a GPU the trial fails in setup with the reason.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class CudaGemmBench {

    /** A product y[M,N] = x[M,K]·W[N,K]ᵀ. */
    public record Shape(int m, int k, int n) {
        /** 2·M·N·K. */
        public long flops() {
            return 2L * m * n * k;
        }

        /** e.g. {@code 8192×320 · (320×320)ᵀ}. */
        public String label() {
            return String.format(Locale.ROOT, "%d×%d · (%d×%d)ᵀ", m, k, n, k);
        }
    }

    /** The shape behind a {@code layer} parameter value. */
    public static Shape shape(String layer) {
        return switch (layer) {
            case "attn_proj_L0" -> new Shape(8192, 320, 320);
            case "geglu_in_L0" -> new Shape(8192, 320, 2560);
            case "ff_out_L0" -> new Shape(8192, 1280, 320);
            case "attn_proj_L1" -> new Shape(2048, 640, 640);
            case "attn_proj_L2" -> new Shape(512, 1280, 1280);
            case "cross_kv_L2" -> new Shape(154, 768, 1280);
            case "m8192_k1280_n5120" -> new Shape(8192, 1280, 5120);
            default -> throw new IllegalArgumentException("unknown CudaGemmBench layer '" + layer + "'");
        };
    }

    /** FLOPs of one product for a {@code layer} parameter value. */
    public static long flops(String layer) {
        return shape(layer).flops();
    }

    /** Storage type: FLOAT16, BFLOAT16 or FLOAT32 (fp32 accumulation in all). */
    @Param({"FLOAT16", "FLOAT32"})
    public String dtype;

    /** A name from {@link #shape}. */
    @Param({"attn_proj_L0", "geglu_in_L0", "ff_out_L0", "attn_proj_L1", "attn_proj_L2", "cross_kv_L2",
            "m8192_k1280_n5120"})
    public String layer;

    private CudaDevice dev;
    private DType dt;
    private Shape s;
    private DeviceBuffer x;
    private DeviceBuffer w;
    private DeviceBuffer y;

    /** Opens the device and uploads seeded operands. */
    @Setup(Level.Trial)
    public void setup() {
        s = shape(layer);
        dt = CudaBenchSupport.dtype(dtype);
        dev = CudaBenchSupport.open("CudaGemmBench");
        x = CudaBenchSupport.normal(dev, dt, 1, (long) s.m() * s.k(), 1.0);
        w = CudaBenchSupport.normal(dev, dt, 2, (long) s.n() * s.k(), 1.0 / Math.sqrt(s.k()));
        y = CudaBenchSupport.empty(dev, (long) s.m() * s.n(), dt.byteSize());
        dev.synchronize();
    }

    /** {@link CudaBenchSupport#CALLS} products, then a stream synchronisation. */
    @Benchmark
    @OperationsPerInvocation(CudaBenchSupport.CALLS)
    public void gemm() {
        for (int i = 0; i < CudaBenchSupport.CALLS; i++) {
            Gemm.matmul(dev, dt, x.pointer(), w.pointer(), y.pointer(), 1, s.m(), s.n(), s.k(), false, true, 0, 0, 0);
        }
        dev.synchronize();
    }

    /** Frees the buffers and the device. */
    @TearDown(Level.Trial)
    public void tearDown() {
        CudaBenchSupport.close(dev, x, w, y);
    }
}
