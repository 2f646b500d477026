package dev.perfusion.bench;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The UNet's self-attention at 64×64 latents: q, k, v [1, 8, 4096, 40], no mask, scale 1/√40
 * (see {@link BenchShapes#attention}). The 8×4096×4096 score tensor (512 MiB in float) is what makes it costly.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "-Dorg.bytedeco.javacpp.maxphysicalbytes=12g"})
public class AttentionBench {

    /** {@code nd4j}, {@code reference} or {@code plain} (see {@link PlainJava}). */
    @Param({"nd4j", "plain", "reference"})
    public String backend;

    /** A name from {@link BenchShapes#attention}. */
    @Param({"sd15", BenchShapes.SCALED, "toy"})
    public String shape;

    private Backend be;
    private Tensor q;
    private Tensor k;
    private Tensor v;
    private float[] qArr;
    private float[] kArr;
    private float[] vArr;
    private BenchShapes.Attention s;

    /** Builds seeded q, k, v on the selected backend. */
    @Setup(Level.Trial)
    public void setup() {
        s = BenchShapes.attention(shape);
        int n = s.b() * s.heads() * s.tokens() * s.headDim();
        qArr = BenchSupport.normal(6, n, 1.0);
        kArr = BenchSupport.normal(7, n, 1.0);
        vArr = BenchSupport.normal(8, n, 1.0);
        be = BenchSupport.backend(backend);
        if (be != null) {
            int[] dims = {s.b(), s.heads(), s.tokens(), s.headDim()};
            q = BenchSupport.tensor(be, qArr, dims);
            k = BenchSupport.tensor(be, kArr, dims);
            v = BenchSupport.tensor(be, vArr, dims);
        }
    }

    /** One attention call, output consumed then freed. */
    @Benchmark
    public void attention(Blackhole bh) {
        if (be == null) {
            bh.consume(PlainJava.attention(qArr, kArr, vArr, s.b() * s.heads(), s.tokens(), s.tokens(), s.headDim(),
                    s.scale()));
        } else {
            Tensor y = be.attention(q, k, v, null, false, s.scale());
            bh.consume(y);
            y.close();
        }
    }

    /** Frees the inputs and the backend. */
    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSupport.close(q, k, v, be);
    }
}
