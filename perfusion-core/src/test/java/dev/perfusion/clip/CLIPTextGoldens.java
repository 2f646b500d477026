package dev.perfusion.clip;

import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The text encoder goldens (golden/README.md §4), read from test resources, and a comparison that also prints the
 * largest error seen, so test logs show how much headroom each tolerance has.
 */
final class CLIPTextGoldens {
    /** transformers' CLIPTextModel folder of the tiny SD v1.5-shaped pipeline (D 24, 4 layers, 3 heads). */
    static final Path MODEL_DIR = Path.of("src/test/resources/golden/tiny-sd15/text_encoder");
    /** Inputs and outputs of {@code MODEL_DIR}, computed by transformers 4.45 in float32. */
    static final Path CASES = Path.of("src/test/resources/golden/cases/text_encoder_cases.safetensors");
    /** The project-wide tolerance for single model outputs: |a − b| ≤ 1e-4 + 1e-4·|ref| (golden/README.md). */
    static final Tolerance MODEL = new Tolerance(1e-4, 1e-4);
    /** Number of encoder layers of the tiny model. */
    static final int LAYERS = 4;

    private CLIPTextGoldens() {
    }

    /** Tensor {@code case.item} of the cases file on {@code backend}. */
    static Tensor load(Backend backend, String caseName, String item) {
        try (SafeTensors st = SafeTensors.open(CASES)) {
            return st.tensor(caseName + "." + item, backend);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Asserts {@code actual} matches {@code expected} within {@code tol}, printing the largest errors. */
    static void check(String what, Tolerance tol, Tensor expected, Tensor actual) {
        tol.assertClose(what, expected, actual);
        Tolerance.Comparison c = tol.compare(expected.toFloatArray(), actual.toFloatArray());
        System.out.printf("%-48s %-16s max abs err %.3g, max rel err %.3g%n", what, actual.shape(), c.maxAbs(),
                c.maxRel());
    }
}
