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
 * {@code unet-tiny-2level} (down: DownBlock2D, CrossAttnDownBlock2D; up: CrossAttnUpBlock2D, UpBlock2D) against
 * diffusers 0.30.3 on the ND4J backend: every case of {@code cases/unet_tiny_cases.safetensors}, out_sample and —
 * for {@code b1_16x16_t10} — every stored intermediate (including down_blocks.1.attentions.0's internals), within
 * 1e-4 + 1e-4·|ref|.
 */
@Tag("unit")
class UNetTinyGoldenTest {
    private static Backend be;
    private static UNet2DConditionModel unet;

    @BeforeAll
    static void load() throws IOException {
        be = new Nd4jBackend();
        unet = UNet2DConditionModel.load(UNetGoldens.TINY_UNET, be);
    }

    @AfterAll
    static void close() {
        if (unet != null) {
            unet.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"b1_16x16_t10", "b2_32x32_t500", "b1_16x8_t999"})
    void matchesDiffusers(String caseName) {
        List<UNetGoldens.Result> r = UNetGoldens.runCase(unet, UNetGoldens.TINY_CASES, caseName, be);
        UNetGoldens.print("tiny " + caseName, r);
    }
}
