package dev.perfusion.vae;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;

/** Parameter keys against the diffusers file, shape checks on every entry point, and load errors. */
@Tag("unit")
class AutoencoderKLApiTest {
    private static final Path WEIGHTS = VaeGolden.VAE_DIR.resolve("diffusion_pytorch_model.safetensors");

    private final Backend be = new ReferenceBackend();
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private Tensor zeros(int... dims) {
        return be.full(Shape.of(dims), 0f);
    }

    private static String message(Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    @Test
    void keysAndShapesEqualTheDiffusersFile() throws Exception {
        try (AutoencoderKL vae = new AutoencoderKL(be, AutoencoderKLConfig.read(VaeGolden.VAE_DIR));
             SafeTensors st = SafeTensors.open(WEIGHTS)) {
            Map<String, Parameter> params = vae.namedParameters();
            assertEquals(new TreeSet<>(st.names()), new TreeSet<>(params.keySet()));
            for (String name : st.names()) {
                assertEquals(st.info(name).shape(), params.get(name).shape(), name);
            }
            assertEquals(244, params.size());               // golden README inventory
            assertEquals(1_399_879L, vae.parameterCount()); // golden README inventory
        }
    }

    @Test
    void badInputsAreRejectedWithTheirShapes() {
        try (AutoencoderKL vae = new AutoencoderKL(be, AutoencoderKLConfig.read(VaeGolden.VAE_DIR))) {
            String m = message(() -> vae.encode(zeros(1, 4, 32, 32)));
            assertTrue(m.contains("[B, 3, H, W]") && m.contains("[1, 4, 32, 32]"), m);
            m = message(() -> vae.encode(zeros(3, 32, 32)));
            assertTrue(m.contains("[3, 32, 32]"), m);
            m = message(() -> vae.encode(zeros(1, 3, 36, 32)));
            assertTrue(m.contains("multiples of 8") && m.contains("36×32"), m);
            m = message(() -> vae.decode(zeros(1, 3, 4, 4)));
            assertTrue(m.contains("[B, 4, h, w]") && m.contains("[1, 3, 4, 4]"), m);
            m = message(() -> vae.decode(zeros(4, 4, 4)));
            assertTrue(m.contains("[4, 4, 4]"), m);
            LatentDistribution d = new LatentDistribution(zeros(1, 4, 2, 2), zeros(1, 4, 2, 2), zeros(1, 4, 2, 2));
            m = message(() -> d.sample(zeros(1, 4, 2, 3)));
            assertTrue(m.contains("[1, 4, 2, 3]") && m.contains("[1, 4, 2, 2]"), m);
            assertEquals(0.18215f, vae.scalingFactor());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void loadReportsEveryKeyProblemWithTheFile(@TempDir Path dir) throws Exception {
        Files.copy(VaeGolden.VAE_DIR.resolve("config.json"), dir.resolve("config.json"));
        Map<String, Tensor> state = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(WEIGHTS)) {
            for (String name : st.names()) {
                if (!name.equals("decoder.conv_out.bias")) {
                    state.put(name, st.tensor(name, be));
                }
            }
        }
        state.put("decoder.extra.weight", zeros(2));
        state.put("quant_conv.weight", zeros(8, 8, 3, 3));
        Path file = dir.resolve("diffusion_pytorch_model.safetensors");
        SafeTensors.write(file, state, Map.of());
        String m = message(() -> AutoencoderKL.load(dir, be));
        assertTrue(m.contains(file.toString()), m);
        for (String s : Set.of("decoder.conv_out.bias", "decoder.extra.weight", "quant_conv.weight")) {
            assertTrue(m.contains(s), s + " in: " + m);
        }
    }

    @Test
    void loadNamesAMissingFolderOrConfig(@TempDir Path dir) {
        String m = message(() -> AutoencoderKL.load(dir.resolve("nope"), be));
        assertTrue(m.contains("nope"), m);
        m = message(() -> AutoencoderKL.load(dir, be));
        assertTrue(m.contains("config.json"), m);
    }
}
