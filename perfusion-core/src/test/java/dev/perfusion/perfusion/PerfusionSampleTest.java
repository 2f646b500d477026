package dev.perfusion.perfusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.Perfusion;
import dev.perfusion.nn.Attention;
import dev.perfusion.unet.CrossAttentionLayer;
import java.awt.image.BufferedImage;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link Perfusion#sample} end to end on the tiny model (64×64, 2 DDIM steps, CFG 7.5).
 *
 * <p>What is exactly true end to end (from h(e) = W(e − Pe) + g(e)·o*, see {@link ConceptPromptsTest}): a concept
 * enters the image only through (a) v*, at its placeholder's token, (b) i*, through s and the projection term
 * −Pe·Wᵀ on every token, and (c) o*, scaled by the gate. So for a prompt without the placeholder and a gate closed
 * everywhere (g = 0 exactly), the image does not depend on v* or o* at all: bit-identical for concepts that differ
 * only there. It is NOT the image without the concept: the projection term still acts wherever s ≠ 0.
 */
@Tag("unit")
class PerfusionSampleTest {
    private final SampleFixture fx = SampleFixture.get();

    @Test
    void withAClosedGateAPromptWithoutThePlaceholderIgnoresWhatTheGateWouldRelease() {
        Concept a = fx.concept("<teddy>", "teddy", 11, 0.5f);
        // same placeholder and i*, other v* and o*: what only the gate (and the placeholder token) would bring in
        float[] otherV = a.values().clone();
        float[] otherK = a.keys().clone();
        for (int i = 0; i < otherV.length; i++) {
            otherV[i] = -3f * otherV[i] + 1f;
            otherK[i] = 2f * otherK[i] - 0.5f;
        }
        float[] otherEmbedding = a.embedding().clone();
        for (int i = 0; i < otherEmbedding.length; i++) {
            otherEmbedding[i] += 0.3f;
        }
        Concept b = new Concept(a.placeholder(), a.superclass(), otherEmbedding, a.iStar(), otherK, otherV, a.beta(),
                a.tau(), a.layers(), a.baseModel(), a.covariance(), a.training());

        SampleFixture.Run ra = fx.sample(fx.sampleRequest(SampleFixture.request("a photo of a dog"), a)
                .beta("<teddy>", 1e4f));
        SampleFixture.Run rb = fx.sample(fx.sampleRequest(SampleFixture.request("a photo of a dog"), b)
                .beta("<teddy>", 1e4f));
        assertArrayEquals(ra.firstUnetOutput(), rb.firstUnetOutput(), "closed gate: ε independent of v*, o*");
        assertArrayEquals(ra.finalLatents(), rb.finalLatents(), "closed gate: latents bit-identical");
        assertTrue(Arrays.equals(pixels(ra.result().images().get(0)), pixels(rb.result().images().get(0))));

        // the projection term still acts: not the image without the concept
        SampleFixture.Run none = fx.plain(SampleFixture.request("a photo of a dog"));
        assertFalse(Arrays.equals(none.finalLatents(), ra.finalLatents()));

        // with the placeholder in the prompt, v* is in the text states: the two concepts differ
        SampleFixture.Run pa = fx.sample(fx.sampleRequest(SampleFixture.request("a photo of a <teddy>"), a)
                .beta("<teddy>", 1e4f));
        SampleFixture.Run pb = fx.sample(fx.sampleRequest(SampleFixture.request("a photo of a <teddy>"), b)
                .beta("<teddy>", 1e4f));
        assertFalse(Arrays.equals(pa.finalLatents(), pb.finalLatents()));
    }

    @Test
    void theUnconditionalBranchIsEditedTooAndTheProcessorsAreRemovedAfterwards() {
        Concept teddy = fx.concept("<teddy>", "teddy", 11, 0.5f);
        SampleFixture.Run none = fx.plain(SampleFixture.request("a photo of a dog"));
        SampleFixture.Run edited = fx.sample(fx.sampleRequest(SampleFixture.request("a photo of a dog"), teddy));
        int half = none.firstUnetOutput().length / 2; // [uncond, text] with one image
        float[] uncondPlain = Arrays.copyOfRange(none.firstUnetOutput(), 0, half);
        float[] uncondEdited = Arrays.copyOfRange(edited.firstUnetOutput(), 0, half);
        // the "" text states are the same (ConceptPromptsTest), so a difference here is the edit on that branch
        assertFalse(Arrays.equals(uncondPlain, uncondEdited), "the unconditional branch must be edited");
        for (CrossAttentionLayer l : fx.pipeline.unet().crossAttentionLayers()) {
            Attention a = l.attention();
            assertFalse(a.processor() instanceof PerfusionAttnProcessor, l.path() + " still has the Perfusion processor");
        }
        // the plain pipeline still works after a Perfusion sample
        SampleFixture.Run again = fx.plain(SampleFixture.request("a photo of a dog"));
        assertArrayEquals(none.finalLatents(), again.finalLatents());
    }

    private static int[] pixels(BufferedImage img) {
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }


}
