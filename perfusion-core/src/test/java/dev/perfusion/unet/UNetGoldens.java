package dev.perfusion.unet;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Paths of the UNet goldens (golden/README.md §5) and a runner that compares outputs and intermediates. */
final class UNetGoldens {
    static final Path GOLDEN = Path.of("src/test/resources/golden");
    static final Path SD15_UNET = GOLDEN.resolve("tiny-sd15/unet");
    static final Path TINY_UNET = GOLDEN.resolve("unet-tiny-2level");
    static final Path SD15_CASES = GOLDEN.resolve("cases/unet_sd15_cases.safetensors");
    static final Path TINY_CASES = GOLDEN.resolve("cases/unet_tiny_cases.safetensors");

    /** golden/README.md: models and single steps agree within |a − b| ≤ 1e-4 + 1e-4·|ref|. */
    static final Tolerance MODEL = new Tolerance(1e-4, 1e-4);

    private UNetGoldens() {
    }

    /** One compared tensor: name, max |a − b| and the largest error relative to the tolerance bound. */
    record Result(String name, double maxAbs, double worstRatio) {
    }

    /**
     * Runs one case and asserts {@code out_sample} and every intermediate stored for it within {@link #MODEL}.
     *
     * @return per-tensor errors, for the report printed by the tests
     */
    static List<Result> runCase(UNet2DConditionModel unet, Path casesFile, String caseName, Backend be) {
        List<Result> results = new ArrayList<>();
        try (SafeTensors st = SafeTensors.open(casesFile); TensorScope scope = TensorScope.open();
             AutoCloseable ng = Autograd.noGrad()) {
            String prefix = caseName + ".";
            Tensor sample = st.tensor(prefix + "in_sample", be);
            Tensor t = st.tensor(prefix + "in_timestep", be);
            Tensor ehs = st.tensor(prefix + "in_encoder_hidden_states", be);
            Map<String, float[]> seen = new LinkedHashMap<>();
            Map<String, Shape> shapes = new LinkedHashMap<>();
            Tensor out = unet.forward(sample, t, ehs, ForwardHooks.of((path, value) -> {
                seen.put(path, value.toFloatArray());
                shapes.put(path, value.shape());
            }));
            results.add(compare(caseName + ".out_sample", st, prefix + "out_sample", out.shape(), out.toFloatArray()));
            for (String name : st.names()) {
                if (!name.startsWith(prefix)) {
                    continue;
                }
                String item = name.substring(prefix.length());
                if (item.startsWith("in_") || item.equals("out_sample")) {
                    continue;
                }
                assertTrue(seen.containsKey(item), caseName + ": the model reported no intermediate '" + item + "'");
                results.add(compare(name, st, name, shapes.get(item), seen.get(item)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (Exception e) {
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e);
        }
        return results;
    }

    private static Result compare(String what, SafeTensors st, String name, Shape actualShape, float[] actual) {
        Shape expectedShape = st.info(name).shape();
        if (!expectedShape.equals(actualShape)) {
            throw new AssertionError(what + ": shape " + actualShape + " != expected " + expectedShape);
        }
        float[] expected = readFloats(st, name);
        MODEL.assertClose(what, expectedShape, expected, actual);
        double maxAbs = 0;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            maxAbs = Math.max(maxAbs, d);
            worst = Math.max(worst, d / (MODEL.atol() + MODEL.rtol() * Math.abs(expected[i])));
        }
        return new Result(what, maxAbs, worst);
    }

    private static float[] readFloats(SafeTensors st, String name) {
        java.nio.FloatBuffer fb = st.buffer(name).asFloatBuffer();
        float[] v = new float[fb.remaining()];
        fb.get(v);
        return v;
    }

    /** Prints the errors (surefire keeps them in the test's output file). */
    static void print(String title, List<Result> results) {
        double worstAbs = 0;
        for (Result r : results) {
            worstAbs = Math.max(worstAbs, r.maxAbs());
            System.out.printf("%s: %-80s max|Δ| %.3g  (%.3f of tolerance)%n", title, r.name(), r.maxAbs(), r.worstRatio());
        }
        System.out.printf("%s: %d tensors, largest max|Δ| %.3g%n", title, results.size(), worstAbs);
    }
}
