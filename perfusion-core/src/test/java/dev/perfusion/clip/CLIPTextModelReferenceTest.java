package dev.perfusion.clip;

import static dev.perfusion.clip.CLIPTextGoldens.LAYERS;
import static dev.perfusion.clip.CLIPTextGoldens.MODEL;
import static dev.perfusion.clip.CLIPTextGoldens.check;
import static dev.perfusion.clip.CLIPTextGoldens.load;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The {@code random} golden case on the reference backend (the scalar oracle, double accumulation): the same
 * model code must reproduce transformers there too, not only on ND4J.
 */
@Tag("unit")
class CLIPTextModelReferenceTest {

    @Test
    void randomIdsMatchTransformersOnTheReferenceBackend() throws Exception {
        Backend be = new ReferenceBackend();
        try (CLIPTextModel model = CLIPTextModel.load(CLIPTextGoldens.MODEL_DIR, be);
             TensorScope scope = TensorScope.open();
             AutoCloseable noGrad = Autograd.noGrad()) {
            String c = "random";
            Tensor ids = load(be, c, "input_ids"); // [2, 77]
            try (CLIPTextOutput out = model.forward(ids, true)) {
                check("reference " + c + ".last_hidden_state", MODEL, load(be, c, "last_hidden_state"),
                        out.lastHiddenState());
                check("reference " + c + ".pooler_output", MODEL, load(be, c, "pooler_output"), out.pooledOutput());
                for (int k = 0; k <= LAYERS; k++) {
                    check("reference " + c + ".hidden_states." + k, MODEL, load(be, c, "hidden_states." + k),
                            out.hiddenState(k));
                }
            }
        }
    }
}
