package dev.perfusion.io;

import dev.perfusion.tensor.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place where the tensor names of a single-file Stable Diffusion v1.x checkpoint in the original
 * CompVis/LDM layout ({@code v1-5-pruned-emaonly.safetensors}) are translated to diffusers / transformers names.
 *
 * <p>A single file holds three models under three prefixes: the UNet under {@value #UNET_PREFIX}, the VAE
 * under {@value #VAE_PREFIX} and the CLIP text encoder under {@value #TEXT_ENCODER_PREFIX}. The rules below are
 * the facts of diffusers' {@code loaders/single_file_utils.py} ({@code convert_ldm_unet_checkpoint},
 * {@code convert_ldm_vae_checkpoint}, {@code convert_ldm_clip_checkpoint}; the same rules as the older
 * {@code pipelines/stable_diffusion/convert_from_ckpt.py}), restated:
 *
 * <p><b>UNet</b> (L = layers_per_block, n = number of levels):
 * <pre>
 *   time_embed.0 / .2                → time_embedding.linear_1 / linear_2
 *   input_blocks.0.0                 → conv_in
 *   input_blocks.i.0 (resnet)        → down_blocks.b.resnets.l      b = (i−1) / (L+1), l = (i−1) mod (L+1)
 *   input_blocks.i.1 (transformer)   → down_blocks.b.attentions.l
 *   input_blocks.i.0.op (l = L)      → down_blocks.b.downsamplers.0.conv
 *   middle_block.0 / .1 / .2         → mid_block.resnets.0 / attentions.0 / resnets.1
 *   output_blocks.i.0 (resnet)       → up_blocks.b.resnets.l        b = i / (L+1),     l = i mod (L+1)
 *   output_blocks.i.1 (transformer)  → up_blocks.b.attentions.l
 *   output_blocks.i.{1|2}.conv       → up_blocks.b.upsamplers.0.conv  (index 2 when the block has attention)
 *   out.0 / out.2                    → conv_norm_out / conv_out
 *   resnet parts: in_layers.0 → norm1, in_layers.2 → conv1, out_layers.0 → norm2, out_layers.3 → conv2,
 *                 emb_layers.1 → time_emb_proj, skip_connection → conv_shortcut
 * </pre>
 * Inside a transformer (LDM's {@code SpatialTransformer}) the names are already diffusers' ({@code norm},
 * {@code proj_in}, {@code transformer_blocks.k.attn1.to_q}, {@code ff.net.0.proj}, …), so only the prefix changes.
 * L and n are read from the keys: n − 1 is the number of {@code input_blocks.i.0.op} downsamplers, and the
 * output side has n·(L+1) blocks.
 *
 * <p><b>VAE</b> (n levels): {@code encoder.down.i.block.j → encoder.down_blocks.i.resnets.j},
 * {@code encoder.down.i.downsample → encoder.down_blocks.i.downsamplers.0},
 * {@code decoder.up.i.block.j → decoder.up_blocks.(n−1−i).resnets.j} (LDM numbers the decoder levels from the
 * output end, diffusers from the latent end), {@code decoder.up.i.upsample → decoder.up_blocks.(n−1−i).upsamplers.0},
 * {@code mid.block_1 / attn_1 / block_2 → mid_block.resnets.0 / attentions.0 / resnets.1},
 * {@code norm_out → conv_norm_out}, {@code nin_shortcut → conv_shortcut}; attention parts {@code norm, q, k, v,
 * proj_out → group_norm, to_q, to_k, to_v, to_out.0}, whose 1×1-conv weights {@code [C, C, 1, 1]} become
 * Linear weights {@code [C, C]} (same bytes, row-major).
 *
 * <p><b>Text encoder</b>: SD v1 stores transformers' own {@code CLIPTextModel} under
 * {@value #TEXT_ENCODER_PREFIX}, so the prefix is dropped. Some older files (saved with early transformers
 * versions; NovelAI-derived models among them) lack the {@code text_model.} level ({@code cond_stage_model.transformer.encoder.layers…}); it is inserted, as
 * AUTOMATIC1111's {@code checkpoint_dict_replacements} do.
 *
 * <p>Mapping is strict: every key must be mapped or be a known non-weight entry (listed by {@link #skipped()}:
 * the DDPM noise-schedule buffers, {@code model_ema.*}, CLIP's {@code position_ids}, training-only loss
 * weights); all other keys are reported together in one {@link IllegalArgumentException}. Files of other model
 * families (SD 2.x, SDXL, ControlNet, SD3, a diffusers-layout state dict) are recognised first and rejected
 * with a message saying what was found.
 */
public final class LdmKeyMap {
    /** Prefix of the UNet's tensors. */
    public static final String UNET_PREFIX = "model.diffusion_model.";
    /** Prefix of the VAE's tensors. */
    public static final String VAE_PREFIX = "first_stage_model.";
    /** Prefix of the CLIP text encoder's tensors. */
    public static final String TEXT_ENCODER_PREFIX = "cond_stage_model.transformer.";

    /**
     * Buffers of LDM's {@code DDPM.register_schedule} (the noise schedule, recomputed by the scheduler) and the
     * training-only {@code logvar}; none is a weight of the three models.
     */
    static final Set<String> SCHEDULE_BUFFERS = Set.of(
            "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
            "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
            "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
            "lvlb_weights", "logvar");

    /** The three models of a single file. */
    public enum Component {
        UNET("UNet"), TEXT_ENCODER("text encoder"), VAE("VAE");

        private final String label;

        Component(String label) {
            this.label = label;
        }

        /** A readable name for messages. */
        public String label() {
            return label;
        }
    }

    /**
     * Where one LDM tensor goes.
     *
     * @param component the model it belongs to
     * @param key       its diffusers / transformers key, e.g. {@code down_blocks.0.resnets.0.conv1.weight}
     * @param shape     its diffusers shape: the LDM shape, except for the VAE attention weights
     *                  ({@code [C, C, 1, 1] → [C, C]}); always the same number of elements
     */
    public record Target(Component component, String key, Shape shape) {
    }

    private static final String WB = "(weight|bias)";
    private static final Pattern INPUT_BLOCK = Pattern.compile("input_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");
    private static final Pattern MIDDLE_BLOCK = Pattern.compile("middle_block\\.(\\d+)\\.(.+)");
    private static final Pattern OUTPUT_BLOCK = Pattern.compile("output_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");
    private static final Pattern DOWNSAMPLER_OP = Pattern.compile("input_blocks\\.(\\d+)\\.0\\.op\\.weight");
    /** The parameters of LDM's SpatialTransformer, named as diffusers' Transformer2DModel names them. */
    private static final Pattern TRANSFORMER_PART = Pattern.compile(
            "(norm|proj_in|proj_out)\\." + WB
                    + "|transformer_blocks\\.\\d+\\.(attn[12]\\.(to_[qkv]\\.weight|to_out\\.0\\." + WB + ")"
                    + "|norm[123]\\." + WB + "|ff\\.net\\.(0\\.proj|2)\\." + WB + ")");
    private static final Map<String, String> UNET_RESNET_PARTS = Map.of(
            "in_layers.0", "norm1", "in_layers.2", "conv1", "out_layers.0", "norm2", "out_layers.3", "conv2",
            "emb_layers.1", "time_emb_proj", "skip_connection", "conv_shortcut");
    private static final Map<String, String> UNET_TOP = Map.of(
            "time_embed.0", "time_embedding.linear_1", "time_embed.2", "time_embedding.linear_2",
            "input_blocks.0.0", "conv_in", "out.0", "conv_norm_out", "out.2", "conv_out");

    private static final Pattern VAE_DOWN = Pattern.compile("encoder\\.down\\.(\\d+)\\.(block\\.(\\d+)|downsample)\\.(.+)");
    private static final Pattern VAE_UP = Pattern.compile("decoder\\.up\\.(\\d+)\\.(block\\.(\\d+)|upsample)\\.(.+)");
    private static final Pattern VAE_MID = Pattern.compile("(encoder|decoder)\\.mid\\.(block_1|block_2|attn_1)\\.(.+)");
    private static final Pattern VAE_TOP = Pattern.compile(
            "(encoder|decoder)\\.(conv_in|conv_out|norm_out)\\." + WB + "|(quant_conv|post_quant_conv)\\." + WB);
    private static final Map<String, String> VAE_RESNET_PARTS = Map.of(
            "norm1", "norm1", "conv1", "conv1", "norm2", "norm2", "conv2", "conv2", "nin_shortcut", "conv_shortcut");
    private static final Map<String, String> VAE_ATTENTION_PARTS = Map.of(
            "norm", "group_norm", "q", "to_q", "k", "to_k", "v", "to_v", "proj_out", "to_out.0");

    private static final Pattern CLIP_PART = Pattern.compile(
            "text_model\\.(embeddings\\.(token_embedding|position_embedding)\\.weight"
                    + "|encoder\\.layers\\.\\d+\\.(self_attn\\.(q_proj|k_proj|v_proj|out_proj)|layer_norm1|layer_norm2"
                    + "|mlp\\.fc1|mlp\\.fc2)\\." + WB
                    + "|final_layer_norm\\." + WB + ")");
    /** Top-level modules of transformers' CLIPTextTransformer, which old files store without {@code text_model.}. */
    private static final List<String> CLIP_LEGACY_ROOTS = List.of("embeddings.", "encoder.", "final_layer_norm.");

    private final Map<String, Target> targets;
    private final List<String> skipped;
    private final int unetLayersPerBlock;
    private final int unetLevels;
    private final int vaeLevels;

    private LdmKeyMap(Map<String, Target> targets, List<String> skipped, int unetLayersPerBlock, int unetLevels,
                      int vaeLevels) {
        this.targets = Collections.unmodifiableMap(targets);
        this.skipped = List.copyOf(skipped);
        this.unetLayersPerBlock = unetLayersPerBlock;
        this.unetLevels = unetLevels;
        this.vaeLevels = vaeLevels;
    }

    /**
     * Maps every key of a single-file checkpoint.
     *
     * @param ldmShapes every tensor of the file, LDM key → shape (iteration order is kept in {@link #targets()})
     * @throws IllegalArgumentException when the file is of another model family (the message says which and
     *                                  why), when the UNet's block layout cannot be read, when two keys map to
     *                                  the same diffusers key, or listing every key that is neither mapped nor a
     *                                  known non-weight entry
     */
    public static LdmKeyMap of(Map<String, Shape> ldmShapes) {
        checkFamily(ldmShapes);
        int[] unetLayout = unetLayout(ldmShapes.keySet());
        int lpb = unetLayout[0];
        int levels = unetLayout[1];
        int vaeLevels = vaeLevels(ldmShapes.keySet());

        Map<String, Target> targets = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        Map<String, String> claimedBy = new HashMap<>();
        List<String> duplicates = new ArrayList<>();
        for (Map.Entry<String, Shape> e : ldmShapes.entrySet()) {
            String key = e.getKey();
            Shape shape = e.getValue();
            Target t = null;
            if (key.startsWith(UNET_PREFIX)) {
                String k = mapUnet(key.substring(UNET_PREFIX.length()), lpb, levels);
                t = k == null ? null : new Target(Component.UNET, k, shape);
            } else if (key.startsWith(VAE_PREFIX)) {
                String rest = key.substring(VAE_PREFIX.length());
                if (rest.startsWith("loss.")) {
                    // LPIPS / discriminator weights of the autoencoder's training loss
                    skipped.add(key);
                    continue;
                }
                t = mapVae(rest, shape, vaeLevels);
            } else if (key.startsWith(TEXT_ENCODER_PREFIX)) {
                String k = clipKey(key.substring(TEXT_ENCODER_PREFIX.length()));
                if (k.equals("text_model.embeddings.position_ids")) {
                    // a constant buffer (arange(77)) that recent transformers versions no longer save
                    skipped.add(key);
                    continue;
                }
                t = CLIP_PART.matcher(k).matches() ? new Target(Component.TEXT_ENCODER, k, shape) : null;
            } else if (key.startsWith("model_ema.") || SCHEDULE_BUFFERS.contains(key)) {
                // EMA copies (flattened names, plus decay/num_updates) and the noise schedule
                skipped.add(key);
                continue;
            }
            if (t == null) {
                unknown.add(key);
                continue;
            }
            String owner = claimedBy.put(t.component() + "/" + t.key(), key);
            if (owner != null) {
                duplicates.add(owner + " and " + key + " → " + t.component().label() + " " + t.key());
            }
            targets.put(key, t);
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(unknown.size() + " tensor(s) of the checkpoint are not part of a Stable "
                    + "Diffusion v1.x UNet (" + UNET_PREFIX + "…), VAE (" + VAE_PREFIX + "…) or CLIP text encoder ("
                    + TEXT_ENCODER_PREFIX + "…), nor a known non-weight entry: " + listing(unknown));
        }
        if (!duplicates.isEmpty()) {
            throw new IllegalArgumentException("several tensors map to the same diffusers key: " + listing(duplicates));
        }
        return new LdmKeyMap(targets, skipped, lpb, levels, vaeLevels);
    }

    // ------------------------------------------------------------------ results

    /** LDM key → target, for every mapped tensor, in the order of the input map. */
    public Map<String, Target> targets() {
        return targets;
    }

    /** The target of one LDM key, or null when the key was skipped or absent. */
    public Target target(String ldmKey) {
        return targets.get(ldmKey);
    }

    /** Keys that were recognised as non-weights and left out (schedule buffers, EMA copies, position_ids…). */
    public List<String> skipped() {
        return skipped;
    }

    /** Diffusers key → LDM key for one component, in the order of the input map. */
    public Map<String, String> keys(Component component) {
        Map<String, String> out = new LinkedHashMap<>();
        targets.forEach((ldm, t) -> {
            if (t.component() == component) {
                out.put(t.key(), ldm);
            }
        });
        return out;
    }

    /** Diffusers key → diffusers shape for one component, in the order of the input map. */
    public Map<String, Shape> shapes(Component component) {
        Map<String, Shape> out = new LinkedHashMap<>();
        targets.values().forEach(t -> {
            if (t.component() == component) {
                out.put(t.key(), t.shape());
            }
        });
        return out;
    }

    /** True when the file has at least one tensor of {@code component}. */
    public boolean has(Component component) {
        return targets.values().stream().anyMatch(t -> t.component() == component);
    }

    /** The UNet's resnets per down block, read from the block numbering (0 when there is no UNet). */
    public int unetLayersPerBlock() {
        return unetLayersPerBlock;
    }

    /** The UNet's number of resolution levels (0 when there is no UNet). */
    public int unetLevels() {
        return unetLevels;
    }

    /** The VAE's number of resolution levels (0 when there is no VAE). */
    public int vaeLevels() {
        return vaeLevels;
    }

    // ------------------------------------------------------------------ model family

    /**
     * Rejects checkpoints of other families before their keys are reported one by one. The markers are those of
     * diffusers' {@code infer_diffusers_model_type} ({@code CHECKPOINT_KEY_NAMES}): SD 2.x has a 1024-wide
     * cross-attention context (OpenCLIP ViT-H under {@code cond_stage_model.model.}), SDXL keeps its text
     * encoders under {@code conditioner.embedders.}, ControlNet under {@code control_model.}, SD3 has
     * {@code joint_blocks}.
     */
    private static void checkFamily(Map<String, Shape> shapes) {
        Set<String> keys = shapes.keySet();
        String sdxl = firstWithPrefix(keys, "conditioner.");
        if (sdxl != null) {
            throw new IllegalArgumentException("this is an SDXL checkpoint (it has 'conditioner.embedders…' text-encoder "
                    + "keys such as '" + sdxl + "'), not Stable Diffusion v1.x; only SD v1.x single files are supported");
        }
        String sd3 = firstWithPrefix(keys, UNET_PREFIX + "joint_blocks.");
        if (sd3 != null) {
            throw new IllegalArgumentException("this is a Stable Diffusion 3 checkpoint (MMDiT key '" + sd3
                    + "'), not Stable Diffusion v1.x");
        }
        String control = firstWithPrefix(keys, "control_model.");
        if (control != null) {
            throw new IllegalArgumentException("this is a ControlNet checkpoint (key '" + control
                    + "'), not a Stable Diffusion v1.x model");
        }
        String contextKey = null;
        int contextWidth = 0;
        for (Map.Entry<String, Shape> e : shapes.entrySet()) {
            String k = e.getKey();
            if (k.startsWith(UNET_PREFIX) && k.endsWith(".attn2.to_k.weight") && e.getValue().rank() == 2) {
                int width = e.getValue().dim(1);
                // 1024: SD 2.x (OpenCLIP ViT-H); 2048 / 1280: SDXL base / refiner
                if ((width == 1024 || width == 2048 || width == 1280) && (contextKey == null || k.compareTo(contextKey) < 0)) {
                    contextKey = k;
                    contextWidth = width;
                }
            }
        }
        String openClip = firstWithPrefix(keys, "cond_stage_model.model.");
        if (contextKey != null || openClip != null) {
            String why = contextKey != null
                    ? "cross-attention context width " + contextWidth + " ('" + contextKey + "' has shape "
                    + shapes.get(contextKey) + "; SD v1.x uses 768)"
                    : "an OpenCLIP text encoder ('" + openClip + "')";
            String family = contextKey == null || contextWidth == 1024 ? "Stable Diffusion 2.x" : "SDXL";
            throw new IllegalArgumentException("this looks like a " + family + " checkpoint: " + why
                    + "; only SD v1.x single files are supported");
        }
        String labelEmb = firstWithPrefix(keys, UNET_PREFIX + "label_emb.");
        if (labelEmb != null) {
            throw new IllegalArgumentException("this UNet has a class/size embedding ('" + labelEmb
                    + "', used by SDXL and SD 2 unCLIP/upscalers); SD v1.x has none");
        }
        if (firstWithPrefix(keys, UNET_PREFIX) == null) {
            boolean diffusers = keys.stream().anyMatch(k -> k.startsWith("down_blocks.") || k.startsWith("encoder.down_blocks.")
                    || k.startsWith("text_model."));
            throw new IllegalArgumentException(diffusers
                    ? "this is a diffusers-layout state dict (keys such as 'down_blocks…'), not an LDM single-file "
                    + "checkpoint; load the diffusers model folder instead"
                    : "no UNet tensors ('" + UNET_PREFIX + "…'): this is not a Stable Diffusion single-file checkpoint"
                    + (keys.isEmpty() ? " (it holds no tensors)" : ""));
        }
    }

    private static String firstWithPrefix(Set<String> keys, String prefix) {
        String first = null;
        for (String k : keys) {
            if (k.startsWith(prefix) && (first == null || k.compareTo(first) < 0)) {
                first = k;
            }
        }
        return first;
    }

    // ------------------------------------------------------------------ UNet

    /**
     * {layers_per_block, levels} from the block numbering: levels − 1 downsamplers ({@code input_blocks.i.0.op}),
     * levels·(L+1) output blocks, and input blocks 0…levels·(L+1) − 1 (conv_in, then per level L resnets and,
     * except on the last level, a downsampler).
     */
    private static int[] unetLayout(Set<String> keys) {
        TreeSet<Integer> ops = new TreeSet<>();
        int maxInput = -1;
        int maxOutput = -1;
        for (String key : keys) {
            if (!key.startsWith(UNET_PREFIX)) {
                continue;
            }
            String k = key.substring(UNET_PREFIX.length());
            Matcher op = DOWNSAMPLER_OP.matcher(k);
            if (op.matches() && parseIndex(op.group(1)) >= 0) {
                ops.add(parseIndex(op.group(1)));
            }
            Matcher in = INPUT_BLOCK.matcher(k);
            if (in.matches()) {
                maxInput = Math.max(maxInput, parseIndex(in.group(1)));
            }
            Matcher out = OUTPUT_BLOCK.matcher(k);
            if (out.matches()) {
                maxOutput = Math.max(maxOutput, parseIndex(out.group(1)));
            }
        }
        if (maxInput < 0 && maxOutput < 0) {
            return new int[] {0, 0};
        }
        int levels = ops.size() + 1;
        int outputs = maxOutput + 1;
        if (outputs == 0 || outputs % levels != 0 || outputs / levels < 2) {
            throw new IllegalArgumentException("cannot read the UNet's block layout: " + outputs + " output_blocks for "
                    + levels + " levels (" + ops.size() + " downsamplers at input_blocks " + ops + ")");
        }
        int lpb = outputs / levels - 1;
        List<Integer> expectedOps = new ArrayList<>();
        for (int b = 0; b < levels - 1; b++) {
            expectedOps.add(1 + b * (lpb + 1) + lpb);
        }
        if (!expectedOps.equals(new ArrayList<>(ops)) || maxInput + 1 != levels * (lpb + 1)) {
            throw new IllegalArgumentException("cannot read the UNet's block layout: downsamplers at input_blocks " + ops
                    + " and " + (maxInput + 1) + " input_blocks do not fit " + levels + " levels of " + lpb
                    + " resnets (expected downsamplers at " + expectedOps + " and " + levels * (lpb + 1) + " input_blocks)");
        }
        return new int[] {lpb, levels};
    }

    /** The diffusers key of a UNet tensor (prefix removed), or null when it is not one of SD v1's. */
    private static String mapUnet(String k, int lpb, int levels) {
        String top = withParam(k, UNET_TOP);
        if (top != null) {
            return top;
        }
        Matcher m = INPUT_BLOCK.matcher(k);
        if (m.matches()) {
            int i = parseIndex(m.group(1));
            int j = parseIndex(m.group(2));
            String rest = m.group(3);
            if (i <= 0 || j < 0) {
                return null; // input_blocks.0.0.{weight,bias} were handled as conv_in above
            }
            int b = (i - 1) / (lpb + 1);
            int l = (i - 1) % (lpb + 1);
            if (b >= levels) {
                return null;
            }
            String block = "down_blocks." + b;
            if (l == lpb) {
                return j == 0 && (rest.equals("op.weight") || rest.equals("op.bias"))
                        ? block + ".downsamplers.0.conv." + rest.substring(3) : null;
            }
            return resnetOrTransformer(block, l, j, rest);
        }
        m = MIDDLE_BLOCK.matcher(k);
        if (m.matches()) {
            int j = parseIndex(m.group(1));
            String rest = m.group(2);
            return switch (j) {
                case 0 -> resnet("mid_block.resnets.0", rest);
                case 1 -> transformer("mid_block.attentions.0", rest);
                case 2 -> resnet("mid_block.resnets.1", rest);
                default -> null;
            };
        }
        m = OUTPUT_BLOCK.matcher(k);
        if (m.matches()) {
            int i = parseIndex(m.group(1));
            int j = parseIndex(m.group(2));
            String rest = m.group(3);
            if (i < 0 || j < 0) {
                return null;
            }
            int b = i / (lpb + 1);
            int l = i % (lpb + 1);
            if (b >= levels) {
                return null;
            }
            String block = "up_blocks." + b;
            if ((j == 1 || j == 2) && rest.startsWith("conv.")) {
                // the last block of every level but the last (full-resolution) one upsamples
                boolean upsamples = l == lpb && b < levels - 1;
                return upsamples && (rest.equals("conv.weight") || rest.equals("conv.bias"))
                        ? block + ".upsamplers.0." + rest : null;
            }
            return resnetOrTransformer(block, l, j, rest);
        }
        return null;
    }

    private static String resnetOrTransformer(String block, int l, int j, String rest) {
        return switch (j) {
            case 0 -> resnet(block + ".resnets." + l, rest);
            case 1 -> transformer(block + ".attentions." + l, rest);
            default -> null;
        };
    }

    private static String resnet(String target, String rest) {
        String part = withParam(rest, UNET_RESNET_PARTS);
        return part == null ? null : target + "." + part;
    }

    private static String transformer(String target, String rest) {
        return TRANSFORMER_PART.matcher(rest).matches() ? target + "." + rest : null;
    }

    /** {@code module.weight|bias} with module renamed by {@code parts}, or null. */
    private static String withParam(String k, Map<String, String> parts) {
        int dot = k.lastIndexOf('.');
        if (dot < 0) {
            return null;
        }
        String param = k.substring(dot + 1);
        String module = parts.get(k.substring(0, dot));
        return module != null && (param.equals("weight") || param.equals("bias")) ? module + "." + param : null;
    }

    // ------------------------------------------------------------------ VAE

    /** The number of decoder levels ({@code decoder.up.i}), needed to reverse their order. */
    private static int vaeLevels(Set<String> keys) {
        int max = -1;
        for (String key : keys) {
            if (key.startsWith(VAE_PREFIX)) {
                Matcher m = VAE_UP.matcher(key.substring(VAE_PREFIX.length()));
                if (m.matches()) {
                    max = Math.max(max, parseIndex(m.group(1)));
                }
            }
        }
        return max + 1;
    }

    private static Target mapVae(String k, Shape shape, int levels) {
        if (VAE_TOP.matcher(k).matches()) {
            return vae(k.replace(".norm_out.", ".conv_norm_out."), shape);
        }
        Matcher m = VAE_DOWN.matcher(k);
        boolean down = m.matches();
        if (!down) {
            m = VAE_UP.matcher(k);
        }
        if (down || m.matches()) {
            int level = parseIndex(m.group(1));
            int resnet = m.group(3) == null ? 0 : parseIndex(m.group(3));
            if (level < 0 || resnet < 0) {
                return null;
            }
            String block = down ? "encoder.down_blocks." + level : "decoder.up_blocks." + (levels - 1 - level);
            if (m.group(3) != null) {
                return vaeResnet(block + ".resnets." + resnet, m.group(4), shape);
            }
            return sampler(block + (down ? ".downsamplers.0.conv" : ".upsamplers.0.conv"), m.group(4), shape);
        }
        m = VAE_MID.matcher(k);
        if (m.matches()) {
            String mid = m.group(1) + ".mid_block.";
            return switch (m.group(2)) {
                case "block_1" -> vaeResnet(mid + "resnets.0", m.group(3), shape);
                case "block_2" -> vaeResnet(mid + "resnets.1", m.group(3), shape);
                default -> vaeAttention(mid + "attentions.0", m.group(3), shape);
            };
        }
        return null;
    }

    private static Target vae(String key, Shape shape) {
        return new Target(Component.VAE, key, shape);
    }

    private static Target vaeResnet(String target, String rest, Shape shape) {
        String part = withParam(rest, VAE_RESNET_PARTS);
        return part == null ? null : vae(target + "." + part, shape);
    }

    private static Target sampler(String target, String rest, Shape shape) {
        return rest.equals("conv.weight") || rest.equals("conv.bias") ? vae(target + rest.substring(4), shape) : null;
    }

    /**
     * LDM's {@code AttnBlock} computes q, k, v and its output with 1×1 convolutions; diffusers' VAE attention uses
     * Linear layers, so weights {@code [C, C, 1, 1]} (or {@code [C, C, 1]}, or already {@code [C, C]}) become
     * {@code [C, C]}. The group norm and all biases keep their shapes.
     */
    private static Target vaeAttention(String target, String rest, Shape shape) {
        String part = withParam(rest, VAE_ATTENTION_PARTS);
        if (part == null) {
            return null;
        }
        Shape s = shape;
        if (part.endsWith(".weight") && !part.startsWith("group_norm")) {
            for (int axis = shape.rank() - 1; axis >= 2; axis--) {
                if (shape.dim(axis) != 1) {
                    throw new IllegalArgumentException("VAE attention weight " + VAE_PREFIX + "…" + rest + " has shape "
                            + shape + "; expected a 1×1 convolution [C, C, 1, 1] or a Linear weight [C, C]");
                }
            }
            if (shape.rank() < 2) {
                throw new IllegalArgumentException("VAE attention weight " + rest + " has shape " + shape
                        + "; expected [C, C, 1, 1] or [C, C]");
            }
            s = Shape.of(shape.dim(0), shape.dim(1));
        }
        return vae(target + "." + part, s);
    }

    // ------------------------------------------------------------------ text encoder

    /** The transformers key for a key below {@value #TEXT_ENCODER_PREFIX}, inserting a missing {@code text_model.}. */
    private static String clipKey(String rest) {
        for (String root : CLIP_LEGACY_ROOTS) {
            if (rest.startsWith(root)) {
                return "text_model." + rest;
            }
        }
        return rest;
    }

    // ------------------------------------------------------------------ helpers

    /** A block index, or −1 for a non-canonical one ("01", absurdly long) that no checkpoint writes. */
    private static int parseIndex(String digits) {
        if (digits.length() > 4 || (digits.length() > 1 && digits.charAt(0) == '0')) {
            return -1;
        }
        return Integer.parseInt(digits);
    }

    /** Up to 40 items, then a count of the rest. */
    static String listing(List<String> items) {
        int shown = Math.min(items.size(), 40);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shown; i++) {
            sb.append(i == 0 ? "" : ", ").append(items.get(i));
        }
        if (items.size() > shown) {
            sb.append(", … and ").append(items.size() - shown).append(" more");
        }
        return sb.toString();
    }
}
