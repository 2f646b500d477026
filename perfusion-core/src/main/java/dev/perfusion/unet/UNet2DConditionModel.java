package dev.perfusion.unet;

import dev.perfusion.autograd.Ops;
import dev.perfusion.io.ComponentFiles;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.GroupNorm;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.nn.WeightStorage;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * diffusers' {@code UNet2DConditionModel} for Stable Diffusion v1.x (and v2.x-style linear projections): predicts
 * the noise ε (or v) of a latent from the latent, the time step and the text encoding.
 * <pre>
 *   emb   = time_embedding(time_proj(t))                          [B, 4·C0]
 *   h     = conv_in(sample)                                       [B, C0, H, W]; skips = [h]
 *   down_blocks.i: h, states = block(h, emb, text); skips += states   (each level but the last halves H, W)
 *   h     = mid_block(h, emb, text)
 *   up_blocks.i:   h = block(h, skips[−n_i:], emb, text); skips = skips[:−n_i]   (n_i = resnets of block i)
 *   out   = conv_out(SiLU(conv_norm_out(h)))                      [B, out, H, W]
 * </pre>
 * Keys are diffusers' ({@code conv_in}, {@code time_embedding.linear_1}, {@code down_blocks.0.attentions.0…},
 * {@code mid_block…}, {@code up_blocks…}, {@code conv_norm_out}, {@code conv_out}), so a diffusers {@code unet/}
 * folder loads by identity ({@link #load}).
 *
 * <p>H and W need not be multiples of 2^(levels−1): as diffusers ({@code forward_upsample_size}), each upsampler then
 * resizes to its skip connection's size (strided convolutions round odd sizes up on the way down).
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/unets/unet_2d_condition.py}.
 */
public final class UNet2DConditionModel extends Module {
    private final UNet2DConditionConfig config;
    private final Conv2d convIn;
    private final Timesteps timeProj;
    private final TimestepEmbedding timeEmbedding;
    private final List<UNetDownBlock> downBlocks;
    private final List<UNetUpBlock> upBlocks;
    private final UNetMidBlock2DCrossAttn midBlock;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;
    private final List<CrossAttentionLayer> crossAttentionLayers;
    private boolean gradientCheckpointing;

    /** A model with zero weights laid out by {@code config}; fill it with {@link #loadStateDict} or {@link #initialize}. */
    public UNet2DConditionModel(Backend backend, UNet2DConditionConfig config) {
        super(backend);
        this.config = config;
        List<Integer> ch = config.blockOutChannels();
        int levels = config.levels();
        int c0 = ch.get(0);
        int temb = config.timeEmbedDim();
        int groups = config.normNumGroups();
        float eps = config.normEps();
        int cross = config.crossAttentionDim();
        boolean linear = config.useLinearProjection();

        this.convIn = registerModule("conv_in", new Conv2d(backend, config.inChannels(), c0, 3, 1, 1, true));
        this.timeProj = registerModule("time_proj", new Timesteps(backend, c0, config.flipSinToCos(), config.freqShift()));
        this.timeEmbedding = registerModule("time_embedding", new TimestepEmbedding(backend, c0, temb));

        List<UNetDownBlock> down = new ArrayList<>();
        int output = c0;
        for (int i = 0; i < levels; i++) {
            int input = output;
            output = ch.get(i);
            boolean last = i == levels - 1;
            String type = config.downBlockTypes().get(i);
            UNetDownBlock block = UNet2DConditionConfig.CROSS_ATTN_DOWN.equals(type)
                    ? new CrossAttnDownBlock2D(backend, input, output, temb, config.layersPerBlock().get(i),
                            config.transformerLayersPerBlock().get(i), config.attentionHeads().get(i), cross, groups, eps,
                            !last, config.downsamplePadding(), linear)
                    : new DownBlock2D(backend, input, output, temb, config.layersPerBlock().get(i), groups, eps, !last,
                            config.downsamplePadding());
            down.add(registerModule("down_blocks." + i, block));
        }
        this.downBlocks = Collections.unmodifiableList(down);

        // up blocks read the per-level lists reversed (diffusers: reversed_block_out_channels, reversed_num_attention_heads…)
        List<UNetUpBlock> up = new ArrayList<>();
        output = ch.get(levels - 1);
        for (int i = 0; i < levels; i++) {
            int r = levels - 1 - i;
            boolean last = i == levels - 1;
            int prev = output;
            output = ch.get(r);
            int input = ch.get(Math.max(r - 1, 0)); // reversed[min(i + 1, levels − 1)]
            int layers = config.layersPerBlock().get(r) + 1;
            String type = config.upBlockTypes().get(i);
            UNetUpBlock block = UNet2DConditionConfig.CROSS_ATTN_UP.equals(type)
                    ? new CrossAttnUpBlock2D(backend, input, prev, output, temb, layers,
                            config.transformerLayersPerBlock().get(r), config.attentionHeads().get(r), cross, groups, eps,
                            !last, linear)
                    : new UpBlock2D(backend, input, prev, output, temb, layers, groups, eps, !last);
            up.add(registerModule("up_blocks." + i, block));
        }
        this.upBlocks = Collections.unmodifiableList(up);

        int deepest = ch.get(levels - 1);
        // registered after up_blocks, as diffusers' state dict lists it
        this.midBlock = registerModule("mid_block", new UNetMidBlock2DCrossAttn(backend, deepest, temb, 1,
                config.transformerLayersPerBlock().get(levels - 1), config.attentionHeads().get(levels - 1), cross,
                groups, eps, linear));
        this.convNormOut = registerModule("conv_norm_out", new GroupNorm(backend, groups, c0, eps, true));
        this.convOut = registerModule("conv_out", new Conv2d(backend, c0, config.outChannels(), 3, 1, 1, true));
        this.crossAttentionLayers = Collections.unmodifiableList(collectCrossAttention());
    }

    /** Every attn2 in the order a forward pass runs them: down blocks, mid block, up blocks. */
    private List<CrossAttentionLayer> collectCrossAttention() {
        List<CrossAttentionLayer> out = new ArrayList<>();
        for (int i = 0; i < downBlocks.size(); i++) {
            addCrossAttention(out, "down_blocks." + i, downBlocks.get(i).attentions());
        }
        addCrossAttention(out, "mid_block", midBlock.attentions());
        for (int i = 0; i < upBlocks.size(); i++) {
            addCrossAttention(out, "up_blocks." + i, upBlocks.get(i).attentions());
        }
        return out;
    }

    private static void addCrossAttention(List<CrossAttentionLayer> out, String prefix, List<Transformer2DModel> attns) {
        for (int j = 0; j < attns.size(); j++) {
            List<BasicTransformerBlock> blocks = attns.get(j).transformerBlocks();
            for (int k = 0; k < blocks.size(); k++) {
                out.add(new CrossAttentionLayer(prefix + ".attentions." + j + ".transformer_blocks." + k + ".attn2",
                        blocks.get(k).attn2()));
            }
        }
    }

    /**
     * Loads a diffusers {@code unet/} folder: {@code config.json} and the safetensors weights, strictly (every
     * missing, unexpected or mismatched key is reported in one error naming the file). fp16/bf16 weights stay in
     * their precision ({@link WeightStorage#AS_STORED}: half the memory, widened per layer as it runs).
     */
    public static UNet2DConditionModel load(Path unetDir, Backend backend) throws IOException {
        return load(unetDir, backend, WeightStorage.AS_STORED);
    }

    /** {@link #load(Path, Backend)} with a choice of how half-precision weights are kept. */
    public static UNet2DConditionModel load(Path unetDir, Backend backend, WeightStorage storage) throws IOException {
        UNet2DConditionConfig config = UNet2DConditionConfig.read(unetDir);
        Path weights = ComponentFiles.weightsFile(unetDir);
        UNet2DConditionModel model = new UNet2DConditionModel(backend, config);
        try {
            ComponentFiles.loadStrict(model, weights, backend, List.of(), storage);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        return model;
    }

    /** {@link #forward(Tensor, Tensor, Tensor, ForwardHooks)} without hooks. */
    public Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates) {
        return forward(sample, timestep, encoderHiddenStates, ForwardHooks.NONE);
    }

    /**
     * The UNet's prediction for a batch of latents.
     *
     * @param sample              [B, in, H, W] latents
     * @param timestep            0-d (one step for the whole batch), [1] or [B]; INT64/INT32 or floating (fractional
     *                            steps allowed)
     * @param encoderHiddenStates [B, M, cross_attention_dim] text encoding
     * @param hooks               receives intermediates (see {@link ForwardHooks} for the paths), or
     *                            {@link ForwardHooks#NONE}
     * @return [B, out, H, W]
     */
    public Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, ForwardHooks hooks) {
        float[] t = checkInputs(sample, timestep, encoderHiddenStates);
        if (hooks == null) {
            hooks = ForwardHooks.NONE;
        }
        Tensor tProj = timeProj.forward(t);                      // [B, C0]
        hooks.emit("time_proj", tProj);
        Tensor emb = timeEmbedding.forward(tProj);               // [B, T]
        hooks.emit("time_embedding", emb);
        Intermediates.release(emb, tProj);

        Tensor h = convIn.forward(sample);                       // [B, C0, H, W]
        hooks.emit("conv_in", h);
        List<Tensor> skips = new ArrayList<>();
        skips.add(h);
        for (int i = 0; i < downBlocks.size(); i++) {
            String name = "down_blocks." + i;
            List<Tensor> states = downBlocks.get(i).forward(h, emb, encoderHiddenStates, hooks.child(name));
            for (int j = 0; j < states.size(); j++) {
                hooks.emit(name + ".res" + j, states.get(j));   // [B, C_i, H_i, W_i]
            }
            h = states.get(states.size() - 1);                   // [B, C_i, H_i', W_i']
            hooks.emit(name, h);
            skips.addAll(states);
        }

        h = midBlock.forward(h, emb, encoderHiddenStates, hooks.child("mid_block")); // [B, C_last, H_min, W_min]
        hooks.emit("mid_block", h);

        for (int i = 0; i < upBlocks.size(); i++) {
            UNetUpBlock block = upBlocks.get(i);
            int n = block.numResnets();
            List<Tensor> taken = new ArrayList<>(skips.subList(skips.size() - n, skips.size()));
            skips.subList(skips.size() - n, skips.size()).clear();
            String name = "up_blocks." + i;
            // the upsampler resizes to the next skip's size, which is 2× unless a size was odd on the way down
            int[] upsampleSize = skips.isEmpty() ? null
                    : new int[] {skips.get(skips.size() - 1).dim(2), skips.get(skips.size() - 1).dim(3)};
            Tensor next = block.forward(h, taken, emb, encoderHiddenStates, hooks.child(name), upsampleSize); // [B, C, H_i, W_i]
            hooks.emit(name, next);
            taken.add(h); // the mid-block or previous up-block output is no longer needed either
            Intermediates.release(next, taken.toArray(new Tensor[0]));
            h = next;
        }

        Tensor n = convNormOut.forward(h);                       // [B, C0, H, W]
        hooks.emit("conv_norm_out", n);
        Tensor a = Ops.silu(n);                                  // [B, C0, H, W]
        Tensor out = convOut.forward(a);                         // [B, out, H, W]
        hooks.emit("conv_out", out);
        return Intermediates.release(out, h, n, a, emb);
    }

    /** Validates shapes; returns the time steps expanded to the batch. */
    private float[] checkInputs(Tensor sample, Tensor timestep, Tensor ehs) {
        if (sample == null || timestep == null || ehs == null) {
            throw new IllegalArgumentException("UNet2DConditionModel.forward needs sample, timestep and encoder hidden "
                    + "states (got " + (sample == null ? "no sample" : timestep == null ? "no timestep" : "no encoder hidden states")
                    + ")");
        }
        for (Tensor x : new Tensor[] {sample, timestep, ehs}) {
            if (x.backend() != backend()) {
                throw new IllegalArgumentException("UNet2DConditionModel lives on backend '" + backend().name()
                        + "', got an input on '" + x.backend().name() + "'");
            }
        }
        int in = config.inChannels();
        if (sample.rank() != 4 || sample.dim(1) != in) {
            throw new IllegalArgumentException("UNet sample must be [B, " + in + ", H, W], got " + sample.shape());
        }
        if (sample.dim(2) < 1 || sample.dim(3) < 1) {
            throw new IllegalArgumentException("UNet sample has an empty spatial size " + sample.shape());
        }
        int b = sample.dim(0);
        int d = config.crossAttentionDim();
        if (ehs.rank() != 3 || ehs.dim(0) != b || ehs.dim(2) != d) {
            throw new IllegalArgumentException("UNet encoder hidden states must be [" + b + ", M, " + d
                    + "] (batch of the sample, width cross_attention_dim), got " + ehs.shape());
        }
        if (timestep.rank() > 1 || (timestep.numel() != 1 && timestep.numel() != b)) {
            throw new IllegalArgumentException("UNet timestep must be 0-d, [1] or [" + b + "], got " + timestep.shape());
        }
        float[] t = Timesteps.hostValues(timestep);
        if (t.length == b) {
            return t;
        }
        float[] expanded = new float[b];
        java.util.Arrays.fill(expanded, t[0]);
        return expanded;
    }

    /**
     * Turns gradient checkpointing on or off for every down, mid and up block: their activations are recomputed
     * during backward ({@link dev.perfusion.autograd.Checkpoint}) instead of being kept. Down blocks checkpoint each
     * (resnet, attention) pair, mid and up blocks the whole block. Has no effect without gradient recording.
     */
    public void setGradientCheckpointing(boolean on) {
        this.gradientCheckpointing = on;
        downBlocks.forEach(bl -> bl.setGradientCheckpointing(on));
        midBlock.setGradientCheckpointing(on);
        upBlocks.forEach(bl -> bl.setGradientCheckpointing(on));
    }

    /** Whether gradient checkpointing is on. */
    public boolean isGradientCheckpointing() {
        return gradientCheckpointing;
    }

    /**
     * Every cross-attention block ({@code attn2}) with its dotted path, in the order a forward pass runs them:
     * down blocks, mid block, up blocks (SD v1.5: 16 layers, widths 2×320, 2×640, 2×1280, 1×1280, 3×1280, 3×640,
     * 3×320).
     */
    public List<CrossAttentionLayer> crossAttentionLayers() {
        return crossAttentionLayers;
    }

    /** The configuration. */
    public UNet2DConditionConfig config() {
        return config;
    }

    /** {@code down_blocks.i}. */
    public List<UNetDownBlock> downBlocks() {
        return downBlocks;
    }

    /** {@code mid_block}. */
    public UNetMidBlock2DCrossAttn midBlock() {
        return midBlock;
    }

    /** {@code up_blocks.i}. */
    public List<UNetUpBlock> upBlocks() {
        return upBlocks;
    }

    /** {@code time_proj}. */
    public Timesteps timeProj() {
        return timeProj;
    }

    /** {@code time_embedding}. */
    public TimestepEmbedding timeEmbedding() {
        return timeEmbedding;
    }
}
