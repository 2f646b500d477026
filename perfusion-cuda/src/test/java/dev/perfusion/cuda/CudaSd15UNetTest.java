package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaTestSupport.cuda;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.autograd.Ops;
import dev.perfusion.io.DiffusersConfig;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.unet.UNet2DConditionConfig;
import dev.perfusion.unet.UNet2DConditionModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * An SD v1.5-shaped UNet (random weights, 859.5 M parameters) on the GPU: forward and backward at 512² (latent
 * 64×64, batch 2 as with classifier-free guidance, 77 text tokens of width 768), first with FLOAT32 weights, then
 * with the same weights stored as FLOAT16. The reference backend cannot run this size in test time, so the checks
 * are: every output and input gradient finite, the right shapes, and the fp16-weight run within fp16's error of
 * the fp32 one (weights rounded to 11 significant bits: a relative error of a few 1e-4 per weight, which 16 blocks
 * deep grows to well under 5 % of the output's largest value). Activations are FLOAT32 in both runs: the models
 * widen half weights on use ({@code Parameter.compute()}).
 */
@Tag("cuda")
class CudaSd15UNetTest {
    /** diffusers' runwayml/stable-diffusion-v1-5 unet/config.json (the keys the config reader uses). */
    static final String SD15_UNET = "{\"act_fn\":\"silu\",\"attention_head_dim\":8,"
            + "\"block_out_channels\":[320,640,1280,1280],\"center_input_sample\":false,\"cross_attention_dim\":768,"
            + "\"down_block_types\":[\"CrossAttnDownBlock2D\",\"CrossAttnDownBlock2D\",\"CrossAttnDownBlock2D\","
            + "\"DownBlock2D\"],\"downsample_padding\":1,\"flip_sin_to_cos\":true,\"freq_shift\":0,\"in_channels\":4,"
            + "\"layers_per_block\":2,\"mid_block_scale_factor\":1,\"norm_eps\":1e-05,\"norm_num_groups\":32,"
            + "\"out_channels\":4,\"sample_size\":64,\"up_block_types\":[\"UpBlock2D\",\"CrossAttnUpBlock2D\","
            + "\"CrossAttnUpBlock2D\",\"CrossAttnUpBlock2D\"],\"use_linear_projection\":false}";

    @BeforeEach
    void needs() {
        CudaTestSupport.needsAGpu();
    }

    @Test
    void sd15ShapedUNetRunsForwardAndBackwardWithFp16Weights() {
        Backend be = cuda();
        UNet2DConditionConfig cfg = UNet2DConditionConfig.from(DiffusersConfig.parse(SD15_UNET, "SD v1.5 unet config"));
        try (UNet2DConditionModel unet = new UNet2DConditionModel(be, cfg)) {
            unet.initialize(15);
            long params = 0;
            for (Parameter p : unet.parameters()) {
                params += p.shape().numel();
            }
            assertEquals(859_520_964L, params, "SD v1.5 UNet parameter count");
            float[][] fp32 = forwardBackward(be, unet);
            for (Parameter p : unet.parameters()) {
                p.set(be.cast(p.value(), DType.FLOAT16));
            }
            assertEquals(DType.FLOAT16, unet.parameters().get(0).dtype());
            float[][] fp16 = forwardBackward(be, unet);
            String[] what = {"output", "dL/dsample", "dL/dtext"};
            for (int i = 0; i < 3; i++) {
                double max = 0;
                double err = 0;
                for (int j = 0; j < fp32[i].length; j++) {
                    max = Math.max(max, Math.abs(fp32[i][j]));
                    err = Math.max(err, Math.abs(fp32[i][j] - fp16[i][j]));
                }
                assertTrue(max > 0, what[i] + " is all zeros");
                assertTrue(err <= 0.05 * max, String.format("%s: fp16 weights differ from fp32 weights by %.3g, largest"
                        + " value %.3g (allowed 5 %%)", what[i], err, max));
            }
        }
    }

    /** L = Σ w ⊙ unet(x, 500, text) with seeded w: {output, dL/dx, dL/dtext}, each checked finite. */
    private static float[][] forwardBackward(Backend be, UNet2DConditionModel unet) {
        try (TensorScope scope = TensorScope.open()) {
            Shape xs = Shape.of(2, 4, 64, 64);
            Shape ts = Shape.of(2, 77, 768);
            Tensor x = be.fromArray(HostRandom.normal(1, xs.numelInt()), xs).requiresGrad(true);   // [2, 4, 64, 64]
            Tensor text = be.fromArray(HostRandom.normal(2, ts.numelInt()), ts).requiresGrad(true); // [2, 77, 768]
            Tensor t = be.fromArray(new long[] {500, 500}, Shape.of(2));                            // [2]
            Tensor out = unet.forward(x, t, text);                                                   // [2, 4, 64, 64]
            assertEquals(xs, out.shape());
            Tensor w = be.fromArray(HostRandom.normal(3, xs.numelInt()), xs);                       // [2, 4, 64, 64]
            Ops.sum(Ops.mul(out, w), new int[0], false).backward();                                  // []
            assertNotNull(x.grad(), "no gradient reached the sample");
            assertNotNull(text.grad(), "no gradient reached the text encodings");
            float[][] r = {out.toFloatArray(), x.grad().toFloatArray(), text.grad().toFloatArray()};
            String[] what = {"output", "dL/dsample", "dL/dtext"};
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < r[i].length; j++) {
                    assertTrue(Float.isFinite(r[i][j]), what[i] + "[" + j + "] = " + r[i][j]);
                }
            }
            return r;
        }
    }
}
