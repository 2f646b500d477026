package dev.perfusion.clip;

import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * transformers' {@code CLIPEncoder}: N {@link CLIPEncoderLayer}s applied in turn, under the keys
 * {@code layers.0} … {@code layers.N−1}.
 *
 * <p>Source: transformers {@code src/transformers/models/clip/modeling_clip.py}, class {@code CLIPEncoder}
 * (4.45.0.dev0, commit d6751d91).
 */
public final class CLIPEncoder extends Module {
    private final List<CLIPEncoderLayer> layers;

    /** Modules for {@code config}; weights start at zero until loaded or initialised. */
    public CLIPEncoder(Backend backend, CLIPTextConfig config) {
        super(backend);
        List<CLIPEncoderLayer> ls = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            ls.add(registerModule("layers." + i, new CLIPEncoderLayer(backend, config)));
        }
        this.layers = List.copyOf(ls);
    }

    /** The output of the last layer: x [B, L, D] → [B, L, D]. {@code x} stays the caller's. */
    public Tensor forward(Tensor x) {
        Tensor h = x;
        for (CLIPEncoderLayer layer : layers) {
            Tensor next = layer.forward(h); // [B, L, D]
            if (h != x) {
                Intermediates.release(next, h);
            }
            h = next;
        }
        return h;
    }

    /**
     * Every hidden state, as transformers' {@code output_hidden_states=True} returns them: element 0 is {@code x}
     * itself and element k (1 ≤ k ≤ N) the output of layer k−1, each [B, L, D]. The caller owns elements 1..N.
     */
    public List<Tensor> forwardAll(Tensor x) {
        List<Tensor> states = new ArrayList<>(layers.size() + 1);
        states.add(x);
        Tensor h = x;
        for (CLIPEncoderLayer layer : layers) {
            h = layer.forward(h); // [B, L, D]
            states.add(h);
        }
        return states;
    }

    /** The layers, in order. */
    public List<CLIPEncoderLayer> layers() {
        return layers;
    }
}
