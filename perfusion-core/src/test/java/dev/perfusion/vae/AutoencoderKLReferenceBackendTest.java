package dev.perfusion.vae;

import static dev.perfusion.vae.VaeGolden.check;
import static dev.perfusion.vae.VaeGolden.checkAll;
import static dev.perfusion.vae.VaeGolden.read;
import static dev.perfusion.vae.VaeGolden.recorder;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.vae.VaeGolden.Snap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The smallest golden decode on the scalar oracle backend, so the model code is checked independently of ND4J. */
@Tag("unit")
class AutoencoderKLReferenceBackendTest {

    @Test
    void decodesOneLatentOnTheReferenceBackend() throws Exception {
        Backend be = new ReferenceBackend();
        try (AutoencoderKL vae = AutoencoderKL.load(VaeGolden.VAE_DIR, be);
             TensorScope scope = TensorScope.open();
             AutoCloseable ng = Autograd.noGrad()) {
            Map<String, Snap> snaps = VaeGolden.newSnaps();
            Tensor out = vae.decode(read(be, "dec_b1_4x4.in_latent"), recorder(snaps));
            checkAll(be, "dec_b1_4x4.", snaps, "post_quant_conv", "decoder.conv_in", "decoder.mid_block",
                    "decoder.up_blocks.0", "decoder.up_blocks.3", "decoder.conv_norm_out");
            check(be, "dec_b1_4x4.out_sample", out);
        } finally {
            be.close();
        }
    }
}
