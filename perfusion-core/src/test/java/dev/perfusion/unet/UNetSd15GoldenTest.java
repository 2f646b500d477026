package dev.perfusion.unet;

import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.tensor.Backend;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code tiny-sd15/unet} (SD v1.5 block structure) against diffusers 0.30.3 on the ND4J backend: every case of
 * {@code cases/unet_sd15_cases.safetensors} (golden/README.md §5), out_sample and — for {@code b1_16x16_t999} —
 * every stored intermediate (time_proj … conv_norm_out and the internals of down_blocks.0.attentions.0), within
 * 1e-4 + 1e-4·|ref|. The cases cover the three timestep forms: I64 0-d ({@code *_t999}, {@code b1_16x24_t1}),
 * I64 [B] ({@code b2_8x8_tvec}, t = [0, 500], 1×1 at the deepest level) and F32 0-d fractional
 * ({@code b1_16x16_tfloat}, t = 946.3125).
 */
@Tag("unit")
class UNetSd15GoldenTest {
    private static Backend be;
    private static UNet2DConditionModel unet;

    @BeforeAll
    static void load() throws IOException {
        be = new Nd4jBackend();
        unet = UNet2DConditionModel.load(UNetGoldens.SD15_UNET, be);
    }

    @AfterAll
    static void close() {
        if (unet != null) {
            unet.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"b1_16x16_t999", "b2_16x16_t999", "b1_16x24_t1", "b2_8x8_tvec", "b1_16x16_tfloat"})
    void matchesDiffusers(String caseName) {
        List<UNetGoldens.Result> r = UNetGoldens.runCase(unet, UNetGoldens.SD15_CASES, caseName, be);
        UNetGoldens.print("sd15 " + caseName, r);
    }
}
