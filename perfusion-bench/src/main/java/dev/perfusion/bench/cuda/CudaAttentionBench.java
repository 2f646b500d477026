package dev.perfusion.bench.cuda;

import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.cuda.kernels.FlashAttention;
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
 * Our fused attention ({@link FlashAttention}) at the UNet's shapes, batch 2 × 8 heads: self-attention over the
 * tokens of each level (64², 32², 16², 8² with head dims 40, 80, 160, 160) and cross-attention to 77 text tokens,
 * no mask, scale 1/√d. {@code forward} times one forward; {@code forwardBackward} a forward plus the backward
 * (dq, dk, dv), as the PyTorch yardstick's {@code fwd+bwd} mode. Without a GPU the trial fails in setup.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class CudaAttentionBench {
    /** Batch (classifier-free guidance) and heads of SD v1.5. */
    static final int BATCH = 2;
    static final int HEADS = 8;

    /** One attention call: q [B·H, sq, d], k and v [B·H, sk, d]. */
    public record Shape(int bh, int sq, int sk, int d) {
        /** Forward: 4·B·H·sq·sk·d (the two products q·kᵀ and p·v; softmax ignored). */
        public long forwardFlops() {
            return 4L * bh * sq * sk * d;
        }

        /** Forward + backward by FlashAttention's convention: 3.5 × forward (backward = 2.5 × forward). */
        public long forwardBackwardFlops() {
            return forwardFlops() * 7 / 2;
        }

        /** e.g. {@code 16 × q4096 × k77 × d40}. */
        public String label() {
            return String.format(Locale.ROOT, "%d × q%d × k%d × d%d", bh, sq, sk, d);
        }
    }

    /** The shape behind a {@code layer} value: {@code self_q4096_d40} or {@code cross_q4096_d40} (77 keys). */
    public static Shape shape(String layer) {
        String[] parts = layer.split("_");
        if (parts.length != 3 || !parts[1].startsWith("q") || !parts[2].startsWith("d")
                || !(parts[0].equals("self") || parts[0].equals("cross"))) {
            throw new IllegalArgumentException("unknown CudaAttentionBench layer '" + layer
                    + "' (want self_q<tokens>_d<dim> or cross_q<tokens>_d<dim>)");
        }
        int sq = Integer.parseInt(parts[1].substring(1));
        int d = Integer.parseInt(parts[2].substring(1));
        return new Shape(BATCH * HEADS, sq, parts[0].equals("self") ? sq : 77, d);
    }

    /** FLOPs of the {@code forward} benchmark for a layer. */
    public static long forwardFlops(String layer) {
        return shape(layer).forwardFlops();
    }

    /** FLOPs of the {@code forwardBackward} benchmark for a layer. */
    public static long forwardBackwardFlops(String layer) {
        return shape(layer).forwardBackwardFlops();
    }

    /** Storage type (fp32 math in all). */
    @Param({"FLOAT16", "FLOAT32"})
    public String dtype;

    /** A layer name, see {@link #shape}. */
    @Param({"self_q4096_d40", "self_q1024_d80", "self_q256_d160", "self_q64_d160", "cross_q4096_d40",
            "cross_q1024_d80", "cross_q256_d160", "cross_q64_d160"})
    public String layer;

    private CudaDevice dev;
    private DType dt;
    private Shape s;
    private float scale;
    private DeviceBuffer q;
    private DeviceBuffer k;
    private DeviceBuffer v;
    private DeviceBuffer o;
    private DeviceBuffer lse;
    private DeviceBuffer dO;
    private DeviceBuffer dq;
    private DeviceBuffer dk;
    private DeviceBuffer dv;

    /** Opens the device and uploads seeded q, k, v and dO. */
    @Setup(Level.Trial)
    public void setup() {
        s = shape(layer);
        dt = CudaBenchSupport.dtype(dtype);
        scale = (float) (1 / Math.sqrt(s.d()));
        dev = CudaBenchSupport.open("CudaAttentionBench");
        long nq = (long) s.bh() * s.sq() * s.d();
        long nk = (long) s.bh() * s.sk() * s.d();
        q = CudaBenchSupport.normal(dev, dt, 6, nq, 1.0);
        k = CudaBenchSupport.normal(dev, dt, 7, nk, 1.0);
        v = CudaBenchSupport.normal(dev, dt, 8, nk, 1.0);
        dO = CudaBenchSupport.normal(dev, dt, 9, nq, 1.0);
        o = CudaBenchSupport.empty(dev, nq, dt.byteSize());
        lse = CudaBenchSupport.empty(dev, (long) s.bh() * s.sq(), Float.BYTES);
        dq = CudaBenchSupport.empty(dev, nq, dt.byteSize());
        dk = CudaBenchSupport.empty(dev, nk, dt.byteSize());
        dv = CudaBenchSupport.empty(dev, nk, dt.byteSize());
        dev.synchronize();
    }

    private void forwardOnce() {
        FlashAttention.forward(dev, dt, q.pointer(), k.pointer(), v.pointer(), null, o.pointer(), lse.pointer(),
                s.bh(), s.sq(), s.sk(), s.d(), s.d(), false, scale);
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

    /** {@link CudaBenchSupport#CALLS} × (forward + backward), then a stream synchronisation. */
    @Benchmark
    @OperationsPerInvocation(CudaBenchSupport.CALLS)
    public void forwardBackward() {
        for (int i = 0; i < CudaBenchSupport.CALLS; i++) {
            forwardOnce();
            FlashAttention.backward(dev, dt, q.pointer(), k.pointer(), v.pointer(), null, o.pointer(), lse.pointer(),
                    dO.pointer(), dq.pointer(), dk.pointer(), dv.pointer(), s.bh(), s.sq(), s.sk(), s.d(), s.d(),
                    false, scale);
        }
        dev.synchronize();
    }

    /** Frees the buffers and the device. */
    @TearDown(Level.Trial)
    public void tearDown() {
        CudaBenchSupport.close(dev, q, k, v, o, lse, dO, dq, dk, dv);
    }
}
