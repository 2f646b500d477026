package dev.perfusion.vae;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.io.DiffusersConfig;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link AutoencoderKLConfig} from config.json: the golden file, diffusers' defaults, and clear errors. */
@Tag("unit")
class AutoencoderKLConfigTest {

    private static AutoencoderKLConfig parse(String json) {
        return AutoencoderKLConfig.from(DiffusersConfig.parse(json, "test/config.json"));
    }

    private static String error(String json) {
        return assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage();
    }

    @Test
    void readsTheTinyGoldenConfig() throws Exception {
        AutoencoderKLConfig c = AutoencoderKLConfig.read(VaeGolden.VAE_DIR);
        assertEquals(new AutoencoderKLConfig(3, 3, 4, List.of(32, 32, 64, 64), 2, 32, 0.18215, true, true, true), c);
        assertEquals(4, c.levels());
        assertEquals(8, c.downsampleFactor());
    }

    @Test
    void sd15HasTheDesignShapes() {
        AutoencoderKLConfig c = AutoencoderKLConfig.sd15();
        assertEquals(List.of(128, 256, 512, 512), c.blockOutChannels());
        assertEquals(4, c.latentChannels());
        assertEquals(0.18215, c.scalingFactor());
        assertEquals(8, c.downsampleFactor());
    }

    @Test
    void missingKeysTakeDiffusersDefaults() {
        AutoencoderKLConfig c = parse("{\"use_quant_conv\": false, \"mid_block_add_attention\": false}");
        assertEquals(List.of(64), c.blockOutChannels());
        assertEquals(1, c.layersPerBlock());
        assertEquals(3, c.inChannels());
        assertEquals(4, c.latentChannels());
        assertEquals(32, c.normNumGroups());
        assertEquals(0.18215, c.scalingFactor());
        assertFalse(c.useQuantConv());
        assertTrue(c.usePostQuantConv());
        assertFalse(c.midBlockAddAttention());
        assertEquals(1, c.downsampleFactor());
    }

    @Test
    void unsupportedBlockTypesAreNamed() {
        String m = error("{\"block_out_channels\": [32, 64], \"down_block_types\": [\"DownEncoderBlock2D\", "
                + "\"AttnDownEncoderBlock2D\"], \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}");
        assertTrue(m.contains("test/config.json") && m.contains("down_block_types[1]")
                && m.contains("AttnDownEncoderBlock2D") && m.contains("DownEncoderBlock2D"), m);
        m = error("{\"block_out_channels\": [32], \"up_block_types\": [\"UpBlock2D\"]}");
        assertTrue(m.contains("up_block_types[0]") && m.contains("UpBlock2D"), m);
    }

    @Test
    void badValuesAreNamed() {
        String m = error("{\"block_out_channels\": [32, 64], \"down_block_types\": [\"DownEncoderBlock2D\"]}");
        assertTrue(m.contains("down_block_types") && m.contains("1 entries") && m.contains("has 2"), m);
        m = error("{\"act_fn\": \"gelu\"}");
        assertTrue(m.contains("act_fn") && m.contains("gelu"), m);
        m = error("{\"block_out_channels\": [48], \"down_block_types\": [\"DownEncoderBlock2D\"], "
                + "\"up_block_types\": [\"UpDecoderBlock2D\"]}");
        assertTrue(m.contains("test/config.json") && m.contains("norm_num_groups 32"), m);
        m = error("{\"latent_channels\": 0}");
        assertTrue(m.contains("latent_channels 0"), m);
        m = error("{\"scaling_factor\": -1}");
        assertTrue(m.contains("scaling_factor"), m);
        m = error("{\"layers_per_block\": \"two\"}");
        assertTrue(m.contains("layers_per_block"), m);
    }
}
