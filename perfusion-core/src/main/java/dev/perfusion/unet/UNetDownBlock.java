package dev.perfusion.unet;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Checkpoint;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What diffusers' {@code DownBlock2D} and {@code CrossAttnDownBlock2D} share: {@code layers} pairs of
 * ({@code resnets.i}, optionally {@code attentions.i}) and an optional {@code downsamplers.0}. Each pair's output
 * and the downsampler's output are handed to the up path as skip connections.
 * <pre>
 *   for i: h = resnets.i(h, temb); h = attentions.i(h, encoder_hidden_states) (cross-attention blocks only)
 *          states += h
 *   h = downsamplers.0(h); states += h        (all levels but the last)
 * </pre>
 * Gradient checkpointing runs each (resnet, attention) pair and the downsampler as one recomputed segment: their
 * outputs are kept for the skip connections anyway, so this stores nothing extra.
 */
public abstract class UNetDownBlock extends Module {
    private final int inChannels;
    private final int outChannels;
    private final List<ResnetBlock2D> resnets;
    private final List<Transformer2DModel> attentions;
    private final Downsample2D downsampler;
    private boolean gradientCheckpointing;

    /**
     * @param attention a factory of the i-th pair's transformer, or null for a block without attention
     */
    protected UNetDownBlock(Backend backend, int inChannels, int outChannels, int tembChannels, int numLayers,
                            int groups, float eps, boolean addDownsample, int downsamplePadding,
                            AttentionFactory attention) {
        super(backend);
        if (numLayers <= 0) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " needs at least one layer, got " + numLayers);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        // diffusers registers the attentions before the resnets
        List<Transformer2DModel> attn = new ArrayList<>();
        if (attention != null) {
            for (int i = 0; i < numLayers; i++) {
                attn.add(registerModule("attentions." + i, attention.create(backend, outChannels)));
            }
        }
        List<ResnetBlock2D> res = new ArrayList<>();
        for (int i = 0; i < numLayers; i++) {
            res.add(registerModule("resnets." + i, new ResnetBlock2D(backend, i == 0 ? inChannels : outChannels,
                    outChannels, tembChannels, groups, eps)));
        }
        this.attentions = Collections.unmodifiableList(attn);
        this.resnets = Collections.unmodifiableList(res);
        this.downsampler = addDownsample
                ? registerModule("downsamplers.0", new Downsample2D(backend, outChannels, outChannels, downsamplePadding))
                : null;
    }

    /** Builds the transformer of one layer at a given width. */
    @FunctionalInterface
    protected interface AttentionFactory {
        Transformer2DModel create(Backend backend, int channels);
    }

    /**
     * @param hidden              [B, in, H, W]
     * @param temb                [B, T] time embedding
     * @param encoderHiddenStates [B, M, Cc] (ignored by blocks without attention; may be null for them)
     * @param hooks               reports {@code resnets.i}, {@code attentions.i} (+ internals), {@code downsamplers.0}
     * @return the output states in order, each [B, out, H, W] and, with a downsampler, a last [B, out, H/2, W/2]; the
     *         last one is the block's hidden-state output. The caller owns them.
     */
    public List<Tensor> forward(Tensor hidden, Tensor temb, Tensor encoderHiddenStates, ForwardHooks hooks) {
        if (hidden.rank() != 4 || hidden.dim(1) != inChannels) {
            throw new IllegalArgumentException(getClass().getSimpleName() + "(" + inChannels + " → " + outChannels
                    + ") needs [B, " + inChannels + ", H, W], got " + hidden.shape());
        }
        boolean checkpoint = gradientCheckpointing && Autograd.isGradEnabled();
        Tensor ehs = attentions.isEmpty() ? null : encoderHiddenStates;
        List<Tensor> states = new ArrayList<>();
        Tensor h = hidden;
        for (int i = 0; i < resnets.size(); i++) {
            final int layer = i;
            if (checkpoint) {
                ForwardHooks[] once = {hooks};
                Tensor[] inputs = ehs == null ? new Tensor[] {h, temb} : new Tensor[] {h, temb, ehs};
                h = Checkpoint.run(getClass().getSimpleName() + ".layer" + i, xs -> {
                    ForwardHooks hk = once[0];
                    once[0] = ForwardHooks.NONE; // the recomputation in backward reports nothing
                    return layer(layer, xs[0], xs[1], xs.length > 2 ? xs[2] : null, hk);
                }, inputs);
            } else {
                h = layer(i, h, temb, ehs, hooks);
            }
            states.add(h); // [B, out, H, W]
        }
        if (downsampler != null) {
            Tensor d;
            if (checkpoint) {
                d = Checkpoint.run(getClass().getSimpleName() + ".downsample", xs -> downsampler.forward(xs[0]), h);
            } else {
                d = downsampler.forward(h); // [B, out, H/2, W/2]
            }
            hooks.emit("downsamplers.0", d);
            states.add(d);
        }
        return states;
    }

    private Tensor layer(int i, Tensor h, Tensor temb, Tensor ehs, ForwardHooks hooks) {
        Tensor r = resnets.get(i).forward(h, temb); // [B, out, H, W]
        hooks.emit("resnets." + i, r);
        if (attentions.isEmpty()) {
            return r;
        }
        Tensor a = attentions.get(i).forward(r, ehs, hooks.child("attentions." + i)); // [B, out, H, W]
        hooks.emit("attentions." + i, a);
        return Intermediates.release(a, r);
    }

    /** Recompute each layer during backward instead of keeping its activations (see the class comment). */
    public void setGradientCheckpointing(boolean on) {
        this.gradientCheckpointing = on;
    }

    /** Whether gradient checkpointing is on. */
    public boolean isGradientCheckpointing() {
        return gradientCheckpointing;
    }

    /** Input channels. */
    public int inChannels() {
        return inChannels;
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

    /** {@code downsamplers.0}, or null on the last level. */
    public Downsample2D downsampler() {
        return downsampler;
    }
}
