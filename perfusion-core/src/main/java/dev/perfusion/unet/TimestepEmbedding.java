package dev.perfusion.unet;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Linear;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;

/**
 * diffusers' {@code TimestepEmbedding} with SD's settings (act_fn silu, no condition projection, no post
 * activation): emb = linear_2(SiLU(linear_1(t))).
 * <pre>
 *   linear_1  Linear(in, D)   (SD v1.5: 320 → 1280)
 *   linear_2  Linear(D, D)
 * </pre>
 * Source: diffusers 0.30.3 {@code src/diffusers/models/embeddings.py}, class {@code TimestepEmbedding}.
 */
public final class TimestepEmbedding extends Module {
    private final Linear linear1;
    private final Linear linear2;

    /**
     * @param inChannels   width of the sinusoidal embedding
     * @param timeEmbedDim D, width of the time embedding
     */
    public TimestepEmbedding(Backend backend, int inChannels, int timeEmbedDim) {
        super(backend);
        this.linear1 = registerModule("linear_1", new Linear(backend, inChannels, timeEmbedDim, true));
        this.linear2 = registerModule("linear_2", new Linear(backend, timeEmbedDim, timeEmbedDim, true));
    }

    /** [B, in] → [B, D]. */
    public Tensor forward(Tensor sample) {
        Tensor h = linear1.forward(sample); // [B, D]
        Tensor a = Ops.silu(h);             // [B, D]
        Tensor y = linear2.forward(a);      // [B, D]
        return Intermediates.release(y, h, a);
    }

    /** D. */
    public int timeEmbedDim() {
        return linear2.outFeatures();
    }
}
