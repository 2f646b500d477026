package dev.perfusion.examples.demo;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Attention;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.FeedForward;
import dev.perfusion.nn.GroupNorm;
import dev.perfusion.nn.LayerNorm;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * A spatial transformer shaped like diffusers' {@code Transformer2DModel} with one
 * {@code BasicTransformerBlock}: GroupNorm, 1×1 {@code proj_in}, self-attention ({@code attn1}),
 * cross-attention to the text ({@code attn2}, where Perfusion plugs in), GEGLU feed-forward, 1×1
 * {@code proj_out}, residual. A demo stand-in, not the validated UNet block.
 */
final class ToyTransformer2D extends Module {
    private final GroupNorm norm;
    private final Conv2d projIn;
    private final LayerNorm norm1;
    private final Attention attn1;
    private final LayerNorm norm2;
    private final Attention attn2;
    private final LayerNorm norm3;
    private final FeedForward ff;
    private final Conv2d projOut;

    ToyTransformer2D(Backend backend, int channels, int contextDim, int heads, int groups) {
        super(backend);
        this.norm = registerModule("norm", new GroupNorm(backend, groups, channels, 1e-6f, true));
        this.projIn = registerModule("proj_in", new Conv2d(backend, channels, channels, 1, 1, 0, true));
        String block = "transformer_blocks.0.";
        this.norm1 = registerModule(block + "norm1", new LayerNorm(backend, channels, 1e-5f, true));
        this.attn1 = registerModule(block + "attn1", new Attention(backend, channels, null, heads, channels / heads));
        this.norm2 = registerModule(block + "norm2", new LayerNorm(backend, channels, 1e-5f, true));
        this.attn2 = registerModule(block + "attn2", new Attention(backend, channels, contextDim, heads, channels / heads));
        this.norm3 = registerModule(block + "norm3", new LayerNorm(backend, channels, 1e-5f, true));
        this.ff = registerModule(block + "ff", new FeedForward(backend, channels));
        this.projOut = registerModule("proj_out", new Conv2d(backend, channels, channels, 1, 1, 0, true));
    }

    /** x [B, C, H, W], context [B, 77, D] → [B, C, H, W]. */
    Tensor forward(Tensor x, Tensor context) {
        int b = x.dim(0);
        int c = x.dim(1);
        int hh = x.dim(2);
        int ww = x.dim(3);
        Tensor h = projIn.forward(norm.forward(x));                           // [B, C, H, W]
        h = Ops.permute(Ops.reshape(h, Shape.of(b, c, hh * ww)), 0, 2, 1);   // [B, HW, C]
        h = Ops.add(h, attn1.forward(norm1.forward(h)));                      // [B, HW, C]
        h = Ops.add(h, attn2.forward(norm2.forward(h), context, null));      // [B, HW, C]
        h = Ops.add(h, ff.forward(norm3.forward(h)));                         // [B, HW, C]
        h = Ops.reshape(Ops.permute(h, 0, 2, 1), Shape.of(b, c, hh, ww));    // [B, C, H, W]
        return Ops.add(x, projOut.forward(h));                               // [B, C, H, W]
    }
}
