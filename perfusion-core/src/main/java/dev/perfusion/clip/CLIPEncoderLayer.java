package dev.perfusion.clip;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.LayerNorm;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;

/**
 * transformers' {@code CLIPEncoderLayer}, a pre-LayerNorm transformer block:
 * <pre>
 *   r = x + self_attn(layer_norm1(x))
 *   y = r + mlp(layer_norm2(r))
 * </pre>
 * Keys: {@code self_attn.*} ({@link CLIPAttention}), {@code layer_norm1.{weight,bias}} [D], {@code mlp.*}
 * ({@link CLIPMLP}), {@code layer_norm2.{weight,bias}} [D].
 *
 * <p>Source: transformers {@code src/transformers/models/clip/modeling_clip.py}, class {@code CLIPEncoderLayer}
 * (4.45.0.dev0, commit d6751d91).
 */
public final class CLIPEncoderLayer extends Module {
    private final CLIPAttention selfAttn;
    private final LayerNorm layerNorm1;
    private final CLIPMLP mlp;
    private final LayerNorm layerNorm2;

    /** Modules for {@code config}; weights start at zero (norms at γ = 1) until loaded or initialised. */
    public CLIPEncoderLayer(Backend backend, CLIPTextConfig config) {
        super(backend);
        this.selfAttn = registerModule("self_attn", new CLIPAttention(backend, config));
        this.layerNorm1 = registerModule("layer_norm1",
                new LayerNorm(backend, config.hiddenSize(), config.layerNormEps(), true));
        this.mlp = registerModule("mlp", new CLIPMLP(backend, config));
        this.layerNorm2 = registerModule("layer_norm2",
                new LayerNorm(backend, config.hiddenSize(), config.layerNormEps(), true));
    }

    /** x [B, L, D] → [B, L, D]. */
    public Tensor forward(Tensor x) {
        Tensor n1 = layerNorm1.forward(x);   // [B, L, D]
        Tensor a = selfAttn.forward(n1);     // [B, L, D]
        Tensor r = Ops.add(x, a);            // [B, L, D]
        Tensor n2 = layerNorm2.forward(r);   // [B, L, D]
        Tensor m = mlp.forward(n2);          // [B, L, D]
        Tensor y = Ops.add(r, m);            // [B, L, D]
        return Intermediates.release(y, n1, a, r, n2, m);
    }

    /** {@code self_attn}. */
    public CLIPAttention selfAttn() {
        return selfAttn;
    }

    /** {@code layer_norm1}, before the attention. */
    public LayerNorm layerNorm1() {
        return layerNorm1;
    }

    /** {@code mlp}. */
    public CLIPMLP mlp() {
        return mlp;
    }

    /** {@code layer_norm2}, before the MLP. */
    public LayerNorm layerNorm2() {
        return layerNorm2;
    }
}
