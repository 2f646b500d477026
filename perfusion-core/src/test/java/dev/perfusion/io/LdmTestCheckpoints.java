package dev.perfusion.io;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test fixtures for single-file LDM checkpoints, written independently of {@link LdmKeyMap}:
 * <ul>
 *   <li>{@link #unetToLdm}, {@link #vaeToLdm}, {@link #textToLdm}: the inverse naming, diffusers → LDM, written
 *       from the diffusers side, used to turn the golden tiny diffusers model into an LDM-layout file;</li>
 *   <li>{@link #ldmShapes}: the LDM key/shape inventory of an SD-family model generated from the structure of
 *       CompVis' {@code openaimodel.UNetModel}, {@code model.Encoder/Decoder} and HF CLIP, e.g. SD v1.5's.</li>
 * </ul>
 */
final class LdmTestCheckpoints {
    static final Path GOLDEN = Path.of("src/test/resources/golden");
    static final Path TINY = GOLDEN.resolve("tiny-sd15");

    private LdmTestCheckpoints() {
    }

    // ------------------------------------------------------------------ inverse naming (diffusers → LDM)

    private static final Pattern DOWN = Pattern.compile("down_blocks\\.(\\d+)\\.(resnets|attentions|downsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern UP = Pattern.compile("up_blocks\\.(\\d+)\\.(resnets|attentions|upsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern VAE_BLOCK = Pattern.compile(
            "(encoder|decoder)\\.(down_blocks|up_blocks)\\.(\\d+)\\.(resnets|downsamplers|upsamplers)\\.(\\d+)\\.(.+)");

    /** A UNet resnet's part, diffusers → LDM ({@code ResBlock}: in_layers [GN, SiLU, conv], out_layers [GN, SiLU, Dropout, conv]). */
    private static String unetResnetPart(String part) {
        String[] p = part.split("\\.", 2);
        String module = switch (p[0]) {
            case "norm1" -> "in_layers.0";
            case "conv1" -> "in_layers.2";
            case "norm2" -> "out_layers.0";
            case "conv2" -> "out_layers.3";
            case "time_emb_proj" -> "emb_layers.1";
            case "conv_shortcut" -> "skip_connection";
            default -> throw new AssertionError("unexpected resnet part " + part);
        };
        return module + "." + p[1];
    }

    /**
     * The LDM key (with prefix) of a diffusers UNet key. {@code upWithAttention}: which up blocks have attention
     * (their upsampler then sits at index 2 of the output block instead of 1).
     */
    static String unetToLdm(String key, int layersPerBlock, Set<Integer> upWithAttention) {
        int per = layersPerBlock + 1;
        String ldm;
        Matcher m = DOWN.matcher(key);
        Matcher u = UP.matcher(key);
        if (m.matches()) {
            int b = Integer.parseInt(m.group(1));
            int l = Integer.parseInt(m.group(3));
            String rest = m.group(4);
            ldm = switch (m.group(2)) {
                case "resnets" -> "input_blocks." + (1 + b * per + l) + ".0." + unetResnetPart(rest);
                case "attentions" -> "input_blocks." + (1 + b * per + l) + ".1." + rest;
                default -> "input_blocks." + (1 + b * per + layersPerBlock) + ".0.op." + rest.substring("conv.".length());
            };
        } else if (u.matches()) {
            int b = Integer.parseInt(u.group(1));
            int l = Integer.parseInt(u.group(3));
            String rest = u.group(4);
            ldm = switch (u.group(2)) {
                case "resnets" -> "output_blocks." + (b * per + l) + ".0." + unetResnetPart(rest);
                case "attentions" -> "output_blocks." + (b * per + l) + ".1." + rest;
                default -> "output_blocks." + (b * per + layersPerBlock) + "." + (upWithAttention.contains(b) ? 2 : 1) + "." + rest;
            };
        } else if (key.startsWith("mid_block.resnets.0.")) {
            ldm = "middle_block.0." + unetResnetPart(key.substring("mid_block.resnets.0.".length()));
        } else if (key.startsWith("mid_block.resnets.1.")) {
            ldm = "middle_block.2." + unetResnetPart(key.substring("mid_block.resnets.1.".length()));
        } else if (key.startsWith("mid_block.attentions.0.")) {
            ldm = "middle_block.1." + key.substring("mid_block.attentions.0.".length());
        } else {
            String[] p = key.split("\\.", 2);
            String module = switch (p[0]) {
                case "conv_in" -> "input_blocks.0.0";
                case "conv_norm_out" -> "out.0";
                case "conv_out" -> "out.2";
                case "time_embedding" -> p[1].startsWith("linear_1.") ? "time_embed.0" : "time_embed.2";
                default -> throw new AssertionError("unexpected UNet key " + key);
            };
            ldm = module + "." + p[1].substring(p[1].lastIndexOf('.') + 1);
        }
        return LdmKeyMap.UNET_PREFIX + ldm;
    }

    /** The LDM key (with prefix) of a diffusers VAE key; {@code levels} decoder levels (numbered in reverse in LDM). */
    static String vaeToLdm(String key, int levels) {
        Matcher m = VAE_BLOCK.matcher(key);
        String ldm;
        if (m.matches()) {
            int level = Integer.parseInt(m.group(3));
            boolean encoder = m.group(1).equals("encoder");
            String stage = encoder ? "encoder.down." + level : "decoder.up." + (levels - 1 - level);
            String rest = m.group(6);
            ldm = switch (m.group(4)) {
                case "resnets" -> stage + ".block." + m.group(5) + "." + rest.replace("conv_shortcut", "nin_shortcut");
                case "downsamplers" -> stage + ".downsample." + rest;
                default -> stage + ".upsample." + rest;
            };
        } else if (key.contains(".mid_block.")) {
            ldm = key.replace("mid_block.resnets.0.", "mid.block_1.").replace("mid_block.resnets.1.", "mid.block_2.")
                    .replace("mid_block.attentions.0.group_norm.", "mid.attn_1.norm.")
                    .replace("mid_block.attentions.0.to_q.", "mid.attn_1.q.")
                    .replace("mid_block.attentions.0.to_k.", "mid.attn_1.k.")
                    .replace("mid_block.attentions.0.to_v.", "mid.attn_1.v.")
                    .replace("mid_block.attentions.0.to_out.0.", "mid.attn_1.proj_out.");
        } else {
            ldm = key.replace("conv_norm_out.", "norm_out.");
        }
        return LdmKeyMap.VAE_PREFIX + ldm;
    }

    /** The LDM key of a transformers CLIPTextModel key; {@code legacy}: without the {@code text_model.} level. */
    static String textToLdm(String key, boolean legacy) {
        return LdmKeyMap.TEXT_ENCODER_PREFIX + (legacy ? key.substring("text_model.".length()) : key);
    }

    // ------------------------------------------------------------------ writing an LDM file from diffusers parts

    /** What {@link #writeLdmFile} puts in besides the three models. */
    record Options(Path unetDir, boolean legacyClip, boolean vaeAttentionAsConv, boolean withVae,
                   Map<String, float[]> extraF32, Map<String, Shape> extraShapes) {
        static Options standard() {
            Map<String, float[]> extra = new LinkedHashMap<>();
            Map<String, Shape> shapes = new LinkedHashMap<>();
            // non-weights a real SD v1 file carries: schedule buffers, EMA bookkeeping, CLIP position ids
            extra.put("alphas_cumprod", new float[1000]);
            shapes.put("alphas_cumprod", Shape.of(1000));
            extra.put("betas", new float[1000]);
            shapes.put("betas", Shape.of(1000));
            extra.put("model_ema.decay", new float[] {0.9999f});
            shapes.put("model_ema.decay", Shape.of());
            extra.put("model_ema.num_updates", new float[] {1});
            shapes.put("model_ema.num_updates", Shape.of());
            extra.put("cond_stage_model.transformer.text_model.embeddings.position_ids", new float[77]);
            shapes.put("cond_stage_model.transformer.text_model.embeddings.position_ids", Shape.of(1, 77));
            return new Options(TINY.resolve("unet"), false, true, true, extra, shapes);
        }

        Options legacy() {
            Map<String, float[]> extra = new LinkedHashMap<>(extraF32);
            Map<String, Shape> shapes = new LinkedHashMap<>(extraShapes);
            float[] ids = extra.remove("cond_stage_model.transformer.text_model.embeddings.position_ids");
            shapes.remove("cond_stage_model.transformer.text_model.embeddings.position_ids");
            extra.put("cond_stage_model.transformer.embeddings.position_ids", ids);
            shapes.put("cond_stage_model.transformer.embeddings.position_ids", Shape.of(1, 77));
            return new Options(unetDir, true, vaeAttentionAsConv, withVae, extra, shapes);
        }

        Options withExtra(String key, Shape shape) {
            Map<String, float[]> extra = new LinkedHashMap<>(extraF32);
            Map<String, Shape> shapes = new LinkedHashMap<>(extraShapes);
            extra.put(key, new float[shape.numelInt()]);
            shapes.put(key, shape);
            return new Options(unetDir, legacyClip, vaeAttentionAsConv, withVae, extra, shapes);
        }

        Options unet(Path dir) {
            return new Options(dir, legacyClip, vaeAttentionAsConv, withVae, extraF32, extraShapes);
        }

        Options noVae() {
            return new Options(unetDir, legacyClip, vaeAttentionAsConv, false, extraF32, extraShapes);
        }

        Options attentionAsLinear() {
            return new Options(unetDir, legacyClip, false, withVae, extraF32, extraShapes);
        }
    }

    /** One tensor to write: dtype, shape, raw little-endian bytes. */
    record Raw(DType dtype, Shape shape, byte[] bytes) {
    }

    /**
     * Writes an LDM-layout single file made of the golden diffusers UNet ({@code options.unetDir}), VAE and text
     * encoder of tiny-sd15, renamed by the inverse mapping, with the VAE attention weights as 1×1 convs.
     *
     * @return LDM key → diffusers key, for the tensors of the three models
     */
    static Map<String, String> writeLdmFile(Path out, Options options) throws IOException {
        Map<String, Raw> tensors = new TreeMap<>(); // sorted, as safetensors' writers order their headers
        Map<String, String> names = new LinkedHashMap<>();
        try (SafeTensors unet = SafeTensors.open(options.unetDir().resolve("diffusion_pytorch_model.safetensors"))) {
            int layersPerBlock = DiffusersConfig.read(options.unetDir()).requireInt("layers_per_block");
            Set<Integer> upWithAttention = new TreeSet<>();
            for (String k : unet.names()) {
                Matcher m = UP.matcher(k);
                if (m.matches() && m.group(2).equals("attentions")) {
                    upWithAttention.add(Integer.parseInt(m.group(1)));
                }
            }
            for (String k : unet.names()) {
                put(tensors, names, unetToLdm(k, layersPerBlock, upWithAttention), k, unet, k, null);
            }
        }
        if (options.withVae()) {
            try (SafeTensors vae = SafeTensors.open(TINY.resolve("vae/diffusion_pytorch_model.safetensors"))) {
                int levels = DiffusersConfig.read(TINY.resolve("vae")).intList("block_out_channels", List.of()).size();
                for (String k : vae.names()) {
                    Shape shape = vae.info(k).shape();
                    boolean convAttention = options.vaeAttentionAsConv() && k.contains("mid_block.attentions.0.to_")
                            && k.endsWith(".weight");
                    Shape ldmShape = convAttention ? Shape.of(shape.dim(0), shape.dim(1), 1, 1) : null;
                    put(tensors, names, vaeToLdm(k, levels), k, vae, k, ldmShape);
                }
            }
        }
        try (SafeTensors text = SafeTensors.open(TINY.resolve("text_encoder/model.safetensors"))) {
            for (String k : text.names()) {
                put(tensors, names, textToLdm(k, options.legacyClip()), k, text, k, null);
            }
        }
        options.extraF32().forEach((k, v) -> {
            ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : v) {
                b.putFloat(f);
            }
            tensors.put(k, new Raw(DType.FLOAT32, options.extraShapes().get(k), b.array()));
        });
        write(out, tensors);
        return names;
    }

    private static void put(Map<String, Raw> tensors, Map<String, String> names, String ldmKey, String diffusersKey,
                            SafeTensors source, String sourceKey, Shape newShape) {
        if (tensors.containsKey(ldmKey)) {
            throw new AssertionError("the inverse mapping sends two keys to " + ldmKey);
        }
        ByteBuffer buf = source.buffer(sourceKey);
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        TensorInfo info = source.info(sourceKey);
        tensors.put(ldmKey, new Raw(info.dtype(), newShape == null ? info.shape() : newShape, bytes));
        names.put(ldmKey, diffusersKey);
    }

    /** Writes a safetensors file from raw tensors (header built here, not by the library's writer). */
    static void write(Path out, Map<String, Raw> tensors) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        List<byte[]> parts = new ArrayList<>();
        for (Map.Entry<String, Raw> e : tensors.entrySet()) {
            Raw r = e.getValue();
            List<Long> dims = new ArrayList<>();
            for (int d : r.shape().dims()) {
                dims.add((long) d);
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", r.dtype().safetensorsName());
            entry.put("shape", dims);
            entry.put("data_offsets", List.of(offset, offset + r.bytes().length));
            header.put(e.getKey(), entry);
            offset += r.bytes().length;
            parts.add(r.bytes());
        }
        byte[] data = new byte[(int) offset];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, data, at, p.length);
            at += p.length;
        }
        Files.write(out, SafeTensorsFiles.file(JsonWriter.write(header).getBytes(StandardCharsets.UTF_8), data));
    }

    // ------------------------------------------------------------------ LDM inventories from the LDM structure

    /**
     * The size parameters of an SD-family LDM checkpoint, named as in the original YAML configs.
     *
     * @param modelChannels      UNet model_channels (SD v1: 320)
     * @param channelMult        UNet channel_mult ([1, 2, 4, 4])
     * @param numResBlocks       UNet num_res_blocks (2)
     * @param attentionLevels    the levels whose resolution is in attention_resolutions (SD v1: 0, 1, 2)
     * @param contextDim         context_dim (768)
     * @param vaeCh              first_stage ddconfig.ch (128)
     * @param vaeMult            ddconfig.ch_mult ([1, 2, 4, 4])
     * @param vaeResBlocks       ddconfig.num_res_blocks (2)
     * @param textWidth          CLIP width (768)
     * @param textLayers         CLIP layers (12)
     * @param legacyClip         CLIP keys without {@code text_model.}
     */
    record Arch(int modelChannels, int[] channelMult, int numResBlocks, Set<Integer> attentionLevels, int contextDim,
                int vaeCh, int[] vaeMult, int vaeResBlocks, int textWidth, int textLayers, boolean legacyClip) {
        static Arch sd15() {
            return new Arch(320, new int[] {1, 2, 4, 4}, 2, Set.of(0, 1, 2), 768, 128, new int[] {1, 2, 4, 4}, 2, 768, 12,
                    false);
        }

        Arch withContext(int width) {
            return new Arch(modelChannels, channelMult, numResBlocks, attentionLevels, width, vaeCh, vaeMult, vaeResBlocks,
                    textWidth, textLayers, legacyClip);
        }

        Arch legacy() {
            return new Arch(modelChannels, channelMult, numResBlocks, attentionLevels, contextDim, vaeCh, vaeMult,
                    vaeResBlocks, textWidth, textLayers, true);
        }
    }

    /**
     * Every tensor (LDM key → shape) of a checkpoint of architecture {@code a}, following CompVis'
     * {@code UNetModel.__init__} (input_block_chans bookkeeping, attention where the level is listed, Upsample on
     * the last block of every output level but the last), {@code Encoder}/{@code Decoder} and HF CLIPTextModel,
     * plus SD v1.5's non-weight buffers.
     */
    static Map<String, Shape> ldmShapes(Arch a) {
        Map<String, Shape> s = new LinkedHashMap<>();
        String u = LdmKeyMap.UNET_PREFIX;
        int mc = a.modelChannels();
        int temb = 4 * mc;
        linear(s, u + "time_embed.0", temb, mc);
        linear(s, u + "time_embed.2", temb, temb);
        conv(s, u + "input_blocks.0.0", mc, 4, 3);
        List<Integer> chans = new ArrayList<>(List.of(mc));
        int ch = mc;
        int block = 1;
        int levels = a.channelMult().length;
        for (int level = 0; level < levels; level++) {
            for (int r = 0; r < a.numResBlocks(); r++) {
                int out = mc * a.channelMult()[level];
                resBlock(s, u + "input_blocks." + block + ".0.", ch, out, temb);
                ch = out;
                if (a.attentionLevels().contains(level)) {
                    spatialTransformer(s, u + "input_blocks." + block + ".1.", ch, a.contextDim());
                }
                chans.add(ch);
                block++;
            }
            if (level != levels - 1) {
                conv(s, u + "input_blocks." + block + ".0.op", ch, ch, 3);
                chans.add(ch);
                block++;
            }
        }
        resBlock(s, u + "middle_block.0.", ch, ch, temb);
        spatialTransformer(s, u + "middle_block.1.", ch, a.contextDim());
        resBlock(s, u + "middle_block.2.", ch, ch, temb);
        block = 0;
        for (int level = levels - 1; level >= 0; level--) {
            for (int i = 0; i <= a.numResBlocks(); i++) {
                int skip = chans.remove(chans.size() - 1);
                int out = mc * a.channelMult()[level];
                resBlock(s, u + "output_blocks." + block + ".0.", ch + skip, out, temb);
                ch = out;
                int part = 1;
                if (a.attentionLevels().contains(level)) {
                    spatialTransformer(s, u + "output_blocks." + block + ".1.", ch, a.contextDim());
                    part = 2;
                }
                if (level > 0 && i == a.numResBlocks()) {
                    conv(s, u + "output_blocks." + block + "." + part + ".conv", ch, ch, 3);
                }
                block++;
            }
        }
        norm(s, u + "out.0", ch);
        conv(s, u + "out.2", 4, ch, 3);

        vae(s, a);
        text(s, a);
        for (String buffer : List.of("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
                "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod",
                "sqrt_recipm1_alphas_cumprod", "posterior_variance", "posterior_log_variance_clipped",
                "posterior_mean_coef1", "posterior_mean_coef2")) {
            s.put(buffer, Shape.of(1000));
        }
        s.put("model_ema.decay", Shape.of());
        s.put("model_ema.num_updates", Shape.of());
        return s;
    }

    private static void vae(Map<String, Shape> s, Arch a) {
        String e = LdmKeyMap.VAE_PREFIX + "encoder.";
        String d = LdmKeyMap.VAE_PREFIX + "decoder.";
        int n = a.vaeMult().length;
        int z = 4;
        conv(s, e + "conv_in", a.vaeCh(), 3, 3);
        int in = a.vaeCh();
        for (int level = 0; level < n; level++) {
            int out = a.vaeCh() * a.vaeMult()[level];
            for (int b = 0; b < a.vaeResBlocks(); b++) {
                vaeResnet(s, e + "down." + level + ".block." + b + ".", in, out);
                in = out;
            }
            if (level != n - 1) {
                conv(s, e + "down." + level + ".downsample.conv", in, in, 3);
            }
        }
        vaeMid(s, e + "mid.", in);
        norm(s, e + "norm_out", in);
        conv(s, e + "conv_out", 2 * z, in, 3);
        conv(s, LdmKeyMap.VAE_PREFIX + "quant_conv", 2 * z, 2 * z, 1);
        conv(s, LdmKeyMap.VAE_PREFIX + "post_quant_conv", z, z, 1);
        in = a.vaeCh() * a.vaeMult()[n - 1];
        conv(s, d + "conv_in", in, z, 3);
        vaeMid(s, d + "mid.", in);
        for (int level = n - 1; level >= 0; level--) {
            int out = a.vaeCh() * a.vaeMult()[level];
            for (int b = 0; b <= a.vaeResBlocks(); b++) {
                vaeResnet(s, d + "up." + level + ".block." + b + ".", in, out);
                in = out;
            }
            if (level != 0) {
                conv(s, d + "up." + level + ".upsample.conv", in, in, 3);
            }
        }
        norm(s, d + "norm_out", in);
        conv(s, d + "conv_out", 3, in, 3);
    }

    private static void text(Map<String, Shape> s, Arch a) {
        String t = LdmKeyMap.TEXT_ENCODER_PREFIX + (a.legacyClip() ? "" : "text_model.");
        int w = a.textWidth();
        s.put(t + "embeddings.token_embedding.weight", Shape.of(49408, w));
        s.put(t + "embeddings.position_embedding.weight", Shape.of(77, w));
        s.put(t + "embeddings.position_ids", Shape.of(1, 77));
        for (int l = 0; l < a.textLayers(); l++) {
            String p = t + "encoder.layers." + l + ".";
            for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
                linear(s, p + "self_attn." + proj, w, w);
            }
            norm(s, p + "layer_norm1", w);
            linear(s, p + "mlp.fc1", 4 * w, w);
            linear(s, p + "mlp.fc2", w, 4 * w);
            norm(s, p + "layer_norm2", w);
        }
        norm(s, t + "final_layer_norm", w);
    }

    /** CompVis ResBlock: in_layers [GroupNorm, SiLU, conv3×3], emb_layers [SiLU, Linear], out_layers [GN, SiLU, Dropout, conv3×3]. */
    private static void resBlock(Map<String, Shape> s, String p, int in, int out, int temb) {
        norm(s, p + "in_layers.0", in);
        conv(s, p + "in_layers.2", out, in, 3);
        linear(s, p + "emb_layers.1", out, temb);
        norm(s, p + "out_layers.0", out);
        conv(s, p + "out_layers.3", out, out, 3);
        if (in != out) {
            conv(s, p + "skip_connection", out, in, 1);
        }
    }

    /** CompVis SpatialTransformer (depth 1, 1×1 conv projections, GEGLU feed-forward of inner width 4C). */
    private static void spatialTransformer(Map<String, Shape> s, String p, int c, int context) {
        norm(s, p + "norm", c);
        conv(s, p + "proj_in", c, c, 1);
        String b = p + "transformer_blocks.0.";
        for (String attn : List.of("attn1", "attn2")) {
            int kv = attn.equals("attn1") ? c : context;
            s.put(b + attn + ".to_q.weight", Shape.of(c, c));
            s.put(b + attn + ".to_k.weight", Shape.of(c, kv));
            s.put(b + attn + ".to_v.weight", Shape.of(c, kv));
            linear(s, b + attn + ".to_out.0", c, c);
        }
        linear(s, b + "ff.net.0.proj", 8 * c, c);
        linear(s, b + "ff.net.2", c, 4 * c);
        norm(s, b + "norm1", c);
        norm(s, b + "norm2", c);
        norm(s, b + "norm3", c);
        conv(s, p + "proj_out", c, c, 1);
    }

    private static void vaeResnet(Map<String, Shape> s, String p, int in, int out) {
        norm(s, p + "norm1", in);
        conv(s, p + "conv1", out, in, 3);
        norm(s, p + "norm2", out);
        conv(s, p + "conv2", out, out, 3);
        if (in != out) {
            conv(s, p + "nin_shortcut", out, in, 1);
        }
    }

    private static void vaeMid(Map<String, Shape> s, String p, int c) {
        vaeResnet(s, p + "block_1.", c, c);
        norm(s, p + "attn_1.norm", c);
        for (String x : List.of("q", "k", "v", "proj_out")) {
            conv(s, p + "attn_1." + x, c, c, 1);
        }
        vaeResnet(s, p + "block_2.", c, c);
    }

    private static void conv(Map<String, Shape> s, String p, int out, int in, int k) {
        s.put(p + ".weight", Shape.of(out, in, k, k));
        s.put(p + ".bias", Shape.of(out));
    }

    private static void linear(Map<String, Shape> s, String p, int out, int in) {
        s.put(p + ".weight", Shape.of(out, in));
        s.put(p + ".bias", Shape.of(out));
    }

    private static void norm(Map<String, Shape> s, String p, int c) {
        s.put(p + ".weight", Shape.of(c));
        s.put(p + ".bias", Shape.of(c));
    }

    /** Shapes with {@code f} applied to every entry whose key contains {@code needle}. */
    static Map<String, Shape> replaceShapes(Map<String, Shape> s, String needle, UnaryOperator<Shape> f) {
        Map<String, Shape> out = new LinkedHashMap<>();
        s.forEach((k, v) -> out.put(k, k.contains(needle) ? f.apply(v) : v));
        return out;
    }
}
