package dev.perfusion.io;

import dev.perfusion.io.LdmKeyMap.Component;
import dev.perfusion.io.LdmKeyMap.Target;
import dev.perfusion.io.LdmTestCheckpoints.Arch;
import dev.perfusion.tensor.Shape;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link LdmKeyMap} on the full key inventory of SD v1.5 ({@code v1-5-pruned-emaonly}'s LDM layout, generated from
 * the CompVis module structure) and on other layouts and broken inputs.
 */
@Tag("unit")
class LdmKeyMapTest {

    /**
     * Real SD v1.5 key pairs, following diffusers' {@code convert_ldm_unet_checkpoint} /
     * {@code convert_ldm_vae_checkpoint} / {@code convert_ldm_clip_checkpoint} (layers_per_block 2, so input block
     * i is level (i−1)/3, position (i−1) mod 3; output block i is level i/3, position i mod 3; VAE decoder levels
     * reversed).
     */
    private static final String[][] SD15_PAIRS = {
            {"model.diffusion_model.time_embed.0.weight", "time_embedding.linear_1.weight"},
            {"model.diffusion_model.time_embed.2.bias", "time_embedding.linear_2.bias"},
            {"model.diffusion_model.input_blocks.0.0.weight", "conv_in.weight"},
            {"model.diffusion_model.input_blocks.1.0.in_layers.0.weight", "down_blocks.0.resnets.0.norm1.weight"},
            {"model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight",
                    "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"},
            {"model.diffusion_model.input_blocks.2.0.emb_layers.1.weight", "down_blocks.0.resnets.1.time_emb_proj.weight"},
            {"model.diffusion_model.input_blocks.3.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight"},
            {"model.diffusion_model.input_blocks.4.0.skip_connection.weight", "down_blocks.1.resnets.0.conv_shortcut.weight"},
            {"model.diffusion_model.input_blocks.8.1.proj_out.bias", "down_blocks.2.attentions.1.proj_out.bias"},
            {"model.diffusion_model.input_blocks.9.0.op.bias", "down_blocks.2.downsamplers.0.conv.bias"},
            {"model.diffusion_model.input_blocks.11.0.out_layers.3.weight", "down_blocks.3.resnets.1.conv2.weight"},
            {"model.diffusion_model.middle_block.0.in_layers.2.weight", "mid_block.resnets.0.conv1.weight"},
            {"model.diffusion_model.middle_block.1.proj_in.weight", "mid_block.attentions.0.proj_in.weight"},
            {"model.diffusion_model.middle_block.2.out_layers.0.bias", "mid_block.resnets.1.norm2.bias"},
            {"model.diffusion_model.output_blocks.0.0.skip_connection.weight", "up_blocks.0.resnets.0.conv_shortcut.weight"},
            {"model.diffusion_model.output_blocks.2.1.conv.weight", "up_blocks.0.upsamplers.0.conv.weight"},
            {"model.diffusion_model.output_blocks.3.1.transformer_blocks.0.ff.net.0.proj.weight",
                    "up_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj.weight"},
            {"model.diffusion_model.output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias"},
            {"model.diffusion_model.output_blocks.8.2.conv.weight", "up_blocks.2.upsamplers.0.conv.weight"},
            {"model.diffusion_model.output_blocks.11.1.transformer_blocks.0.attn1.to_out.0.weight",
                    "up_blocks.3.attentions.2.transformer_blocks.0.attn1.to_out.0.weight"},
            {"model.diffusion_model.out.0.weight", "conv_norm_out.weight"},
            {"model.diffusion_model.out.2.bias", "conv_out.bias"},
            {"first_stage_model.decoder.up.3.block.0.conv1.weight", "decoder.up_blocks.0.resnets.0.conv1.weight"},
            {"first_stage_model.decoder.up.0.block.0.nin_shortcut.weight", "decoder.up_blocks.3.resnets.0.conv_shortcut.weight"},
            {"first_stage_model.decoder.up.1.upsample.conv.weight", "decoder.up_blocks.2.upsamplers.0.conv.weight"},
            {"first_stage_model.decoder.up.2.block.2.norm2.bias", "decoder.up_blocks.1.resnets.2.norm2.bias"},
            {"first_stage_model.encoder.down.1.block.0.nin_shortcut.weight", "encoder.down_blocks.1.resnets.0.conv_shortcut.weight"},
            {"first_stage_model.encoder.down.0.downsample.conv.weight", "encoder.down_blocks.0.downsamplers.0.conv.weight"},
            {"first_stage_model.encoder.mid.attn_1.q.weight", "encoder.mid_block.attentions.0.to_q.weight"},
            {"first_stage_model.decoder.mid.attn_1.proj_out.weight", "decoder.mid_block.attentions.0.to_out.0.weight"},
            {"first_stage_model.decoder.mid.attn_1.norm.bias", "decoder.mid_block.attentions.0.group_norm.bias"},
            {"first_stage_model.encoder.mid.block_2.conv1.weight", "encoder.mid_block.resnets.1.conv1.weight"},
            {"first_stage_model.encoder.norm_out.weight", "encoder.conv_norm_out.weight"},
            {"first_stage_model.quant_conv.weight", "quant_conv.weight"},
            {"first_stage_model.post_quant_conv.bias", "post_quant_conv.bias"},
            {"cond_stage_model.transformer.text_model.encoder.layers.11.self_attn.q_proj.weight",
                    "text_model.encoder.layers.11.self_attn.q_proj.weight"},
            {"cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
                    "text_model.embeddings.token_embedding.weight"},
            {"cond_stage_model.transformer.text_model.final_layer_norm.bias", "text_model.final_layer_norm.bias"},
    };

    private static LdmKeyMap sd15() {
        return LdmKeyMap.of(LdmTestCheckpoints.ldmShapes(Arch.sd15()));
    }

    @Test
    void sd15SpotChecks() {
        LdmKeyMap map = sd15();
        for (String[] pair : SD15_PAIRS) {
            Target t = map.target(pair[0]);
            assertNotNull(t, "no target for " + pair[0]);
            assertEquals(pair[1], t.key(), pair[0]);
            Component want = pair[0].startsWith("model.") ? Component.UNET
                    : pair[0].startsWith("first_stage_model.") ? Component.VAE : Component.TEXT_ENCODER;
            assertEquals(want, t.component(), pair[0]);
        }
        // shapes pass through, except the VAE attention's 1×1 convs, which become Linear weights
        assertEquals(Shape.of(320, 768),
                map.target("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight").shape());
        assertEquals(Shape.of(1280, 1280, 1, 1), map.target("model.diffusion_model.middle_block.1.proj_in.weight").shape());
        assertEquals(Shape.of(512, 512), map.target("first_stage_model.encoder.mid.attn_1.q.weight").shape());
        assertEquals(Shape.of(512, 512), map.target("first_stage_model.decoder.mid.attn_1.proj_out.weight").shape());
        assertEquals(Shape.of(512), map.target("first_stage_model.decoder.mid.attn_1.proj_out.bias").shape());
        assertEquals(Shape.of(512), map.target("first_stage_model.decoder.mid.attn_1.norm.weight").shape());
    }

    @Test
    void sd15Inventory() {
        LdmKeyMap map = sd15();
        // diffusers' SD v1.5 folders hold 686 UNet, 248 VAE and 196 text-encoder weights
        assertEquals(686, map.keys(Component.UNET).size());
        assertEquals(248, map.keys(Component.VAE).size());
        assertEquals(196, map.keys(Component.TEXT_ENCODER).size());
        assertEquals(2, map.unetLayersPerBlock());
        assertEquals(4, map.unetLevels());
        assertEquals(4, map.vaeLevels());
        // schedule buffers (12), EMA bookkeeping (2), position_ids (1)
        assertEquals(15, map.skipped().size(), map.skipped().toString());
        assertTrue(map.skipped().containsAll(List.of("alphas_cumprod", "betas", "model_ema.decay",
                "cond_stage_model.transformer.text_model.embeddings.position_ids")));
        // the 16 cross-attentions Perfusion edits, all found under diffusers names
        long attn2 = map.keys(Component.UNET).keySet().stream().filter(k -> k.endsWith("attn2.to_k.weight")).count();
        assertEquals(16, attn2);
        Set<String> values = new HashSet<>();
        for (Target t : map.targets().values()) {
            assertTrue(values.add(t.component() + "/" + t.key()), "duplicate " + t);
        }
    }

    @Test
    void legacyTextEncoderKeysGetTextModelPrefix() {
        LdmKeyMap modern = sd15();
        LdmKeyMap legacy = LdmKeyMap.of(LdmTestCheckpoints.ldmShapes(Arch.sd15().legacy()));
        assertEquals("text_model.encoder.layers.3.mlp.fc2.weight",
                legacy.target("cond_stage_model.transformer.encoder.layers.3.mlp.fc2.weight").key());
        assertEquals("text_model.final_layer_norm.weight",
                legacy.target("cond_stage_model.transformer.final_layer_norm.weight").key());
        assertEquals(modern.shapes(Component.TEXT_ENCODER), legacy.shapes(Component.TEXT_ENCODER));
        assertTrue(legacy.skipped().contains("cond_stage_model.transformer.embeddings.position_ids"));
    }

    @Test
    void otherBlockLayouts() {
        // 3 levels of 1 resnet, attention on the two deeper levels: downsamplers at input_blocks 2 and 4;
        // up_blocks.0 (deepest, with attention) upsamples from output_blocks.1.2, up_blocks.1 from output_blocks.3.2
        Arch a = new Arch(64, new int[] {1, 2, 2}, 1, Set.of(1, 2), 32, 32, new int[] {1, 2}, 1, 64, 2, false);
        LdmKeyMap map = LdmKeyMap.of(LdmTestCheckpoints.ldmShapes(a));
        assertEquals(1, map.unetLayersPerBlock());
        assertEquals(3, map.unetLevels());
        assertEquals(2, map.vaeLevels());
        Map<String, String> pairs = new LinkedHashMap<>();
        pairs.put("model.diffusion_model.input_blocks.2.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight");
        pairs.put("model.diffusion_model.input_blocks.3.1.norm.weight", "down_blocks.1.attentions.0.norm.weight");
        pairs.put("model.diffusion_model.input_blocks.4.0.op.bias", "down_blocks.1.downsamplers.0.conv.bias");
        pairs.put("model.diffusion_model.input_blocks.5.0.in_layers.2.weight", "down_blocks.2.resnets.0.conv1.weight");
        pairs.put("model.diffusion_model.output_blocks.1.2.conv.weight", "up_blocks.0.upsamplers.0.conv.weight");
        pairs.put("model.diffusion_model.output_blocks.3.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias");
        pairs.put("model.diffusion_model.output_blocks.5.0.out_layers.3.weight", "up_blocks.2.resnets.1.conv2.weight");
        pairs.put("first_stage_model.decoder.up.1.block.1.conv2.weight", "decoder.up_blocks.0.resnets.1.conv2.weight");
        pairs.put("first_stage_model.decoder.up.1.upsample.conv.weight", "decoder.up_blocks.0.upsamplers.0.conv.weight");
        pairs.put("first_stage_model.decoder.up.0.block.0.nin_shortcut.bias", "decoder.up_blocks.1.resnets.0.conv_shortcut.bias");
        pairs.forEach((ldm, diffusers) -> assertEquals(diffusers, map.target(ldm).key(), ldm));
        assertFalse(map.keys(Component.UNET).keySet().stream().anyMatch(k -> k.startsWith("up_blocks.2.upsamplers")));
        assertFalse(map.keys(Component.UNET).keySet().stream().anyMatch(k -> k.startsWith("up_blocks.2.attentions")));
    }

    @Test
    void unknownKeysAreListedTogether() {
        Map<String, Shape> s = LdmTestCheckpoints.ldmShapes(Arch.sd15());
        s.put("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.lora_up.weight", Shape.of(320, 4));
        s.put("first_stage_model.encoder.mid.attn_1.qkv.weight", Shape.of(1536, 512, 1, 1));
        s.put("embedding_manager.embedding_parameters.0", Shape.of(768));
        s.put("model.diffusion_model.output_blocks.11.1.conv.weight", Shape.of(320, 320, 3, 3)); // no upsampler there
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LdmKeyMap.of(s));
        String msg = e.getMessage();
        assertTrue(msg.startsWith("4 tensor(s)"), msg);
        for (String k : List.of("attn2.to_k.lora_up.weight", "first_stage_model.encoder.mid.attn_1.qkv.weight",
                "embedding_manager.embedding_parameters.0", "model.diffusion_model.output_blocks.11.1.conv.weight")) {
            assertTrue(msg.contains(k), "message lacks " + k + ": " + msg);
        }
    }

    @Test
    void sd2IsRecognised() {
        Map<String, Shape> s = LdmTestCheckpoints.ldmShapes(Arch.sd15().withContext(1024));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LdmKeyMap.of(s));
        assertTrue(e.getMessage().contains("Stable Diffusion 2.x"), e.getMessage());
        assertTrue(e.getMessage().contains("context width 1024"), e.getMessage());

        // SD 2's OpenCLIP text encoder alone also gives it away
        Map<String, Shape> openClip = LdmTestCheckpoints.ldmShapes(Arch.sd15());
        openClip.put("cond_stage_model.model.token_embedding.weight", Shape.of(49408, 1024));
        e = assertThrows(IllegalArgumentException.class, () -> LdmKeyMap.of(openClip));
        assertTrue(e.getMessage().contains("Stable Diffusion 2.x") && e.getMessage().contains("OpenCLIP"), e.getMessage());
    }

    @Test
    void sdxlIsRecognised() {
        Map<String, Shape> s = new LinkedHashMap<>();
        s.put("conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias", Shape.of(1280));
        s.put("conditioner.embedders.0.transformer.text_model.embeddings.position_embedding.weight", Shape.of(77, 768));
        s.put("model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", Shape.of(640, 2048));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LdmKeyMap.of(s));
        assertTrue(e.getMessage().contains("SDXL") && e.getMessage().contains("conditioner.embedders"), e.getMessage());

        // without the conditioner keys, the 2048-wide context still says SDXL
        Map<String, Shape> unetOnly = LdmTestCheckpoints.replaceShapes(LdmTestCheckpoints.ldmShapes(Arch.sd15()),
                "attn2.to_k", shape -> Shape.of(shape.dim(0), 2048));
        e = assertThrows(IllegalArgumentException.class, () -> LdmKeyMap.of(unetOnly));
        assertTrue(e.getMessage().contains("SDXL") && e.getMessage().contains("2048"), e.getMessage());
    }

    @Test
    void diffusersLayoutIsRecognised() {
        Map<String, Shape> s = Map.of("down_blocks.0.resnets.0.conv1.weight", Shape.of(320, 320, 3, 3),
                "conv_in.weight", Shape.of(320, 4, 3, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LdmKeyMap.of(s));
        assertTrue(e.getMessage().contains("diffusers-layout"), e.getMessage());
    }

    @Test
    void vaeAttentionWeightsBecomeLinear() {
        Map<String, Shape> s = LdmTestCheckpoints.ldmShapes(Arch.sd15());
        // some converters already store them as Linear weights: accepted as they are
        s.put("first_stage_model.decoder.mid.attn_1.k.weight", Shape.of(512, 512));
        s.put("first_stage_model.decoder.mid.attn_1.v.weight", Shape.of(512, 512, 1));
        LdmKeyMap map = LdmKeyMap.of(s);
        for (String x : List.of("q", "k", "v", "proj_out")) {
            assertEquals(Shape.of(512, 512), map.target("first_stage_model.decoder.mid.attn_1." + x + ".weight").shape(), x);
        }
        s.put("first_stage_model.decoder.mid.attn_1.q.weight", Shape.of(512, 512, 3, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LdmKeyMap.of(s));
        assertTrue(e.getMessage().contains("1×1"), e.getMessage());
    }

    @Test
    void twoKeysForOneTargetAreAnError() {
        Map<String, Shape> s = LdmTestCheckpoints.ldmShapes(Arch.sd15());
        s.put("cond_stage_model.transformer.final_layer_norm.weight", Shape.of(768)); // legacy twin of an existing key
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LdmKeyMap.of(s));
        assertTrue(e.getMessage().contains("same diffusers key")
                && e.getMessage().contains("cond_stage_model.transformer.final_layer_norm.weight"), e.getMessage());
    }

    @Test
    void brokenBlockLayoutIsReported() {
        Map<String, Shape> s = LdmTestCheckpoints.ldmShapes(Arch.sd15());
        s.remove("model.diffusion_model.input_blocks.6.0.op.weight");
        s.remove("model.diffusion_model.input_blocks.6.0.op.bias");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LdmKeyMap.of(s));
        assertTrue(e.getMessage().contains("block layout"), e.getMessage());
    }

    @Test
    void withoutVaeAndTextEncoder() {
        Map<String, Shape> s = new LinkedHashMap<>();
        LdmTestCheckpoints.ldmShapes(Arch.sd15()).forEach((k, v) -> {
            if (k.startsWith(LdmKeyMap.UNET_PREFIX)) {
                s.put(k, v);
            }
        });
        LdmKeyMap map = LdmKeyMap.of(s);
        assertTrue(map.has(Component.UNET));
        assertFalse(map.has(Component.VAE));
        assertFalse(map.has(Component.TEXT_ENCODER));
        assertEquals(0, map.vaeLevels());
        assertNull(map.target("first_stage_model.quant_conv.weight"));
    }
}
