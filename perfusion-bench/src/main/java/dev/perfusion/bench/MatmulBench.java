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
 * C = A·B at SD v1.5 sizes (see {@link BenchShapes#matmul}). Each call allocates its output, as the
 * {@link Backend#matmul} contract does, and frees it (tensors) or leaves it to the GC (plain arrays).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "-Dorg.bytedeco.javacpp.maxphysicalbytes=12g"})
public class MatmulBench {

    /** {@code nd4j}, {@code reference} or {@code plain} (see {@link PlainJava}). */
    @Param({"nd4j", "plain", "reference"})
    public String backend;

    /** A name from {@link BenchShapes#matmul}. */
    @Param({"m4096_k320_n320", "m4096_k1280_n5120", BenchShapes.SCALED})
    public String shape;

    private Backend be;
    private Tensor a;
    private Tensor b;
    private float[] aArr;
    private float[] bArr;
    private BenchShapes.Matmul s;

    /** Builds seeded inputs on the selected backend. */
    @Setup(Level.Trial)
    public void setup() {
        s = BenchShapes.matmul(shape);
        aArr = BenchSupport.normal(1, s.m() * s.k(), 1.0);
        bArr = BenchSupport.normal(2, s.k() * s.n(), 1.0 / Math.sqrt(s.k()));
        be = BenchSupport.backend(backend);
        if (be != null) {
            a = BenchSupport.tensor(be, aArr, s.m(), s.k());
            b = BenchSupport.tensor(be, bArr, s.k(), s.n());
        }
    }

    /** One product, output consumed then freed. */
    @Benchmark
    public void matmul(Blackhole bh) {
        if (be == null) {
            bh.consume(PlainJava.matmul(aArr, bArr, s.m(), s.k(), s.n()));
        } else {
            Tensor c = be.matmul(a, b, false, false);
            bh.consume(c);
            c.close();
        }
    }

    /** Frees the inputs and the backend. */
    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSupport.close(a, b, be);
    }
}
