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

/** The UNet's 3×3, 320→320 convolution with bias at 64×64 latents (see {@link BenchShapes#conv}). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "-Dorg.bytedeco.javacpp.maxphysicalbytes=12g"})
public class Conv2dBench {

    /** {@code nd4j}, {@code reference} or {@code plain} (see {@link PlainJava}). */
    @Param({"nd4j", "plain", "reference"})
    public String backend;

    /** A name from {@link BenchShapes#conv}. */
    @Param({"sd15", BenchShapes.SCALED})
    public String shape;

    private Backend be;
    private Tensor x;
    private Tensor w;
    private Tensor bias;
    private float[] xArr;
    private float[] wArr;
    private float[] biasArr;
    private BenchShapes.Conv s;

    /** Builds seeded inputs on the selected backend (weights OIHW, PyTorch layout). */
    @Setup(Level.Trial)
    public void setup() {
        s = BenchShapes.conv(shape);
        xArr = BenchSupport.normal(3, s.n() * s.c() * s.h() * s.w(), 1.0);
        wArr = BenchSupport.normal(4, s.o() * s.c() * s.k() * s.k(), 1.0 / Math.sqrt(s.c() * s.k() * s.k()));
        biasArr = BenchSupport.normal(5, s.o(), 0.1);
        be = BenchSupport.backend(backend);
        if (be != null) {
            x = BenchSupport.tensor(be, xArr, s.n(), s.c(), s.h(), s.w());
            w = BenchSupport.tensor(be, wArr, s.o(), s.c(), s.k(), s.k());
            bias = BenchSupport.tensor(be, biasArr, s.o());
        }
    }

    /** One convolution, output consumed then freed. */
    @Benchmark
    public void conv2d(Blackhole bh) {
        if (be == null) {
            bh.consume(PlainJava.conv2d(xArr, wArr, biasArr, s.n(), s.c(), s.h(), s.w(), s.o(), s.k(), s.k(),
                    s.stride(), s.padding()));
        } else {
            Tensor y = be.conv2d(x, w, bias, s.stride(), s.padding());
            bh.consume(y);
            y.close();
        }
    }

    /** Frees the inputs and the backend. */
    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSupport.close(x, w, bias, be);
    }
}
