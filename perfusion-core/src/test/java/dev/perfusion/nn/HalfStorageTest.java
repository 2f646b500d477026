package dev.perfusion.nn;

import static dev.perfusion.nn.NnTesting.normal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.io.ComponentFiles;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.nn.NnTesting.BlockCase;
import dev.perfusion.nn.NnTesting.Gradients;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Half-precision weight storage ({@link WeightStorage#AS_STORED}) with FLOAT32 compute: every block, stored as
 * FLOAT16 or BFLOAT16, against its FLOAT32 twin that loaded the same rounded values widened. The twin computes with
 * exactly the values the half block widens per forward, so the outputs and input gradients agree to float32's
 * tolerance (they are in fact bitwise equal on both backends); what half storage changes is memory, which
 * {@link Module#storageBytes()} reports.
 */
@Tag("unit")
class HalfStorageTest {
    private static Backend reference;
    private static Backend nd4j;

    @BeforeAll
    static void backends() {
        reference = new ReferenceBackend();
        nd4j = new Nd4jBackend();
    }

    @AfterAll
    static void release() {
        nd4j.close();
        reference.close();
    }

    private static Backend backend(String name) {
        return "reference".equals(name) ? reference : nd4j;
    }

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String be : List.of("reference", "nd4j")) {
            for (DType dtype : List.of(DType.FLOAT16, DType.BFLOAT16)) {
                for (BlockCase c : NnTesting.cases()) {
                    out.add(Arguments.of(c, dtype, be));
                }
            }
        }
        return out;
    }

    /** Every parameter of {@code m} rounded to {@code dtype}: fresh tensors on {@code m}'s backend. */
    private static Map<String, Tensor> halfState(Module m, DType dtype) {
        Map<String, Tensor> state = new LinkedHashMap<>();
        m.stateDict().forEach((k, t) -> state.put(k, m.backend().cast(t, dtype)));
        return state;
    }

    /** The values of {@code state} widened to FLOAT32: fresh tensors, for the twin. */
    private static Map<String, Tensor> widened(Map<String, Tensor> state) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        state.forEach((k, t) -> out.put(k, t.backend().cast(t, DType.FLOAT32)));
        return out;
    }

    @ParameterizedTest(name = "{0}, {1}, {2}")
    @MethodSource("cases")
    void halfBlockMatchesItsFloat32Twin(BlockCase c, DType dtype, String backendName) throws Exception {
        Backend be = backend(backendName);
        try (TensorScope scope = TensorScope.open(); Module half = c.module(be); Module twin = c.module(be)) {
            Map<String, Tensor> state = halfState(half, dtype);
            Map<String, Tensor> given = new LinkedHashMap<>(state);
            twin.loadStateDict(widened(state), true); // the FLOAT32 twin of the same rounded values
            half.loadStateDict(state, true, WeightStorage.AS_STORED);

            for (Map.Entry<String, Parameter> e : half.namedParameters().entrySet()) {
                Parameter p = e.getValue();
                assertEquals(dtype, p.dtype(), e.getKey());
                assertTrue(p.isHalf(), e.getKey());
                assertSame(given.get(e.getKey()), p.value(), e.getKey() + ": AS_STORED keeps the given tensor, no copy");
                assertEquals(DType.FLOAT32, twin.namedParameters().get(e.getKey()).dtype(), e.getKey());
            }
            assertEquals(twin.storageBytes(), 2 * half.storageBytes(), "half storage halves the parameter bytes");
            assertEquals(half.parameters().isEmpty() ? Map.of() : Map.of(dtype, half.storageBytes()),
                    half.storageBytesByDType());

            Tensor[] x = c.inputs().apply(be);
            try (AutoCloseable ng = Autograd.noGrad()) {
                Tensor expected;
                int twinLeft;
                try (TensorScope s = TensorScope.open()) {
                    expected = s.keep(c.run(twin, x));
                    twinLeft = s.size();
                }
                try (TensorScope s = TensorScope.open()) {
                    Tensor actual = c.run(half, x);
                    Tolerance.FLOAT32.assertClose(c + " " + dtype + " on " + backendName + " forward", expected, actual);
                    // the widened weights were released by the block, not left to the scope
                    assertEquals(twinLeft + 1, s.size(), c + ": tensors left in the scope after one forward");
                }
            }

            // frozen half block: gradients reach the input through the widened copies, none reach the weights
            Gradients gTwin = NnTesting.gradients(twin, x, c, false);
            Gradients gHalf = NnTesting.gradients(half, x, c, false);
            for (int i = 0; i < gTwin.inputs().size(); i++) {
                assertNotNull(gHalf.inputs().get(i), c + ": a frozen half block passes a gradient to input " + i);
                Tolerance.FLOAT32.assertClose(c + " " + dtype + " input " + i + " gradient",
                        Shape.of(gTwin.inputs().get(i).length), gTwin.inputs().get(i), gHalf.inputs().get(i));
            }
            gHalf.parameters().forEach((k, g) -> assertNull(g, c + ": frozen parameter " + k + " got a gradient"));
            for (Parameter p : half.parameters()) {
                assertEquals(dtype, p.dtype(), "a frozen parameter stays half precision through backward");
            }
        }
    }

    @ParameterizedTest(name = "{0}, {1}, {2}")
    @MethodSource("cases")
    void requiresGradWidensAndTrainsLikeTheTwin(BlockCase c, DType dtype, String backendName) {
        Backend be = backend(backendName);
        try (TensorScope scope = TensorScope.open(); Module half = c.module(be); Module twin = c.module(be)) {
            Map<String, Tensor> state = halfState(half, dtype);
            twin.loadStateDict(widened(state), true, WeightStorage.FLOAT32);
            half.loadStateDict(state, true, WeightStorage.AS_STORED);
            long halfBytes = half.storageBytes();

            half.requiresGrad(true);
            for (Map.Entry<String, Parameter> e : half.namedParameters().entrySet()) {
                assertEquals(DType.FLOAT32, e.getValue().dtype(), e.getKey() + ": trainable parameters are FLOAT32");
                assertTrue(state.get(e.getKey()).isClosed(), e.getKey() + ": the replaced half tensor is closed");
                Tolerance.EXACT.assertClose(e.getKey(), twin.namedParameters().get(e.getKey()).value(),
                        e.getValue().value());
            }
            assertEquals(2 * halfBytes, half.storageBytes());

            Tensor[] x = c.inputs().apply(be);
            Gradients gTwin = NnTesting.gradients(twin, x, c, true);
            Gradients gHalf = NnTesting.gradients(half, x, c, true);
            gTwin.parameters().forEach((k, g) -> {
                if (g == null) {
                    assertNull(gHalf.parameters().get(k), k);
                } else {
                    Tolerance.FLOAT32.assertClose(c + " d/d " + k, Shape.of(g.length), g, gHalf.parameters().get(k));
                }
            });
        }
    }

    @Test
    void loadingIntoATrainableParameterWidensEvenAsStored() {
        Backend be = reference;
        try (TensorScope scope = TensorScope.open(); Linear l = new Linear(be, 5, 4, true)) {
            l.initialize(3);
            l.weight().requiresGrad(true);
            Map<String, Tensor> state = halfState(l, DType.FLOAT16);
            Tensor givenBias = state.get("bias");
            l.loadStateDict(state, true, WeightStorage.AS_STORED);
            assertEquals(DType.FLOAT32, l.weight().dtype(), "trainable: widened");
            assertTrue(l.weight().value().requiresGrad());
            assertEquals(DType.FLOAT16, l.bias().dtype(), "frozen: kept");
            assertSame(givenBias, l.bias().value());
        }
    }

    @Test
    void oneHalfTensorUnderTwoKeysIsKeptForTheFrozenOneAndWidenedForTheTrainableOne() {
        Backend be = nd4j;
        try (TensorScope scope = TensorScope.open(); LayerNorm ln = new LayerNorm(be, 6, 1e-5f, true)) {
            ln.weight().requiresGrad(true);
            Tensor shared = be.cast(normal(be, 1, 1f, 6), DType.BFLOAT16);
            Map<String, Tensor> state = new LinkedHashMap<>();
            state.put("weight", shared);
            state.put("bias", shared);
            ln.loadStateDict(state, true, WeightStorage.AS_STORED);
            assertEquals(DType.FLOAT32, ln.weight().dtype());
            assertSame(shared, ln.bias().value());
            assertFalse(shared.isClosed(), "the tensor the frozen bias keeps must not be closed");
            Tolerance.EXACT.assertClose("weight", ln.bias().compute(), ln.weight().value());
        }
    }

    @Test
    void setOnATrainableParameterWidensAHalfValue() {
        try (TensorScope scope = TensorScope.open()) {
            Parameter p = Parameter.zeros(reference, Shape.of(3)).requiresGrad(true);
            Tensor h = reference.cast(reference.fromArray(new float[] {1.5f, -2f, 0.1f}, Shape.of(3)), DType.FLOAT16);
            p.set(h);
            assertEquals(DType.FLOAT32, p.dtype());
            assertTrue(h.isClosed());
            assertTrue(p.value().requiresGrad());
            Parameter frozen = Parameter.zeros(reference, Shape.of(3));
            Tensor h2 = reference.cast(reference.fromArray(new float[] {1.5f, -2f, 0.1f}, Shape.of(3)), DType.FLOAT16);
            frozen.set(h2);
            assertSame(h2, frozen.value());
            assertEquals(6, frozen.storageBytes());
            assertEquals(12, p.storageBytes());
            Tensor w32 = frozen.compute();
            assertEquals(DType.FLOAT32, w32.dtype());
            assertSame(w32, Parameter.temporary(frozen, w32), "a widened copy is the caller's to release");
            assertSame(p.value(), p.compute(), "a FLOAT32 value is used as is");
            assertNull(Parameter.temporary(p, p.compute()), "the parameter's own value is never released by a block");
            assertNull(Parameter.compute(null));
            p.close();
            frozen.close();
        }
    }

    @Test
    void onlyTheTrainableProjectionWidensInAMostlyFrozenHalfBlock() {
        // Perfusion's case: a frozen half-precision UNet with a few trainable FLOAT32 tensors
        Backend be = nd4j;
        BlockCase c = NnTesting.cases().stream().filter(k -> k.name().equals("Attention cross")).findFirst().orElseThrow();
        try (TensorScope scope = TensorScope.open(); Attention half = (Attention) c.module(be);
             Attention twin = (Attention) c.module(be)) {
            Map<String, Tensor> state = halfState(half, DType.FLOAT16);
            twin.loadStateDict(widened(state), true);
            half.loadStateDict(state, true, WeightStorage.AS_STORED);
            half.toV().requiresGrad(true);
            twin.toV().requiresGrad(true);
            assertEquals(DType.FLOAT32, half.toV().weight().dtype());
            assertEquals(DType.FLOAT16, half.toK().weight().dtype());
            Tensor[] x = c.inputs().apply(be);
            Map<String, float[]> gHalf = vGradients(half, x);
            Map<String, float[]> gTwin = vGradients(twin, x);
            assertNotNull(gTwin.get("to_v.weight"));
            assertNull(gHalf.get("to_k.weight"));
            Tolerance.FLOAT32.assertClose("to_v.weight gradient", Shape.of(gTwin.get("to_v.weight").length),
                    gTwin.get("to_v.weight"), gHalf.get("to_v.weight"));
        }
    }

    private static Map<String, float[]> vGradients(Attention a, Tensor[] x) {
        try (TensorScope s = TensorScope.open()) {
            Tensor y = a.forward(x[0], x[1], null);
            Tensor w = a.backend().randn(y.shape(), 5);
            Ops.sum(Ops.mul(y, w), new int[0], false).backward();
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        a.namedParameters().forEach((k, p) -> out.put(k, p.grad() == null ? null : p.grad().toFloatArray()));
        return out;
    }

    @Test
    void asStoredCopiesATensorFromAnotherBackendInItsDType() {
        try (TensorScope scope = TensorScope.open(); Linear onNd4j = new Linear(nd4j, 5, 4, false);
             Linear onRef = new Linear(reference, 5, 4, false)) {
            onRef.initialize(9);
            Map<String, Tensor> state = halfState(onRef, DType.BFLOAT16);
            Tensor given = state.get("weight");
            float[] values = given.toFloatArray();
            onNd4j.loadStateDict(state, true, WeightStorage.AS_STORED);
            assertEquals(DType.BFLOAT16, onNd4j.weight().dtype());
            assertSame(nd4j, onNd4j.weight().value().backend());
            assertTrue(given.isClosed(), "the tensor from the other backend was copied and closed");
            Tolerance.EXACT.assertClose("weight", Shape.of(4, 5), values, onNd4j.weight().value().toFloatArray());
        }
    }

    @Test
    void float32ValuesLoadAsIsUnderEitherStorage() {
        try (TensorScope scope = TensorScope.open(); Linear l = new Linear(nd4j, 5, 4, true)) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            state.put("weight", normal(nd4j, 1, 1f, 4, 5));
            state.put("bias", normal(nd4j, 2, 1f, 4));
            l.loadStateDict(new LinkedHashMap<>(state), true, WeightStorage.AS_STORED);
            assertSame(state.get("weight"), l.weight().value());
            assertEquals(Map.of(DType.FLOAT32, 4L * (20 + 4)), l.storageBytesByDType());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backendNames")
    void halfEmbeddingGathersOnlyTheRowsItNeeds(String backendName) {
        Backend be = backend(backendName);
        try (TensorScope scope = TensorScope.open(); Embedding half = new Embedding(be, 64, 5);
             Embedding twin = new Embedding(be, 64, 5)) {
            half.initialize(4);
            Map<String, Tensor> state = halfState(half, DType.FLOAT16);
            twin.loadStateDict(widened(state), true);
            half.loadStateDict(state, true, WeightStorage.AS_STORED);
            // few distinct ids (the row-run path), with repeats, runs of neighbours, both ends of the table
            long[] ids = {3, 4, 5, 10, 3, 40, 63, 0, 63, 4};
            for (Tensor idt : List.of(be.fromArray(ids, Shape.of(2, 5)), be.cast(be.fromArray(ids, Shape.of(10)),
                    DType.INT32))) {
                try (AutoCloseable ng = Autograd.noGrad()) {
                    Tolerance.EXACT.assertClose("embedding " + idt.dtype(), twin.forward(idt), half.forward(idt));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> half.forward(be.fromArray(new long[] {2, 64}, Shape.of(2))));
            assertTrue(e.getMessage().contains("64") && e.getMessage().contains("Embedding"), e.getMessage());
        }
    }

    static List<String> backendNames() {
        return List.of("reference", "nd4j");
    }

    @Test
    void componentFilesLoadsAnFp16FileAsStored(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("diffusion_pytorch_model.fp16.safetensors");
        BlockCase c = NnTesting.cases().stream().filter(k -> k.name().equals("FeedForward")).findFirst().orElseThrow();
        try (TensorScope scope = TensorScope.open(); Module source = c.module(nd4j)) {
            SafeTensors.write(file, halfState(source, DType.FLOAT16), Map.of());
        }
        try (TensorScope scope = TensorScope.open(); Module half = c.build().apply(nd4j);
             Module twin = c.build().apply(nd4j)) {
            ComponentFiles.loadStrict(half, file, nd4j, List.of(), WeightStorage.AS_STORED);
            ComponentFiles.loadStrict(twin, file, nd4j, List.of());
            assertEquals(Map.of(DType.FLOAT16, twin.storageBytes() / 2), half.storageBytesByDType());
            assertEquals(Map.of(DType.FLOAT32, twin.storageBytes()), twin.storageBytesByDType());
            Tensor[] x = c.inputs().apply(nd4j);
            try (AutoCloseable ng = Autograd.noGrad()) {
                Tolerance.FLOAT32.assertClose("FeedForward from an fp16 file", c.run(twin, x), c.run(half, x));
            }
        }
    }
}
