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
 * diffusers' {@code UNetMidBlock2DCrossAttn} with output_scale_factor 1 (SD's mid_block_scale_factor):
 * <pre>
 *   h = resnets.0(x, temb)
 *   for k: h = attentions.k(h, encoder_hidden_states); h = resnets.(k+1)(h, temb)      (num_layers = 1 in SD)
 * </pre>
 * All at C channels; each attention has {@code heads} heads of size C/heads.
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/unets/unet_2d_blocks.py}, class
 * {@code UNetMidBlock2DCrossAttn}. Gradient checkpointing recomputes the whole block as one segment.
 */
public final class UNetMidBlock2DCrossAttn extends Module {
    private final int channels;
    private final List<Transformer2DModel> attentions;
    private final List<ResnetBlock2D> resnets;
    private boolean gradientCheckpointing;

    /**
     * @param channels            C
     * @param tembChannels        width of the time embedding
     * @param numLayers           attention/resnet pairs after the first resnet (1 in SD)
     * @param transformerLayers   transformer blocks inside each attention (1 in SD)
     * @param heads               attention heads
     * @param crossAttentionDim   width of the encoder hidden states
     * @param groups              GroupNorm groups
     * @param eps                 GroupNorm eps of the resnets
     * @param useLinearProjection Linear proj_in/proj_out (SD 2.x) instead of 1×1 convs
     */
    public UNetMidBlock2DCrossAttn(Backend backend, int channels, int tembChannels, int numLayers,
                                   int transformerLayers, int heads, int crossAttentionDim, int groups, float eps,
                                   boolean useLinearProjection) {
        super(backend);
        this.channels = channels;
        int dimHead = CrossAttnDownBlock2D.headDim(channels, heads);
        List<Transformer2DModel> attn = new ArrayList<>();
        for (int k = 0; k < numLayers; k++) {
            attn.add(registerModule("attentions." + k, new Transformer2DModel(backend, heads, dimHead, channels,
                    transformerLayers, crossAttentionDim, groups, useLinearProjection)));
        }
        List<ResnetBlock2D> res = new ArrayList<>();
        for (int k = 0; k <= numLayers; k++) {
            res.add(registerModule("resnets." + k, new ResnetBlock2D(backend, channels, channels, tembChannels, groups, eps)));
        }
        this.attentions = Collections.unmodifiableList(attn);
        this.resnets = Collections.unmodifiableList(res);
    }

    /**
     * @param x                   [B, C, H, W]
     * @param temb                [B, T]
     * @param encoderHiddenStates [B, M, Cc]
     * @param hooks               reports {@code resnets.k}, {@code attentions.k} (+ internals)
     * @return [B, C, H, W]
     */
    public Tensor forward(Tensor x, Tensor temb, Tensor encoderHiddenStates, ForwardHooks hooks) {
        if (x.rank() != 4 || x.dim(1) != channels) {
            throw new IllegalArgumentException("UNetMidBlock2DCrossAttn(" + channels + ") needs [B, " + channels
                    + ", H, W], got " + x.shape());
        }
        if (!(gradientCheckpointing && Autograd.isGradEnabled())) {
            return run(x, temb, encoderHiddenStates, hooks);
        }
        ForwardHooks[] once = {hooks};
        return Checkpoint.run("UNetMidBlock2DCrossAttn", xs -> {
            ForwardHooks hk = once[0];
            once[0] = ForwardHooks.NONE; // the recomputation in backward reports nothing
            return run(xs[0], xs[1], xs[2], hk);
        }, x, temb, encoderHiddenStates);
    }

    private Tensor run(Tensor x, Tensor temb, Tensor ehs, ForwardHooks hooks) {
        Tensor h = resnets.get(0).forward(x, temb); // [B, C, H, W]
        hooks.emit("resnets.0", h);
        for (int k = 0; k < attentions.size(); k++) {
            Tensor a = attentions.get(k).forward(h, ehs, hooks.child("attentions." + k)); // [B, C, H, W]
            hooks.emit("attentions." + k, a);
            Tensor r = resnets.get(k + 1).forward(a, temb);                              // [B, C, H, W]
            hooks.emit("resnets." + (k + 1), r);
            Intermediates.release(r, h, a);
            h = r;
        }
        return h;
    }

    /** Recompute the block during backward instead of keeping its activations. */
    public void setGradientCheckpointing(boolean on) {
        this.gradientCheckpointing = on;
    }

    /** C. */
    public int channels() {
        return channels;
    }

    /** {@code attentions.k}. */
    public List<Transformer2DModel> attentions() {
        return attentions;
    }

    /** {@code resnets.k}. */
    public List<ResnetBlock2D> resnets() {
        return resnets;
    }
}
