package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.Perfusion;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link Perfusion#sample} settings on the tiny model: per-concept β, global vs local key-locking, and two concepts
 * composed in one prompt (method §3).
 */
@Tag("unit")
class PerfusionCompositionTest {
    private final SampleFixture fx = SampleFixture.get();

    @Test
    void betaLockingAndCompositionChangeTheImage() {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        Concept kitty = fx.concept("<kitty>", "cat", 21, 0.5f);
        String prompt = "a photo of a <teddy>";
        float[] local = fx.sample(fx.sampleRequest(SampleFixture.request(prompt), teddy)).finalLatents();
        float[] lowBeta = fx.sample(fx.sampleRequest(SampleFixture.request(prompt), teddy).beta("<teddy>", 0.3f))
                .finalLatents();
        float[] global = fx.sample(fx.sampleRequest(SampleFixture.request(prompt), teddy).globalLocking(true))
                .finalLatents();
        assertFalse(Arrays.equals(local, lowBeta), "β changes the image");
        assertFalse(Arrays.equals(local, global), "global and local key-locking differ");

        String both = "a <teddy> next to a <kitty>";
        SampleFixture.Run two = fx.sample(fx.sampleRequest(SampleFixture.request(both), teddy, kitty));
        for (float v : two.finalLatents()) {
            assertTrue(Float.isFinite(v));
        }
        float[] teddyOnly = fx.sample(fx.sampleRequest(SampleFixture.request("a <teddy> next to a cat"), teddy))
                .finalLatents();
        float[] kittyOnly = fx.sample(fx.sampleRequest(SampleFixture.request("a teddy next to a <kitty>"), kitty))
                .finalLatents();
        assertFalse(Arrays.equals(two.finalLatents(), teddyOnly));
        assertFalse(Arrays.equals(two.finalLatents(), kittyOnly));
        // per-concept β: changing only <kitty>'s changes the composed image
        float[] kittyBeta = fx.sample(fx.sampleRequest(SampleFixture.request(both), teddy, kitty)
                .beta("<kitty>", 0.2f)).finalLatents();
        assertFalse(Arrays.equals(two.finalLatents(), kittyBeta));
        // concept order does not matter to the image up to float rounding of the projector
        float[] swapped = fx.sample(fx.sampleRequest(SampleFixture.request(both), kitty, teddy)).finalLatents();
        assertEquals(0, maxAbsDiff(two.finalLatents(), swapped), 1e-3);
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
