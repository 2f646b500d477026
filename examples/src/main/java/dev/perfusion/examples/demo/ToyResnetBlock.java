package dev.perfusion.examples.demo;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.GroupNorm;
import dev.perfusion.nn.Linear;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * A residual block shaped like diffusers' {@code ResnetBlock2D} (GroupNorm → SiLU → 3×3 conv, plus a projected
 * time embedding, twice, and a skip), same channels in and out. A demo stand-in, not the validated UNet block.
 */
final class ToyResnetBlock extends Module {
    private final GroupNorm norm1;
    private final Conv2d conv1;
    private final Linear timeEmbProj;
    private final GroupNorm norm2;
    private final Conv2d conv2;

    ToyResnetBlock(Backend backend, int channels, int timeDim, int groups) {
        super(backend);
        this.norm1 = registerModule("norm1", new GroupNorm(backend, groups, channels, 1e-5f, true));
        this.conv1 = registerModule("conv1", new Conv2d(backend, channels, channels, 3, 1, 1, true));
        this.timeEmbProj = registerModule("time_emb_proj", new Linear(backend, timeDim, channels, true));
        this.norm2 = registerModule("norm2", new GroupNorm(backend, groups, channels, 1e-5f, true));
        this.conv2 = registerModule("conv2", new Conv2d(backend, channels, channels, 3, 1, 1, true));
    }

    /** x [B, C, H, W], temb [B, T] → [B, C, H, W]. */
    Tensor forward(Tensor x, Tensor temb) {
        int b = x.dim(0);
        int c = x.dim(1);
        Tensor h = conv1.forward(Ops.silu(norm1.forward(x)));                // [B, C, H, W]
        Tensor t = timeEmbProj.forward(Ops.silu(temb));                      // [B, C]
        h = Ops.add(h, Ops.reshape(t, Shape.of(b, c, 1, 1)));               // [B, C, H, W]
        h = conv2.forward(Ops.silu(norm2.forward(h)));                       // [B, C, H, W]
        return Ops.add(x, h);                                                // [B, C, H, W]
    }
}
