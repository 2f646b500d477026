package dev.perfusion.vae;

import static dev.perfusion.vae.VaeGolden.check;
import static dev.perfusion.vae.VaeGolden.checkAll;
import static dev.perfusion.vae.VaeGolden.read;
import static dev.perfusion.vae.VaeGolden.recorder;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.vae.VaeGolden.Snap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code tiny-sd15/vae} on {@link Nd4jBackend} against diffusers' outputs ({@code golden/cases/vae_cases.safetensors},
 * README §6), within 1e-4 + 1e-4·|ref|: the posterior (mean, clamped logvar, std, a sample with the stored noise)
 * of two images, two decodes, and every recorded intermediate of the first case of each.
 */
@Tag("unit")
class AutoencoderKLGoldenTest {
    private static Backend be;
    private static AutoencoderKL vae;
    private TensorScope scope;
    private AutoCloseable noGrad;

    @BeforeAll
    static void load() throws Exception {
        be = new Nd4jBackend();
        vae = AutoencoderKL.load(VaeGolden.VAE_DIR, be);
    }

    @AfterAll
    static void release() {
        vae.close();
        be.close();
    }

    @BeforeEach
    void open() {
        scope = TensorScope.open();
        noGrad = Autograd.noGrad();
    }

    @AfterEach
    void close() throws Exception {
        noGrad.close();
        scope.close();
    }

    private void checkPosterior(String c, LatentDistribution d) {
        check(be, c + ".latent_mean", d.mean());
        check(be, c + ".latent_logvar_clamped", d.logvar());
        check(be, c + ".latent_std", d.std());
        check(be, c + ".latent_sample", d.sample(read(be, c + ".in_eps")));
    }

    @Test
    void encodesOneImageWithEveryIntermediate() {
        Map<String, Snap> snaps = VaeGolden.newSnaps();
        LatentDistribution d = vae.encode(read(be, "enc_b1_32x32.in_image"), recorder(snaps));
        checkAll(be, "enc_b1_32x32.", snaps, "encoder.conv_in", "encoder.down_blocks.0", "encoder.down_blocks.1",
                "encoder.down_blocks.2", "encoder.down_blocks.3", "encoder.mid_block.resnets.0",
                "encoder.mid_block.attentions.0", "encoder.mid_block", "encoder.conv_norm_out", "encoder.conv_out",
                "quant_conv");
        checkPosterior("enc_b1_32x32", d);
    }

    @Test
    void encodesABatchOfTwoNonSquareImages() {
        checkPosterior("enc_b2_48x32", vae.encode(read(be, "enc_b2_48x32.in_image")));
    }

    @Test
    void decodesOneLatentWithEveryIntermediate() {
        Map<String, Snap> snaps = VaeGolden.newSnaps();
        Tensor out = vae.decode(read(be, "dec_b1_4x4.in_latent"), recorder(snaps));
        checkAll(be, "dec_b1_4x4.", snaps, "post_quant_conv", "decoder.conv_in", "decoder.mid_block",
                "decoder.up_blocks.0", "decoder.up_blocks.1", "decoder.up_blocks.2", "decoder.up_blocks.3",
                "decoder.conv_norm_out");
        check(be, "dec_b1_4x4.out_sample", out);
    }

    @Test
    void decodesABatchOfTwoNonSquareLatents() {
        check(be, "dec_b2_6x4.out_sample", vae.decode(read(be, "dec_b2_6x4.in_latent")));
    }
}
