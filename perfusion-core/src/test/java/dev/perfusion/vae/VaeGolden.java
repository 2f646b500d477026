package dev.perfusion.vae;

import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/** Paths of the VAE goldens (README §6), case-tensor reading, and the comparison every golden test uses. */
final class VaeGolden {
    /** surefire runs in the perfusion-core module folder. */
    static final Path VAE_DIR = Path.of("src/test/resources/golden/tiny-sd15/vae");
    static final Path CASES = Path.of("src/test/resources/golden/cases/vae_cases.safetensors");
    /** README §11: models |a − b| ≤ 1e-4 + 1e-4·|ref|. */
    static final Tolerance TOL = new Tolerance(1e-4, 1e-4);

    private VaeGolden() {
    }

    /** The case tensor {@code name} on {@code be} (caller closes it, or its scope does). */
    static Tensor read(Backend be, String name) {
        try (SafeTensors st = SafeTensors.open(CASES)) {
            return st.tensor(name, be);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A snapshot of one probed intermediate. */
    record Snap(Shape shape, float[] values) {
    }

    /** A probe that copies every tensor it sees (values are read at once: inference frees them afterwards). */
    static BiConsumer<String, Tensor> recorder(Map<String, Snap> into) {
        return (name, t) -> into.put(name, new Snap(t.shape(), t.toFloatArray()));
    }

    /** Asserts {@code actual} matches the golden {@code case.item} and returns the largest absolute error. */
    static double check(Backend be, String what, String goldenName, Shape shape, float[] actual) {
        try (Tensor ref = read(be, goldenName)) {
            if (!ref.shape().equals(shape)) {
                throw new AssertionError(what + ": shape " + shape + " != golden " + ref.shape());
            }
            float[] expected = ref.toFloatArray();
            TOL.assertClose(what, shape, expected, actual);
            double maxAbs = TOL.compare(expected, actual).maxAbs();
            System.out.printf("[vae golden %s] %-50s max abs err %.3g%n", be.name(), goldenName, maxAbs);
            return maxAbs;
        }
    }

    static double check(Backend be, String goldenName, Tensor actual) {
        return check(be, goldenName, goldenName, actual.shape(), actual.toFloatArray());
    }

    /** Every snapshot checked against {@code prefix + name}; the names must all be present. */
    static void checkAll(Backend be, String prefix, Map<String, Snap> snaps, String... names) {
        for (String n : names) {
            Snap s = snaps.get(n);
            if (s == null) {
                throw new AssertionError("probe did not receive '" + n + "'; got " + snaps.keySet());
            }
            check(be, prefix + n, prefix + n, s.shape(), s.values());
        }
    }

    static Map<String, Snap> newSnaps() {
        return new LinkedHashMap<>();
    }
}
