package dev.perfusion.clip;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Linear;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;

/**
 * transformers' {@code CLIPMLP}: y = fc2(act(fc1(x))), act = quick_gelu x·σ(1.702x) for SD v1.x (or the exact
 * erf GELU when the config says {@code gelu}).
 * <pre>
 *   fc1.weight [F, D], fc1.bias [F]
 *   fc2.weight [D, F], fc2.bias [D]
 * </pre>
 * Source: transformers {@code src/transformers/models/clip/modeling_clip.py}, class {@code CLIPMLP}
 * (4.45.0.dev0, commit d6751d91); quick_gelu from {@code activations.py}, {@code QuickGELUActivation}.
 */
public final class CLIPMLP extends Module {
    private final UnaryOp activation;
    private final Linear fc1;
    private final Linear fc2;

    /** Modules for {@code config}; weights start at zero until loaded or initialised. */
    public CLIPMLP(Backend backend, CLIPTextConfig config) {
        super(backend);
        this.activation = config.activation();
        this.fc1 = registerModule("fc1", new Linear(backend, config.hiddenSize(), config.intermediateSize(), true));
        this.fc2 = registerModule("fc2", new Linear(backend, config.intermediateSize(), config.hiddenSize(), true));
    }

    /** [..., D] → [..., D]. */
    public Tensor forward(Tensor x) {
        Tensor h = fc1.forward(x);            // [..., F]
        Tensor a = Ops.unary(activation, h);  // [..., F]
        Tensor y = fc2.forward(a);            // [..., D]
        return Intermediates.release(y, h, a);
    }

    /** The activation between fc1 and fc2. */
    public UnaryOp activation() {
        return activation;
    }

    /** {@code fc1}: D → F. */
    public Linear fc1() {
        return fc1;
    }

    /** {@code fc2}: F → D. */
    public Linear fc2() {
        return fc2;
    }
}
