package dev.perfusion.examples.demo;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.GroupNorm;
import dev.perfusion.nn.Linear;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.List;

/**
 * A two-level UNet with SD v1.x's structure at toy width: sinusoidal timestep embedding and its MLP,
 * {@code conv_in}, a down level (resnet, spatial transformer with cross-attention, stride-2 downsampler), a mid
 * resnet, an up level (nearest ×2, conv, skip concatenation, resnet, transformer), GroupNorm/SiLU and
 * {@code conv_out}. Keys follow diffusers' naming. The Stable Diffusion milestone replaces it with the real
 * {@code UNet2DConditionModel}.
 */
final class TinyUNet extends Module {
    private final int channels;
    private final Linear timeLinear1;
    private final Linear timeLinear2;
    private final Conv2d convIn;
    private final ToyResnetBlock downResnet;
    private final ToyTransformer2D downAttention;
    private final Conv2d downsample;
    private final ToyResnetBlock midResnet;
    private final Conv2d upsampleConv;
    private final Conv2d skipConv;
    private final ToyResnetBlock upResnet;
    private final ToyTransformer2D upAttention;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    TinyUNet(Backend backend, int latentChannels, int channels, int contextDim, int heads, int groups) {
        super(backend);
        this.channels = channels;
        int timeDim = 4 * channels;
        this.timeLinear1 = registerModule("time_embedding.linear_1", new Linear(backend, channels, timeDim, true));
        this.timeLinear2 = registerModule("time_embedding.linear_2", new Linear(backend, timeDim, timeDim, true));
        this.convIn = registerModule("conv_in", new Conv2d(backend, latentChannels, channels, 3, 1, 1, true));
        this.downResnet = registerModule("down_blocks.0.resnets.0", new ToyResnetBlock(backend, channels, timeDim, groups));
        this.downAttention = registerModule("down_blocks.0.attentions.0",
                new ToyTransformer2D(backend, channels, contextDim, heads, groups));
        this.downsample = registerModule("down_blocks.0.downsamplers.0.conv", new Conv2d(backend, channels, channels, 3, 2, 1, true));
        this.midResnet = registerModule("mid_block.resnets.0", new ToyResnetBlock(backend, channels, timeDim, groups));
        this.upsampleConv = registerModule("up_blocks.0.upsamplers.0.conv", new Conv2d(backend, channels, channels, 3, 1, 1, true));
        this.skipConv = registerModule("up_blocks.0.conv_shortcut", new Conv2d(backend, 2 * channels, channels, 1, 1, 0, true));
        this.upResnet = registerModule("up_blocks.0.resnets.0", new ToyResnetBlock(backend, channels, timeDim, groups));
        this.upAttention = registerModule("up_blocks.0.attentions.0",
                new ToyTransformer2D(backend, channels, contextDim, heads, groups));
        this.convNormOut = registerModule("conv_norm_out", new GroupNorm(backend, groups, channels, 1e-5f, true));
        this.convOut = registerModule("conv_out", new Conv2d(backend, channels, latentChannels, 3, 1, 1, true));
    }

    /** Predicted noise for latents x [B, 4, H, W] at timestep t, conditioned on context [B, 77, D]. */
    Tensor forward(Tensor x, int t, Tensor context) {
        int b = x.dim(0);
        Tensor temb = timeLinear2.forward(Ops.silu(timeLinear1.forward(timestepEmbedding(t, b)))); // [B, 4C]
        Tensor h = convIn.forward(x);                                           // [B, C, H, W]
        Tensor skip = downAttention.forward(downResnet.forward(h, temb), context); // [B, C, H, W]
        Tensor d = downsample.forward(skip);                                    // [B, C, H/2, W/2]
        d = midResnet.forward(d, temb);                                         // [B, C, H/2, W/2]
        Tensor u = upsampleConv.forward(Ops.upsampleNearest2x(d));             // [B, C, H, W]
        u = skipConv.forward(Ops.concat(List.of(u, skip), 1));                 // [B, C, H, W]
        u = upAttention.forward(upResnet.forward(u, temb), context);           // [B, C, H, W]
        return convOut.forward(Ops.silu(convNormOut.forward(u)));              // [B, 4, H, W]
    }

    /**
     * diffusers' sinusoidal embedding with flip_sin_to_cos=true, freq_shift=0: [cos(t·f_i), sin(t·f_i)] with
     * f_i = exp(−ln(10000)·i/half).
     */
    private Tensor timestepEmbedding(int t, int batch) {
        int half = channels / 2;
        float[] args = new float[half];
        for (int i = 0; i < half; i++) {
            args[i] = (float) (t * Math.exp(-Math.log(10000) * i / half));
        }
        Tensor a = backend().fromArray(args, Shape.of(1, half));                     // [1, C/2]
        Tensor emb = Ops.concat(List.of(Ops.cos(a), Ops.sin(a)), 1);                 // [1, C]
        return Ops.expand(emb, Shape.of(batch, channels));                           // [B, C]
    }
}
