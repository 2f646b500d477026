package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.clip.CLIPTextConfig;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.io.JsonReader;
import dev.perfusion.io.JsonWriter;
import dev.perfusion.schedulers.SchedulerConfig;
import dev.perfusion.unet.UNet2DConditionConfig;
import dev.perfusion.vae.AutoencoderKLConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The toy model's config maps, read back through the library's own config readers, give the documented sizes. */
@Tag("unit")
class ToyModelConfigsTest {
    private static DiffusersConfig parse(Map<String, Object> m) {
        return DiffusersConfig.parse(JsonWriter.write(m), "x");
    }

    @Test
    void vaeConfigIsThreeLevelsWithFactorFour() {
        AutoencoderKLConfig c = AutoencoderKLConfig.from(parse(ToyModelConfigs.vae(0.5)));
        assertEquals(3, c.inChannels());
        assertEquals(3, c.outChannels());
        assertEquals(4, c.latentChannels());
        assertEquals(List.of(32, 64, 64), c.blockOutChannels());
        assertEquals(3, c.levels());
        assertEquals(4, c.downsampleFactor());
        // a 32 × 32 image has an 8 × 8 latent: the UNet's sample_size
        assertEquals(ToyModelConfigs.unet().get("sample_size"), ToyWorld.SIZE / c.downsampleFactor());
        assertEquals(1, c.layersPerBlock());
        assertEquals(8, c.normNumGroups());
        assertEquals(0.5, c.scalingFactor());
        assertTrue(c.useQuantConv() && c.usePostQuantConv() && c.midBlockAddAttention());
        // the measured factor goes through JSON unchanged
        assertEquals(2.23517, AutoencoderKLConfig.from(parse(ToyModelConfigs.vae(2.23517))).scalingFactor());
    }

    @Test
    void unetConfigIsTwoCrossAttentionLevels() {
        UNet2DConditionConfig c = UNet2DConditionConfig.from(parse(ToyModelConfigs.unet()));
        assertEquals(4, c.inChannels());
        assertEquals(4, c.outChannels());
        assertEquals(List.of(32, 64), c.blockOutChannels());
        assertEquals(2, c.levels());
        assertEquals(List.of(1, 1), c.layersPerBlock());
        assertEquals(List.of(UNet2DConditionConfig.CROSS_ATTN_DOWN, UNet2DConditionConfig.CROSS_ATTN_DOWN), c.downBlockTypes());
        assertEquals(List.of(UNet2DConditionConfig.CROSS_ATTN_UP, UNet2DConditionConfig.CROSS_ATTN_UP), c.upBlockTypes());
        assertEquals(List.of(4, 4), c.attentionHeads());
        assertEquals(ToyModelConfigs.TEXT_WIDTH, c.crossAttentionDim());
        assertEquals(64, c.crossAttentionDim());
        assertEquals(List.of(1, 1), c.transformerLayersPerBlock());
        assertEquals(8, c.normNumGroups());
        assertEquals(1e-5f, c.normEps());
        assertTrue(c.flipSinToCos());
        assertEquals(0f, c.freqShift());
        assertFalse(c.useLinearProjection());
        assertEquals(1, c.downsamplePadding());
        assertEquals(4 * 32, c.timeEmbedDim());
        assertEquals(8, ToyModelConfigs.unet().get("sample_size"));
    }

    @Test
    void textEncoderConfigMatchesTheToyVocabulary() {
        CLIPTokenizer tok = ToyVocabulary.tokenizer();
        int vocab = tok.vocabSize();
        CLIPTextConfig c = CLIPTextConfig.from(parse(ToyModelConfigs.textEncoder(vocab)));
        assertEquals(vocab, c.vocabSize());
        assertEquals(64, c.hiddenSize());
        assertEquals(256, c.intermediateSize());
        assertEquals(2, c.numHiddenLayers());
        assertEquals(4, c.numAttentionHeads());
        assertEquals(16, c.headDim());
        assertEquals(77, c.maxPositionEmbeddings());
        assertEquals(CLIPTokenizer.CONTEXT_LENGTH, c.maxPositionEmbeddings());
        assertEquals("quick_gelu", c.hiddenAct());
        assertEquals(1e-5f, c.layerNormEps());
        // the config's special ids are the tokenizer's: BOS second to last, EOS last
        assertEquals(tok.eosId(), c.eosTokenId());
        assertEquals(vocab - 1, c.eosTokenId());
        assertEquals((long) tok.bosId(), ((Number) ToyModelConfigs.textEncoder(vocab).get("bos_token_id")).longValue());
    }

    @Test
    void schedulerAndModelIndex() {
        SchedulerConfig s = SchedulerConfig.fromMap(ToyModelConfigs.scheduler());
        assertEquals(1000, s.numTrainTimesteps());
        assertEquals(0.00085, s.betaStart());
        assertEquals(0.012, s.betaEnd());
        assertEquals(SchedulerConfig.BetaSchedule.SCALED_LINEAR, s.betaSchedule());
        assertEquals(1, s.stepsOffset());
        assertFalse(s.clipSample());
        assertFalse(s.setAlphaToOne());
        // SD v1.5's schedule
        SchedulerConfig sd = SchedulerConfig.sd15();
        assertEquals(sd.betaStart(), s.betaStart());
        assertEquals(sd.betaEnd(), s.betaEnd());
        assertEquals(sd.betaSchedule(), s.betaSchedule());

        Object index = JsonReader.parse(JsonWriter.write(ToyModelConfigs.modelIndex()));
        assertTrue(index instanceof Map<?, ?>);
        Map<?, ?> m = (Map<?, ?>) index;
        assertEquals("StableDiffusionPipeline", m.get("_class_name"));
        for (String part : List.of("scheduler", "text_encoder", "tokenizer", "unet", "vae")) {
            assertTrue(m.get(part) instanceof List<?> l && l.size() == 2, part + ": " + m.get(part));
        }
        assertEquals(List.of("diffusers", "UNet2DConditionModel"), m.get("unet"));
        assertEquals(List.of("diffusers", "AutoencoderKL"), m.get("vae"));
        assertEquals(List.of("transformers", "CLIPTextModel"), m.get("text_encoder"));
    }
}
