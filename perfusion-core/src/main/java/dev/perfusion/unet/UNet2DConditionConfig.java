package dev.perfusion.unet;

import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.io.JsonReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The parts of diffusers' {@code UNet2DConditionModel} configuration that SD v1.x / v2.x UNets use, with every
 * per-block value expanded to one entry per level (index = down-block index; up blocks read them reversed).
 *
 * <p>{@code attentionHeads}: the config key {@code attention_head_dim} is, for historical reasons, the number of
 * heads (diffusers: {@code num_attention_heads = num_attention_heads or attention_head_dim}); SD v1.5 has 8 heads of
 * size 40/80/160, SD 2.x [5, 10, 20, 20] heads of size 64.
 *
 * @param inChannels                latent channels in (4)
 * @param outChannels               latent channels out (4)
 * @param blockOutChannels          width of each level (SD v1.5: 320, 640, 1280, 1280)
 * @param layersPerBlock            resnets per down block (up blocks have one more)
 * @param downBlockTypes            {@code CrossAttnDownBlock2D} or {@code DownBlock2D} per level
 * @param upBlockTypes              {@code UpBlock2D} or {@code CrossAttnUpBlock2D} per level, deepest first
 * @param attentionHeads            heads per level (legacy {@code attention_head_dim})
 * @param crossAttentionDim         width of the encoder hidden states (768 for SD v1.x)
 * @param transformerLayersPerBlock transformer blocks per attention, per level (1)
 * @param normNumGroups             GroupNorm groups (32)
 * @param normEps                   GroupNorm eps of the resnets and conv_norm_out (1e-5)
 * @param flipSinToCos              cosines first in the time embedding (true)
 * @param freqShift                 diffusers' {@code freq_shift} (0)
 * @param useLinearProjection       Linear proj_in/proj_out (SD 2.x) instead of 1×1 convs (SD 1.x)
 * @param downsamplePadding         1
 * @param timeEmbedDim              width of the time embedding ({@code time_embedding_dim} or 4·blockOutChannels[0])
 * @param source                    where the config came from, for messages
 */
public record UNet2DConditionConfig(int inChannels, int outChannels, List<Integer> blockOutChannels,
                                    List<Integer> layersPerBlock, List<String> downBlockTypes,
                                    List<String> upBlockTypes, List<Integer> attentionHeads, int crossAttentionDim,
                                    List<Integer> transformerLayersPerBlock, int normNumGroups, float normEps,
                                    boolean flipSinToCos, float freqShift, boolean useLinearProjection,
                                    int downsamplePadding, int timeEmbedDim, String source) {
    /** Supported block type names, as diffusers spells them in config.json. */
    public static final String CROSS_ATTN_DOWN = "CrossAttnDownBlock2D";
    public static final String DOWN = "DownBlock2D";
    public static final String CROSS_ATTN_UP = "CrossAttnUpBlock2D";
    public static final String UP = "UpBlock2D";
    public static final String MID = "UNetMidBlock2DCrossAttn";

    public UNet2DConditionConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        layersPerBlock = List.copyOf(layersPerBlock);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        attentionHeads = List.copyOf(attentionHeads);
        transformerLayersPerBlock = List.copyOf(transformerLayersPerBlock);
        Objects.requireNonNull(source, "source");
        int n = blockOutChannels.size();
        if (n == 0) {
            throw new IllegalArgumentException(source + ": 'block_out_channels' is empty");
        }
        checkLength(source, "down_block_types", downBlockTypes.size(), n);
        checkLength(source, "up_block_types", upBlockTypes.size(), n);
        checkLength(source, "layers_per_block", layersPerBlock.size(), n);
        checkLength(source, "attention_head_dim", attentionHeads.size(), n);
        checkLength(source, "transformer_layers_per_block", transformerLayersPerBlock.size(), n);
        for (String t : downBlockTypes) {
            if (!t.equals(CROSS_ATTN_DOWN) && !t.equals(DOWN)) {
                throw new IllegalArgumentException(source + ": 'down_block_types' contains unsupported block type '" + t
                        + "' (supported: " + CROSS_ATTN_DOWN + ", " + DOWN + ")");
            }
        }
        for (String t : upBlockTypes) {
            if (!t.equals(CROSS_ATTN_UP) && !t.equals(UP)) {
                throw new IllegalArgumentException(source + ": 'up_block_types' contains unsupported block type '" + t
                        + "' (supported: " + UP + ", " + CROSS_ATTN_UP + ")");
            }
        }
        positive(source, "in_channels", inChannels);
        positive(source, "out_channels", outChannels);
        positive(source, "cross_attention_dim", crossAttentionDim);
        positive(source, "norm_num_groups", normNumGroups);
        positive(source, "time_embedding_dim", timeEmbedDim);
        for (int i = 0; i < n; i++) {
            positive(source, "block_out_channels", blockOutChannels.get(i));
            positive(source, "layers_per_block", layersPerBlock.get(i));
            positive(source, "attention_head_dim", attentionHeads.get(i));
            positive(source, "transformer_layers_per_block", transformerLayersPerBlock.get(i));
            if (blockOutChannels.get(i) % normNumGroups != 0) {
                throw new IllegalArgumentException(source + ": 'norm_num_groups' " + normNumGroups
                        + " does not divide block_out_channels[" + i + "] = " + blockOutChannels.get(i));
            }
        }
        if (downsamplePadding != 0 && downsamplePadding != 1) {
            throw new IllegalArgumentException(source + ": 'downsample_padding' must be 0 or 1, got " + downsamplePadding);
        }
    }

    private static void checkLength(String source, String key, int got, int want) {
        if (got != want) {
            throw new IllegalArgumentException(source + ": '" + key + "' has " + got + " entries but 'block_out_channels' has "
                    + want);
        }
    }

    private static void positive(String source, String key, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(source + ": '" + key + "' must be positive, got " + v);
        }
    }

    /** Number of resolution levels (down blocks). */
    public int levels() {
        return blockOutChannels.size();
    }

    /** Reads {@code dir/config.json} (or the file itself when {@code path} is a file). */
    public static UNet2DConditionConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("missing config file " + file);
        }
        return parse(text, file.toString());
    }

    /** Parses config JSON text; {@code source} names it in errors. */
    public static UNet2DConditionConfig parse(String json, String source) {
        DiffusersConfig c = DiffusersConfig.parse(json, source);
        // DiffusersConfig reads an explicit null like a missing key; a few keys mean something else when null
        Set<String> nulls = new HashSet<>();
        if (JsonReader.parse(json) instanceof Map<?, ?> root) {
            for (Map.Entry<?, ?> e : root.entrySet()) {
                if (e.getValue() == JsonReader.NULL || e.getValue() == null) {
                    nulls.add(String.valueOf(e.getKey()));
                }
            }
        }
        return from(c, nulls);
    }

    /**
     * Builds the config from a diffusers {@code config.json}, rejecting anything this implementation does not
     * compute (other block types, class/addition embeddings, other time-embedding kinds…) with an
     * IllegalArgumentException naming the file and the key. Keys that do not change the computation are ignored:
     * {@code sample_size}, {@code dropout} (this library never drops), {@code upcast_attention} (CPU attention is
     * float32 throughout), and keys that only feed features that are off. An explicit JSON null reads like a
     * missing key here (DiffusersConfig cannot tell them apart); {@link #read} and {@link #parse} also reject the
     * nulls that mean "no mid block" or "no output norm".
     */
    public static UNet2DConditionConfig from(DiffusersConfig c) {
        return from(c, Set.of());
    }

    private static UNet2DConditionConfig from(DiffusersConfig c, Set<String> explicitNulls) {
        String src = c.source();
        String cls = c.string("_class_name", "UNet2DConditionModel");
        if (!cls.equals("UNet2DConditionModel")) {
            throw new IllegalArgumentException(src + ": '_class_name' is '" + cls + "', expected UNet2DConditionModel");
        }
        List<Integer> blockOut = c.intList("block_out_channels", List.of(320, 640, 1280, 1280));
        int n = blockOut.size();
        List<String> down = c.stringList("down_block_types", List.of(CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, DOWN));
        List<String> up = c.stringList("up_block_types", List.of(UP, CROSS_ATTN_UP, CROSS_ATTN_UP, CROSS_ATTN_UP));
        if (explicitNulls.contains("mid_block_type")) {
            throw new IllegalArgumentException(src + ": 'mid_block_type' null (a UNet without a mid block) is not supported");
        }
        String mid = c.string("mid_block_type", MID);
        if (!MID.equals(mid)) {
            throw new IllegalArgumentException(src + ": 'mid_block_type' '" + mid + "' is not supported (only " + MID + ")");
        }
        if (c.has("num_attention_heads")) {
            // diffusers 0.30.3 itself raises here (naming issue #2011); the head count lives in attention_head_dim
            throw new IllegalArgumentException(src + ": 'num_attention_heads' is not supported by UNet2DConditionModel; "
                    + "SD configs give the head count in 'attention_head_dim'");
        }
        if (explicitNulls.contains("attention_head_dim")) {
            throw new IllegalArgumentException(src + ": 'attention_head_dim' is null; it must give the number of heads");
        }
        List<Integer> heads = perBlock(c, "attention_head_dim", 8, n);
        List<Integer> crossDims = perBlock(c, "cross_attention_dim", 1280, n);
        for (int d : crossDims) {
            if (d != crossDims.get(0)) {
                throw new IllegalArgumentException(src + ": 'cross_attention_dim' differs between blocks " + crossDims
                        + "; only one encoder width is supported");
            }
        }
        if (c.has("reverse_transformer_layers_per_block")) {
            throw new IllegalArgumentException(src + ": 'reverse_transformer_layers_per_block' is not supported");
        }
        List<Integer> transformerLayers = perBlock(c, "transformer_layers_per_block", 1, n);
        List<Integer> layers = perBlock(c, "layers_per_block", 2, n);

        requireValue(c, "act_fn", "silu");
        requireValue(c, "time_embedding_type", "positional");
        requireValue(c, "resnet_time_scale_shift", "default");
        requireValue(c, "attention_type", "default");
        requireFalse(c, "center_input_sample");
        requireFalse(c, "dual_cross_attention");
        requireFalse(c, "class_embeddings_concat");
        requireFalse(c, "mid_block_only_cross_attention");
        requireAllFalse(c, "only_cross_attention");
        for (String key : List.of("class_embed_type", "num_class_embeds", "addition_embed_type", "encoder_hid_dim",
                "encoder_hid_dim_type", "time_cond_proj_dim", "time_embedding_act_fn", "timestep_post_act",
                "cross_attention_norm")) {
            if (c.has(key)) {
                throw new IllegalArgumentException(src + ": '" + key + "' = " + c.raw(key)
                        + " is not supported (SD v1.x/v2.x leave it null)");
            }
        }
        for (String key : List.of("conv_in_kernel", "conv_out_kernel")) {
            int k = c.intValue(key, 3);
            if (k != 3) {
                throw new IllegalArgumentException(src + ": '" + key + "' must be 3, got " + k);
            }
        }
        double midScale = c.doubleValue("mid_block_scale_factor", 1.0);
        if (midScale != 1.0) {
            throw new IllegalArgumentException(src + ": 'mid_block_scale_factor' must be 1, got " + midScale);
        }
        if (explicitNulls.contains("norm_num_groups")) {
            throw new IllegalArgumentException(src + ": 'norm_num_groups' null (no conv_norm_out) is not supported");
        }
        int blockOut0 = n == 0 ? 0 : blockOut.get(0);
        int timeEmbedDim = c.has("time_embedding_dim") ? c.intValue("time_embedding_dim", 0) : blockOut0 * 4;
        return new UNet2DConditionConfig(
                c.intValue("in_channels", 4), c.intValue("out_channels", 4), blockOut, layers, down, up, heads,
                crossDims.isEmpty() ? 0 : crossDims.get(0), transformerLayers, c.intValue("norm_num_groups", 32),
                (float) c.doubleValue("norm_eps", 1e-5), c.boolValue("flip_sin_to_cos", true),
                (float) c.doubleValue("freq_shift", 0), c.boolValue("use_linear_projection", false),
                c.intValue("downsample_padding", 1), timeEmbedDim, src);
    }

    /** An int or a list of one int per block; a single int is repeated. */
    private static List<Integer> perBlock(DiffusersConfig c, String key, int defaultValue, int n) {
        List<Integer> v = c.intList(key, List.of(defaultValue));
        if (c.raw(key) instanceof List<?>) {
            if (v.size() != n) {
                throw new IllegalArgumentException(c.source() + ": '" + key + "' has " + v.size()
                        + " entries but 'block_out_channels' has " + n);
            }
            return v;
        }
        return Collections.nCopies(n, v.get(0));
    }

    private static void requireValue(DiffusersConfig c, String key, String want) {
        String v = c.string(key, want);
        if (!want.equals(v)) {
            throw new IllegalArgumentException(c.source() + ": '" + key + "' = '" + v + "' is not supported (only '"
                    + want + "')");
        }
    }

    private static void requireFalse(DiffusersConfig c, String key) {
        if (c.boolValue(key, false)) {
            throw new IllegalArgumentException(c.source() + ": '" + key + "' = true is not supported");
        }
    }

    private static void requireAllFalse(DiffusersConfig c, String key) {
        Object v = c.raw(key);
        if (v == null || Boolean.FALSE.equals(v)) {
            return;
        }
        if (v instanceof List<?> list && list.stream().allMatch(Boolean.FALSE::equals)) {
            return;
        }
        throw new IllegalArgumentException(c.source() + ": '" + key + "' = " + v + " is not supported (only false)");
    }

}
