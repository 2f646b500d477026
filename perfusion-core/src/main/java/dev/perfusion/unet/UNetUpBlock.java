package dev.perfusion.unet;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Checkpoint;
import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What diffusers' {@code UpBlock2D} and {@code CrossAttnUpBlock2D} share: {@code layers} (= layers_per_block + 1)
 * resnets that each first concatenate one skip connection, optional attentions, and an optional
 * {@code upsamplers.0}.
 * <pre>
 *   for i: res = res_hidden_states_tuple[−1]; res_hidden_states_tuple = res_hidden_states_tuple[:−1]
 *          h = cat([h, res], dim=1)                                 (hidden first, then the skip)
 *          h = resnets.i(h, temb); h = attentions.i(h, encoder_hidden_states)   (cross-attention blocks only)
 *   h = upsamplers.0(h)                                             (all levels but the last)
 * </pre>
 * Resnet i reads prev_output_channel (i = 0) or out channels, plus a skip of in_channels (last resnet) or out
 * channels (the others). Source: diffusers 0.30.3 {@code src/diffusers/models/unets/unet_2d_blocks.py}.
 *
 * <p>Gradient checkpointing recomputes the whole block as one segment (its single output makes that possible).
 */
public abstract class UNetUpBlock extends Module {
    private final int prevOutputChannels;
    private final int outChannels;
    private final int[] skipChannels;
    private final List<ResnetBlock2D> resnets;
    private final List<Transformer2DModel> attentions;
    private final Upsample2D upsampler;
    private boolean gradientCheckpointing;

    /**
     * @param inChannels         channels of the last skip consumed (the level below's output width)
     * @param prevOutputChannels channels of the hidden state entering the block
     * @param outChannels        channels of every resnet output
     * @param numLayers          resnets (layers_per_block + 1)
     * @param attention          a factory of the i-th layer's transformer, or null for a block without attention
     */
    protected UNetUpBlock(Backend backend, int inChannels, int prevOutputChannels, int outChannels, int tembChannels,
                          int numLayers, int groups, float eps, boolean addUpsample,
                          UNetDownBlock.AttentionFactory attention) {
        super(backend);
        if (numLayers <= 0) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " needs at least one layer, got " + numLayers);
        }
        this.prevOutputChannels = prevOutputChannels;
        this.outChannels = outChannels;
        this.skipChannels = new int[numLayers];
        List<Transformer2DModel> attn = new ArrayList<>();
        if (attention != null) {
            for (int i = 0; i < numLayers; i++) {
                attn.add(registerModule("attentions." + i, attention.create(backend, outChannels)));
            }
        }
        List<ResnetBlock2D> res = new ArrayList<>();
        for (int i = 0; i < numLayers; i++) {
            skipChannels[i] = i == numLayers - 1 ? inChannels : outChannels;
            int resnetIn = i == 0 ? prevOutputChannels : outChannels;
            res.add(registerModule("resnets." + i, new ResnetBlock2D(backend, resnetIn + skipChannels[i], outChannels,
                    tembChannels, groups, eps)));
        }
        this.attentions = Collections.unmodifiableList(attn);
        this.resnets = Collections.unmodifiableList(res);
        this.upsampler = addUpsample
                ? registerModule("upsamplers.0", new Upsample2D(backend, outChannels, outChannels))
                : null;
    }

    /**
     * @param hidden              [B, prev, H, W]
     * @param resHiddenStates     the skip connections for this block in down-path order (diffusers'
     *                            {@code res_hidden_states_tuple}): exactly {@link #numResnets()} tensors, the last
     *                            consumed first; each [B, skip_i, H, W]. Still owned by the caller.
     * @param temb                [B, T]
     * @param encoderHiddenStates [B, M, Cc] (ignored by blocks without attention)
     * @param hooks               reports {@code resnets.i}, {@code attentions.i} (+ internals), {@code upsamplers.0}
     * @param upsampleSize        {height, width} the upsampler resizes to (the next skip connection's size), or null
     *                            for ×2
     * @return [B, out, 2H, 2W] (or upsampleSize) with an upsampler, else [B, out, H, W]
     */
    public Tensor forward(Tensor hidden, List<Tensor> resHiddenStates, Tensor temb, Tensor encoderHiddenStates,
                          ForwardHooks hooks, int[] upsampleSize) {
        if (hidden.rank() != 4 || hidden.dim(1) != prevOutputChannels) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " needs hidden states [B, "
                    + prevOutputChannels + ", H, W], got " + hidden.shape());
        }
        int n = resnets.size();
        if (resHiddenStates.size() != n) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " needs " + n + " skip connections, got "
                    + resHiddenStates.size());
        }
        for (int i = 0; i < n; i++) {
            Tensor res = resHiddenStates.get(n - 1 - i);
            if (res.rank() != 4 || res.dim(0) != hidden.dim(0) || res.dim(1) != skipChannels[i]
                    || res.dim(2) != hidden.dim(2) || res.dim(3) != hidden.dim(3)) {
                throw new IllegalArgumentException(getClass().getSimpleName() + ": skip connection for resnet " + i
                        + " must be [" + hidden.dim(0) + ", " + skipChannels[i] + ", " + hidden.dim(2) + ", "
                        + hidden.dim(3) + "], got " + res.shape());
            }
        }
        Tensor ehs = attentions.isEmpty() ? null : encoderHiddenStates;
        if (!(gradientCheckpointing && Autograd.isGradEnabled())) {
            return run(hidden, resHiddenStates, temb, ehs, hooks, upsampleSize);
        }
        List<Tensor> inputs = new ArrayList<>();
        inputs.add(hidden);
        inputs.addAll(resHiddenStates);
        inputs.add(temb);
        if (ehs != null) {
            inputs.add(ehs);
        }
        ForwardHooks[] once = {hooks};
        return Checkpoint.run(getClass().getSimpleName(), xs -> {
            ForwardHooks hk = once[0];
            once[0] = ForwardHooks.NONE; // the recomputation in backward reports nothing
            return run(xs[0], List.of(xs).subList(1, n + 1), xs[n + 1], ehs == null ? null : xs[n + 2], hk, upsampleSize);
        }, inputs.toArray(new Tensor[0]));
    }

    private Tensor run(Tensor hidden, List<Tensor> res, Tensor temb, Tensor ehs, ForwardHooks hooks, int[] upsampleSize) {
        int n = resnets.size();
        Tensor h = hidden;
        for (int i = 0; i < n; i++) {
            Tensor skip = res.get(n - 1 - i);                     // [B, skip_i, H, W]
            Tensor cat = Ops.concat(List.of(h, skip), 1);         // [B, in_i + skip_i, H, W]
            Tensor r = resnets.get(i).forward(cat, temb);         // [B, out, H, W]
            hooks.emit("resnets." + i, r);
            Tensor next = r;
            if (!attentions.isEmpty()) {
                next = attentions.get(i).forward(r, ehs, hooks.child("attentions." + i)); // [B, out, H, W]
                hooks.emit("attentions." + i, next);
            }
            Intermediates.release(next, cat, next == r ? null : r, h == hidden ? null : h);
            h = next;
        }
        if (upsampler == null) {
            return h;
        }
        Tensor u = upsampleSize == null ? upsampler.forward(h)                  // [B, out, 2H, 2W]
                : upsampler.forward(h, upsampleSize[0], upsampleSize[1]);         // [B, out, H', W']
        hooks.emit("upsamplers.0", u);
        return Intermediates.release(u, h == hidden ? null : h);
    }

    /** Recompute the block during backward instead of keeping its activations. */
    public void setGradientCheckpointing(boolean on) {
        this.gradientCheckpointing = on;
    }

    /** Whether gradient checkpointing is on. */
    public boolean isGradientCheckpointing() {
        return gradientCheckpointing;
    }

    /** The number of resnets, which is also the number of skip connections the block consumes. */
    public int numResnets() {
        return resnets.size();
    }

    /** Channels of the hidden state entering the block. */
    public int prevOutputChannels() {
        return prevOutputChannels;
    }

    /** Output channels. */
    public int outChannels() {
        return outChannels;
    }

    /** {@code resnets.i}. */
    public List<ResnetBlock2D> resnets() {
        return resnets;
    }

    /** {@code attentions.i}; empty for a block without attention. */
    public List<Transformer2DModel> attentions() {
        return attentions;
    }

    /** {@code upsamplers.0}, or null on the last level. */
    public Upsample2D upsampler() {
        return upsampler;
    }
}
