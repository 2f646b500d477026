package dev.perfusion.unet;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.GroupNorm;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Linear;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * diffusers' {@code Transformer2DModel} on continuous input, as SD's UNet uses it: a spatial transformer around
 * {@link BasicTransformerBlock}s with an outer residual.
 * <pre>
 *   h = norm(x)                                  GroupNorm(groups, C, eps 1e-6, affine)
 *   conv projection (SD v1.x, use_linear_projection false):
 *       h = proj_in(h)  (1×1 Conv2d C → inner), then [B, inner, H, W] → tokens [B, H·W, inner]
 *   linear projection (SD v2.x, use_linear_projection true):
 *       tokens [B, H·W, C], then h = proj_in(h)  (Linear C → inner)
 *   h = transformer_blocks.k(h, encoder_hidden_states)   for k = 0 … layers−1
 *   proj_out (1×1 Conv2d or Linear inner → C) in the mirrored order, back to [B, C, H, W]
 *   out = h + x
 * </pre>
 * inner = heads·dimHead. Source: diffusers 0.30.3 {@code src/diffusers/models/transformers/transformer_2d.py},
 * class {@code Transformer2DModel} ({@code _operate_on_continuous_inputs}, {@code _get_output_for_continuous_inputs}).
 */
public final class Transformer2DModel extends Module {
    /** diffusers hard-codes eps 1e-6 for this GroupNorm (not the UNet's norm_eps). */
    public static final float NORM_EPS = 1e-6f;

    private final int inChannels;
    private final int innerDim;
    private final boolean useLinearProjection;
    private final GroupNorm norm;
    private final Conv2d projInConv;
    private final Linear projInLinear;
    private final List<BasicTransformerBlock> transformerBlocks;
    private final Conv2d projOutConv;
    private final Linear projOutLinear;

    /**
     * @param heads               attention heads
     * @param dimHead             size of one head
     * @param inChannels          C
     * @param numLayers           number of transformer blocks (1 in SD)
     * @param crossAttentionDim   width of the encoder hidden states
     * @param normGroups          GroupNorm groups
     * @param useLinearProjection Linear instead of 1×1 Conv2d for proj_in/proj_out
     */
    public Transformer2DModel(Backend backend, int heads, int dimHead, int inChannels, int numLayers,
                              int crossAttentionDim, int normGroups, boolean useLinearProjection) {
        super(backend);
        if (heads <= 0 || dimHead <= 0 || inChannels <= 0 || numLayers <= 0) {
            throw new IllegalArgumentException("bad Transformer2DModel configuration: heads " + heads + ", dimHead "
                    + dimHead + ", inChannels " + inChannels + ", layers " + numLayers);
        }
        this.inChannels = inChannels;
        this.innerDim = heads * dimHead;
        this.useLinearProjection = useLinearProjection;
        this.norm = registerModule("norm", new GroupNorm(backend, normGroups, inChannels, NORM_EPS, true));
        if (useLinearProjection) {
            this.projInConv = null;
            this.projInLinear = registerModule("proj_in", new Linear(backend, inChannels, innerDim, true));
        } else {
            this.projInConv = registerModule("proj_in", new Conv2d(backend, inChannels, innerDim, 1, 1, 0, true));
            this.projInLinear = null;
        }
        List<BasicTransformerBlock> blocks = new ArrayList<>();
        for (int k = 0; k < numLayers; k++) {
            blocks.add(registerModule("transformer_blocks." + k,
                    new BasicTransformerBlock(backend, innerDim, heads, dimHead, crossAttentionDim)));
        }
        this.transformerBlocks = Collections.unmodifiableList(blocks);
        if (useLinearProjection) {
            this.projOutConv = null;
            this.projOutLinear = registerModule("proj_out", new Linear(backend, innerDim, inChannels, true));
        } else {
            this.projOutConv = registerModule("proj_out", new Conv2d(backend, innerDim, inChannels, 1, 1, 0, true));
            this.projOutLinear = null;
        }
    }

    /**
     * @param x                   [B, C, H, W]
     * @param encoderHiddenStates [B, M, Cc]
     * @param hooks               reports {@code norm}, {@code proj_in}, {@code transformer_blocks.k} (+ internals),
     *                            {@code proj_out}
     * @return [B, C, H, W]
     */
    public Tensor forward(Tensor x, Tensor encoderHiddenStates, ForwardHooks hooks) {
        if (x.rank() != 4 || x.dim(1) != inChannels) {
            throw new IllegalArgumentException("Transformer2DModel(" + inChannels + ") needs [B, " + inChannels
                    + ", H, W], got " + x.shape());
        }
        int b = x.dim(0);
        int h = x.dim(2);
        int w = x.dim(3);
        List<Tensor> temps = new ArrayList<>();
        Tensor n = norm.forward(x);                                              // [B, C, H, W]
        hooks.emit("norm", n);
        temps.add(n);
        Tensor tokens;
        if (useLinearProjection) {
            Tensor p = Ops.permute(n, 0, 2, 3, 1);                               // [B, H, W, C]
            Tensor r = Ops.reshape(p, Shape.of(b, h * w, inChannels));           // [B, H·W, C]
            tokens = projInLinear.forward(r);                                    // [B, H·W, inner]
            hooks.emit("proj_in", tokens);
            temps.add(p);
            temps.add(r);
        } else {
            Tensor c = projInConv.forward(n);                                    // [B, inner, H, W]
            hooks.emit("proj_in", c);
            Tensor p = Ops.permute(c, 0, 2, 3, 1);                               // [B, H, W, inner]
            tokens = Ops.reshape(p, Shape.of(b, h * w, innerDim));               // [B, H·W, inner]
            temps.add(c);
            temps.add(p);
        }
        for (int k = 0; k < transformerBlocks.size(); k++) {
            Tensor next = transformerBlocks.get(k).forward(tokens, encoderHiddenStates,
                    hooks.child("transformer_blocks." + k));                     // [B, H·W, inner]
            hooks.emit("transformer_blocks." + k, next);
            temps.add(tokens);
            tokens = next;
        }
        Tensor projected;
        if (useLinearProjection) {
            Tensor l = projOutLinear.forward(tokens);                            // [B, H·W, C]
            Tensor r = Ops.reshape(l, Shape.of(b, h, w, inChannels));            // [B, H, W, C]
            projected = Ops.permute(r, 0, 3, 1, 2);                              // [B, C, H, W]
            temps.add(l);
            temps.add(r);
        } else {
            Tensor r = Ops.reshape(tokens, Shape.of(b, h, w, innerDim));         // [B, H, W, inner]
            Tensor p = Ops.permute(r, 0, 3, 1, 2);                               // [B, inner, H, W]
            projected = projOutConv.forward(p);                                  // [B, C, H, W]
            temps.add(r);
            temps.add(p);
        }
        hooks.emit("proj_out", projected);
        temps.add(tokens);
        temps.add(projected);
        Tensor out = Ops.add(projected, x);                                      // [B, C, H, W]
        return Intermediates.release(out, temps.toArray(new Tensor[0]));
    }

    /** C. */
    public int inChannels() {
        return inChannels;
    }

    /** heads·dimHead. */
    public int innerDim() {
        return innerDim;
    }

    /** Whether proj_in/proj_out are Linear (SD 2.x) rather than 1×1 convolutions (SD 1.x). */
    public boolean useLinearProjection() {
        return useLinearProjection;
    }

    /** The transformer blocks, in order. */
    public List<BasicTransformerBlock> transformerBlocks() {
        return transformerBlocks;
    }
}
