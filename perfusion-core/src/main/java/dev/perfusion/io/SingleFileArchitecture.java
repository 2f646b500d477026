package dev.perfusion.io;

import dev.perfusion.io.LdmKeyMap.Component;
import dev.perfusion.tensor.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The architecture of a single-file Stable Diffusion v1.x checkpoint, read from its tensor shapes (after
 * {@link LdmKeyMap} has given them diffusers names), with each part's diffusers / transformers
 * {@code config.json} as text that {@link DiffusersConfig#parse} and the model config classes read.
 *
 * <p>What the shapes give: widths (from conv and Linear weights), level counts, resnets per block, which levels
 * have attention, the cross-attention width ({@code attn2.to_k.weight} is {@code [C, context]}), the text
 * encoder's vocabulary, width, depth, MLP width and positions. What they cannot give is taken from SD v1's
 * original config ({@code v1-inference.yaml}) as diffusers does: 8 UNet attention heads ({@code num_heads: 8}),
 * 32 GroupNorm groups, eps 1e-5, CLIP heads of size 64 (ViT-L/14: 768 wide, 12 heads), quick_gelu, and the VAE
 * scaling factor 0.18215 (diffusers' {@code LDM_VAE_DEFAULT_SCALING_FACTOR}).
 *
 * @param unet        the UNet, or null when the file has none
 * @param textEncoder the text encoder, or null when the file has none
 * @param vae         the VAE, or null when the file has none
 */
public record SingleFileArchitecture(Unet unet, TextEncoder textEncoder, Vae vae) {
    /** SD v1's UNet attention heads ({@code num_heads: 8} in v1-inference.yaml; diffusers' attention_head_dim). */
    public static final int SD1_UNET_HEADS = 8;
    /** CLIP's attention head size: heads = width / 64 (ViT-L/14: 768 / 64 = 12). */
    public static final int CLIP_HEAD_SIZE = 64;
    /** SD v1's latent scaling factor. */
    public static final double SD1_VAE_SCALING_FACTOR = 0.18215;

    /**
     * Reads the architecture of every component the key map holds.
     *
     * @param keys             a mapped single file
     * @param textEncoderHeads the text encoder's head count, or 0 to infer it as width / 64
     * @throws IllegalArgumentException when a needed tensor is missing, shapes disagree with each other, or the
     *                                  head count cannot be inferred
     */
    public static SingleFileArchitecture detect(LdmKeyMap keys, int textEncoderHeads) {
        Unet unet = keys.has(Component.UNET)
                ? Unet.detect(keys.shapes(Component.UNET), keys.unetLayersPerBlock(), keys.unetLevels()) : null;
        TextEncoder text = keys.has(Component.TEXT_ENCODER)
                ? TextEncoder.detect(keys.shapes(Component.TEXT_ENCODER), textEncoderHeads) : null;
        Vae vae = keys.has(Component.VAE) ? Vae.detect(keys.shapes(Component.VAE), keys.vaeLevels()) : null;
        return new SingleFileArchitecture(unet, text, vae);
    }

    /**
     * A UNet2DConditionModel as SD v1.x builds it.
     *
     * @param inChannels                latent channels in (4; 9 for inpainting models)
     * @param outChannels               latent channels out (4)
     * @param blockOutChannels          width of each level (SD v1.5: 320, 640, 1280, 1280)
     * @param layersPerBlock            resnets per down block (2)
     * @param downBlockTypes            CrossAttnDownBlock2D where the level has attention, else DownBlock2D
     * @param upBlockTypes              likewise for the up blocks, deepest first
     * @param crossAttentionDim         width of the text embeddings (768)
     * @param attentionHeads            heads of every attention (8; not visible in shapes)
     * @param transformerLayersPerBlock transformer blocks per attention (1)
     * @param useLinearProjection       proj_in/proj_out as Linear (SD 2.x) rather than 1×1 conv (SD 1.x)
     * @param timeEmbedDim              width of the time embedding (4 · blockOutChannels[0])
     */
    public record Unet(int inChannels, int outChannels, List<Integer> blockOutChannels, int layersPerBlock,
                       List<String> downBlockTypes, List<String> upBlockTypes, int crossAttentionDim,
                       int attentionHeads, int transformerLayersPerBlock, boolean useLinearProjection,
                       int timeEmbedDim) {
        private static final Pattern TRANSFORMER_BLOCK =
                Pattern.compile("(.*\\.attentions\\.\\d+)\\.transformer_blocks\\.(\\d+)\\..*");

        public Unet {
            blockOutChannels = List.copyOf(blockOutChannels);
            downBlockTypes = List.copyOf(downBlockTypes);
            upBlockTypes = List.copyOf(upBlockTypes);
        }

        static Unet detect(Map<String, Shape> s, int layersPerBlock, int levels) {
            Shape convIn = require(s, "conv_in.weight", 4, "UNet");
            Shape convOut = require(s, "conv_out.weight", 4, "UNet");
            List<Integer> widths = new ArrayList<>();
            List<String> down = new ArrayList<>();
            List<String> up = new ArrayList<>();
            for (int b = 0; b < levels; b++) {
                widths.add(require(s, "down_blocks." + b + ".resnets.0.conv1.weight", 4, "UNet").dim(0));
                down.add(hasPrefix(s, "down_blocks." + b + ".attentions.") ? "CrossAttnDownBlock2D" : "DownBlock2D");
                up.add(hasPrefix(s, "up_blocks." + b + ".attentions.") ? "CrossAttnUpBlock2D" : "UpBlock2D");
            }
            for (int b = 0; b < levels; b++) {
                // the first up block runs at the deepest level's width
                int want = widths.get(levels - 1 - b);
                int got = require(s, "up_blocks." + b + ".resnets.0.conv1.weight", 4, "UNet").dim(0);
                if (got != want) {
                    throw new IllegalArgumentException("UNet up_blocks." + b + " is " + got + " wide but down_blocks."
                            + (levels - 1 - b) + " is " + want + " wide; the checkpoint's levels do not match");
                }
            }
            int context = -1;
            String contextKey = null;
            for (Map.Entry<String, Shape> e : s.entrySet()) {
                if (e.getKey().endsWith(".attn2.to_k.weight")) {
                    int width = e.getValue().dim(-1);
                    if (context >= 0 && width != context) {
                        throw new IllegalArgumentException("UNet cross-attention widths differ: " + contextKey + " takes "
                                + context + ", " + e.getKey() + " takes " + width);
                    }
                    context = width;
                    contextKey = e.getKey();
                }
            }
            if (context < 0) {
                throw new IllegalArgumentException("the UNet has no cross-attention (no '…attn2.to_k.weight'); "
                        + "SD v1.x conditions every attention block on the text");
            }
            Map<String, TreeSet<Integer>> blocksPerAttention = new LinkedHashMap<>();
            for (String k : s.keySet()) {
                Matcher m = TRANSFORMER_BLOCK.matcher(k);
                if (m.matches()) {
                    blocksPerAttention.computeIfAbsent(m.group(1), x -> new TreeSet<>()).add(Integer.parseInt(m.group(2)));
                }
            }
            int depth = -1;
            for (Map.Entry<String, TreeSet<Integer>> e : blocksPerAttention.entrySet()) {
                int n = e.getValue().last() + 1;
                if (depth >= 0 && n != depth) {
                    throw new IllegalArgumentException("UNet attentions differ in depth: " + e.getKey() + " has " + n
                            + " transformer blocks, others " + depth + "; SD v1.x has 1 everywhere");
                }
                depth = n;
            }
            boolean linear = require(s, "mid_block.attentions.0.proj_in.weight", -1, "UNet").rank() == 2;
            Shape time1 = require(s, "time_embedding.linear_1.weight", 2, "UNet");
            if (time1.dim(1) != widths.get(0)) {
                throw new IllegalArgumentException("UNet time_embedding.linear_1.weight " + time1 + " does not take the "
                        + widths.get(0) + "-wide sinusoidal embedding (block_out_channels[0])");
            }
            for (int w : widths) {
                if (w % SD1_UNET_HEADS != 0 || w % 32 != 0) {
                    throw new IllegalArgumentException("UNet width " + w + " is not a multiple of 32 GroupNorm groups and "
                            + SD1_UNET_HEADS + " heads, as SD v1.x requires");
                }
            }
            return new Unet(convIn.dim(1), convOut.dim(0), widths, layersPerBlock, down, up, context, SD1_UNET_HEADS,
                    depth, linear, time1.dim(0));
        }

        /** The diffusers {@code unet/config.json} of this UNet (keys as in {@code runwayml/stable-diffusion-v1-5}). */
        public String configJson() {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("_class_name", "UNet2DConditionModel");
            c.put("act_fn", "silu");
            c.put("attention_head_dim", attentionHeads);
            c.put("block_out_channels", blockOutChannels);
            c.put("center_input_sample", false);
            c.put("cross_attention_dim", crossAttentionDim);
            c.put("down_block_types", downBlockTypes);
            c.put("downsample_padding", 1);
            c.put("flip_sin_to_cos", true);
            c.put("freq_shift", 0);
            c.put("in_channels", inChannels);
            c.put("layers_per_block", layersPerBlock);
            c.put("mid_block_scale_factor", 1);
            c.put("mid_block_type", "UNetMidBlock2DCrossAttn");
            c.put("norm_eps", 1e-5);
            c.put("norm_num_groups", 32);
            c.put("out_channels", outChannels);
            // 512-pixel images over the VAE's factor 8 (diffusers' DIFFUSERS_TO_LDM_DEFAULT_IMAGE_SIZE_MAP["v1"])
            c.put("sample_size", 64);
            c.put("transformer_layers_per_block", transformerLayersPerBlock);
            c.put("up_block_types", upBlockTypes);
            c.put("use_linear_projection", useLinearProjection);
            if (timeEmbedDim != 4 * blockOutChannels.get(0)) {
                c.put("time_embedding_dim", timeEmbedDim);
            }
            return JsonWriter.write(c);
        }
    }

    /**
     * A transformers CLIPTextModel (SD v1.x: CLIP ViT-L/14's text tower).
     *
     * @param vocabSize             rows of the token embedding (49408)
     * @param hiddenSize            width (768)
     * @param intermediateSize      MLP width (3072)
     * @param numHiddenLayers       encoder layers (12)
     * @param numAttentionHeads     heads (12; not visible in shapes: width / 64 unless given)
     * @param maxPositionEmbeddings rows of the position embedding (77)
     */
    public record TextEncoder(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                              int numAttentionHeads, int maxPositionEmbeddings) {
        private static final Pattern LAYER = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\..*");

        static TextEncoder detect(Map<String, Shape> s, int heads) {
            Shape tokens = require(s, "text_model.embeddings.token_embedding.weight", 2, "text encoder");
            Shape positions = require(s, "text_model.embeddings.position_embedding.weight", 2, "text encoder");
            int width = tokens.dim(1);
            TreeSet<Integer> layers = new TreeSet<>();
            for (String k : s.keySet()) {
                Matcher m = LAYER.matcher(k);
                if (m.matches()) {
                    layers.add(Integer.parseInt(m.group(1)));
                }
            }
            if (layers.isEmpty() || layers.last() + 1 != layers.size()) {
                throw new IllegalArgumentException("text encoder layers " + layers + " are not numbered 0…n−1");
            }
            Shape fc1 = require(s, "text_model.encoder.layers.0.mlp.fc1.weight", 2, "text encoder");
            if (positions.dim(1) != width || fc1.dim(1) != width) {
                throw new IllegalArgumentException("text encoder widths disagree: token embedding " + tokens
                        + ", position embedding " + positions + ", mlp.fc1 " + fc1);
            }
            int h = heads;
            if (h <= 0) {
                if (width % CLIP_HEAD_SIZE != 0) {
                    throw new IllegalArgumentException("the text encoder is " + width + " wide, not a multiple of CLIP's "
                            + "head size " + CLIP_HEAD_SIZE + ", so its head count cannot be inferred; give it "
                            + "explicitly (SingleFileCheckpoint.open(path, heads))");
                }
                h = width / CLIP_HEAD_SIZE;
            } else if (width % h != 0) {
                throw new IllegalArgumentException("text encoder width " + width + " is not divisible by " + h + " heads");
            }
            return new TextEncoder(tokens.dim(0), width, fc1.dim(0), layers.size(), h, positions.dim(0));
        }

        /**
         * The transformers {@code text_encoder/config.json}; the token ids and activation are those of SD v1.5's
         * (openai/clip-vit-large-patch14: bos 0, eos 2 (legacy pooling), pad 1, quick_gelu, eps 1e-5).
         */
        public String configJson() {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("architectures", List.of("CLIPTextModel"));
            c.put("attention_dropout", 0.0);
            c.put("bos_token_id", 0);
            c.put("dropout", 0.0);
            c.put("eos_token_id", 2);
            c.put("hidden_act", "quick_gelu");
            c.put("hidden_size", hiddenSize);
            c.put("intermediate_size", intermediateSize);
            c.put("layer_norm_eps", 1e-5);
            c.put("max_position_embeddings", maxPositionEmbeddings);
            c.put("model_type", "clip_text_model");
            c.put("num_attention_heads", numAttentionHeads);
            c.put("num_hidden_layers", numHiddenLayers);
            c.put("pad_token_id", 1);
            c.put("projection_dim", hiddenSize);
            c.put("vocab_size", vocabSize);
            return JsonWriter.write(c);
        }
    }

    /**
     * An AutoencoderKL as SD v1.x builds it.
     *
     * @param inChannels           image channels (3)
     * @param outChannels          decoded image channels (3)
     * @param latentChannels       latent channels (4)
     * @param blockOutChannels     width of each encoder level (SD v1.5: 128, 256, 512, 512)
     * @param layersPerBlock       resnets per encoder block (2; decoder blocks have one more)
     * @param useQuantConv         whether quant_conv is present
     * @param usePostQuantConv     whether post_quant_conv is present
     * @param midBlockAddAttention whether the mid blocks have attention
     */
    public record Vae(int inChannels, int outChannels, int latentChannels, List<Integer> blockOutChannels,
                      int layersPerBlock, boolean useQuantConv, boolean usePostQuantConv, boolean midBlockAddAttention) {
        private static final Pattern ENCODER_LEVEL = Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\..*");
        private static final Pattern RESNET = Pattern.compile("(encoder|decoder)\\.(down|up)_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\..*");

        public Vae {
            blockOutChannels = List.copyOf(blockOutChannels);
        }

        static Vae detect(Map<String, Shape> s, int decoderLevels) {
            TreeSet<Integer> encoderLevels = new TreeSet<>();
            Map<String, TreeSet<Integer>> resnets = new LinkedHashMap<>();
            for (String k : s.keySet()) {
                Matcher m = ENCODER_LEVEL.matcher(k);
                if (m.matches()) {
                    encoderLevels.add(Integer.parseInt(m.group(1)));
                }
                m = RESNET.matcher(k);
                if (m.matches()) {
                    resnets.computeIfAbsent(m.group(1) + "." + m.group(2) + "_blocks." + m.group(3), x -> new TreeSet<>())
                            .add(Integer.parseInt(m.group(4)));
                }
            }
            int levels = encoderLevels.size();
            if (levels == 0 || encoderLevels.last() + 1 != levels || decoderLevels != levels) {
                throw new IllegalArgumentException("VAE encoder levels " + encoderLevels + " and " + decoderLevels
                        + " decoder levels do not match");
            }
            int lpb = count(resnets, "encoder.down_blocks.0");
            List<Integer> widths = new ArrayList<>();
            for (int i = 0; i < levels; i++) {
                widths.add(require(s, "encoder.down_blocks." + i + ".resnets.0.conv1.weight", 4, "VAE").dim(0));
                checkCount(resnets, "encoder.down_blocks." + i, lpb);
                // decoder blocks have one resnet more, and run the encoder's widths in reverse
                checkCount(resnets, "decoder.up_blocks." + i, lpb + 1);
            }
            for (int d = 0; d < levels; d++) {
                int want = widths.get(levels - 1 - d);
                int got = require(s, "decoder.up_blocks." + d + ".resnets.0.conv1.weight", 4, "VAE").dim(0);
                if (got != want) {
                    throw new IllegalArgumentException("VAE decoder.up_blocks." + d + " is " + got
                            + " wide but encoder.down_blocks." + (levels - 1 - d) + " is " + want + " wide");
                }
            }
            Shape convIn = require(s, "encoder.conv_in.weight", 4, "VAE");
            Shape convOut = require(s, "decoder.conv_out.weight", 4, "VAE");
            int latent = require(s, "decoder.conv_in.weight", 4, "VAE").dim(1);
            int moments = require(s, "encoder.conv_out.weight", 4, "VAE").dim(0);
            if (moments != 2 * latent) {
                throw new IllegalArgumentException("VAE encoder.conv_out gives " + moments + " channels but the decoder takes "
                        + latent + " latent channels; expected mean and log-variance, 2 × " + latent);
            }
            return new Vae(convIn.dim(1), convOut.dim(0), latent, widths, lpb, s.containsKey("quant_conv.weight"),
                    s.containsKey("post_quant_conv.weight"), s.containsKey("encoder.mid_block.attentions.0.to_q.weight"));
        }

        private static int count(Map<String, TreeSet<Integer>> resnets, String block) {
            TreeSet<Integer> ids = resnets.getOrDefault(block, new TreeSet<>());
            if (ids.isEmpty() || ids.last() + 1 != ids.size()) {
                throw new IllegalArgumentException("VAE " + block + " resnets " + ids + " are not numbered 0…n−1");
            }
            return ids.size();
        }

        private static void checkCount(Map<String, TreeSet<Integer>> resnets, String block, int want) {
            int got = count(resnets, block);
            if (got != want) {
                throw new IllegalArgumentException("VAE " + block + " has " + got + " resnets, expected " + want);
            }
        }

        /** The diffusers {@code vae/config.json} of this VAE. */
        public String configJson() {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("_class_name", "AutoencoderKL");
            c.put("act_fn", "silu");
            c.put("block_out_channels", blockOutChannels);
            c.put("down_block_types", Collections.nCopies(blockOutChannels.size(), "DownEncoderBlock2D"));
            c.put("in_channels", inChannels);
            c.put("latent_channels", latentChannels);
            c.put("layers_per_block", layersPerBlock);
            c.put("mid_block_add_attention", midBlockAddAttention);
            c.put("norm_num_groups", 32);
            c.put("out_channels", outChannels);
            c.put("sample_size", 512);
            c.put("scaling_factor", SD1_VAE_SCALING_FACTOR);
            c.put("up_block_types", Collections.nCopies(blockOutChannels.size(), "UpDecoderBlock2D"));
            c.put("use_post_quant_conv", usePostQuantConv);
            c.put("use_quant_conv", useQuantConv);
            return JsonWriter.write(c);
        }
    }

    /** The shape of a tensor that must be there, of the given rank (−1: any). */
    private static Shape require(Map<String, Shape> s, String key, int rank, String component) {
        Shape shape = s.get(key);
        if (shape == null) {
            throw new IllegalArgumentException("the " + component + " has no '" + key
                    + "' (diffusers name), which an SD v1.x " + component + " needs");
        }
        if (rank >= 0 && shape.rank() != rank) {
            throw new IllegalArgumentException(component + " '" + key + "' has shape " + shape + "; expected rank " + rank);
        }
        return shape;
    }

    private static boolean hasPrefix(Map<String, Shape> s, String prefix) {
        return s.keySet().stream().anyMatch(k -> k.startsWith(prefix));
    }
}
