package dev.perfusion.unet;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The scalar oracle backend runs the same UNet code to the same numbers: {@code tiny-sd15/unet} on
 * {@link ReferenceBackend}, case {@code b2_8x8_tvec} (batch 2, per-sample I64 time steps [0, 500], 1×1 at the
 * deepest level) within 1e-4 + 1e-4·|ref| of diffusers.
 */
@Tag("unit")
class UNetReferenceBackendTest {
    @Test
    void smallCaseMatchesDiffusers() throws IOException {
        Backend be = new ReferenceBackend();
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(UNetGoldens.SD15_UNET, be)) {
            List<UNetGoldens.Result> r = UNetGoldens.runCase(unet, UNetGoldens.SD15_CASES, "b2_8x8_tvec", be);
            UNetGoldens.print("reference b2_8x8_tvec", r);
        }
    }
}
