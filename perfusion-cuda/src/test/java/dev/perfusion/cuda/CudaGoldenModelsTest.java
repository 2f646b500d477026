package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaTestSupport.REF;
import static dev.perfusion.cuda.CudaTestSupport.cuda;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTextOutput;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.unet.UNet2DConditionModel;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The tiny golden models of perfusion-core's test resources (diffusers' {@code tiny-sd15} UNet and transformers'
 * CLIP text encoder, golden/README.md §3–§5) on CUDA: the forward matches the Python goldens within the project's
 * model tolerance (|a − b| ≤ 1e-4 + 1e-4·|ref|), and the backward (input gradients of L = Σ w ⊙ output with fixed
 * random w) matches the same model run on the reference backend. Read through the relative path
 * {@code perfusion-core/src/test/resources/golden}, found from the module folder (surefire) or the repository root.
 * Tier {@code cuda}: skipped with the probe's reason without a GPU, or with the path when the goldens are absent.
 */
@Tag("cuda")
class CudaGoldenModelsTest {
    // surefire runs in the module folder; the device machine's JUnit console runs in the repository root
    static final Path GOLDEN = java.util.stream.Stream.of("../perfusion-core/src/test/resources/golden",
                    "perfusion-core/src/test/resources/golden").map(Path::of).filter(Files::isDirectory).findFirst()
            .orElse(Path.of("../perfusion-core/src/test/resources/golden"));
    static final Path UNET = GOLDEN.resolve("tiny-sd15/unet");
    static final Path UNET_CASES = GOLDEN.resolve("cases/unet_sd15_cases.safetensors");
    static final Path TEXT_ENCODER = GOLDEN.resolve("tiny-sd15/text_encoder");
    static final Path TEXT_CASES = GOLDEN.resolve("cases/text_encoder_cases.safetensors");
    /** golden/README.md: models and single steps agree within |a − b| ≤ 1e-4 + 1e-4·|ref|. */
    static final Tolerance MODEL = new Tolerance(1e-4, 1e-4);

    @BeforeEach
    void needs() {
        CudaTestSupport.needsAGpu();
        for (Path p : new Path[] {UNET, UNET_CASES, TEXT_ENCODER, TEXT_CASES}) {
            assumeTrue(Files.exists(p), () -> "golden files not found at " + p.toAbsolutePath());
        }
    }

    /** Gradients of a whole model in float32 vs the double-accumulating reference: relative to the largest one. */
    private static Tolerance gradientTolerance(float[] ref) {
        double max = 0;
        for (float v : ref) {
            max = Math.max(max, Math.abs(v));
        }
        return new Tolerance(1e-4 * max, 1e-3);
    }

    private static float[] floats(SafeTensors st, String name) {
        FloatBuffer fb = st.buffer(name).asFloatBuffer();
        float[] v = new float[fb.remaining()];
        fb.get(v);
        return v;
    }

    // ------------------------------------------------------------------ UNet

    /** L = Σ w ⊙ unet(sample, t, ehs) for case {@code b2_8x8_tvec}; returns {out, dL/dsample, dL/dehs}. */
    private static float[][] unetForwardBackward(Backend be, String caseName) throws IOException {
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(UNET, be);
             SafeTensors st = SafeTensors.open(UNET_CASES);
             TensorScope scope = TensorScope.open()) {
            String p = caseName + ".";
            Tensor sample = st.tensor(p + "in_sample", be).requiresGrad(true);
            Tensor t = st.tensor(p + "in_timestep", be);
            Tensor ehs = st.tensor(p + "in_encoder_hidden_states", be).requiresGrad(true);
            Tensor out = unet.forward(sample, t, ehs);                                      // [B, 4, H, W]
            Tensor w = be.fromArray(HostRandom.normal(5, out.shape().numelInt()), out.shape());
            Ops.sum(Ops.mul(out, w), new int[0], false).backward();                        // []
            assertNotNull(sample.grad(), "no gradient reached the sample");
            assertNotNull(ehs.grad(), "no gradient reached the encoder hidden states");
            return new float[][] {out.toFloatArray(), sample.grad().toFloatArray(), ehs.grad().toFloatArray()};
        }
    }

    @Test
    void tinyUNetForwardMatchesDiffusersAndBackwardMatchesTheReference() throws IOException {
        String c = "b2_8x8_tvec";
        float[][] gpu = unetForwardBackward(cuda(), c);
        try (SafeTensors st = SafeTensors.open(UNET_CASES)) {
            Shape shape = st.info(c + ".out_sample").shape();
            MODEL.assertClose("cuda unet " + c + " out_sample vs diffusers", shape, floats(st, c + ".out_sample"), gpu[0]);
        }
        float[][] ref = unetForwardBackward(REF, c);
        assertEquals(ref[1].length, gpu[1].length);
        gradientTolerance(ref[1]).assertClose("cuda unet dL/dsample vs reference", Shape.of(ref[1].length), ref[1],
                gpu[1]);
        gradientTolerance(ref[2]).assertClose("cuda unet dL/dencoder_hidden_states vs reference",
                Shape.of(ref[2].length), ref[2], gpu[2]);
    }

    @Test
    void tinyUNetOtherCasesMatchDiffusers() throws IOException {
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(UNET, cuda());
             SafeTensors st = SafeTensors.open(UNET_CASES);
             TensorScope scope = TensorScope.open();
             AutoCloseable ng = Autograd.noGrad()) {
            for (String c : new String[] {"b1_16x16_t999", "b2_16x16_t999", "b1_16x24_t1", "b1_16x16_tfloat"}) {
                String p = c + ".";
                Tensor out = unet.forward(st.tensor(p + "in_sample", cuda()), st.tensor(p + "in_timestep", cuda()),
                        st.tensor(p + "in_encoder_hidden_states", cuda()));
                MODEL.assertClose("cuda unet " + c, st.info(p + "out_sample").shape(), floats(st, p + "out_sample"),
                        out.toFloatArray());
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ text encoder

    /** {last_hidden_state, pooled, dL/dtoken_embeddings} for the ids of case {@code caseName}. */
    private static float[][] textForwardBackward(Backend be, String caseName) throws IOException {
        try (CLIPTextModel model = CLIPTextModel.load(TEXT_ENCODER, be);
             SafeTensors st = SafeTensors.open(TEXT_CASES);
             TensorScope scope = TensorScope.open()) {
            Tensor ids = st.tensor(caseName + ".input_ids", be);                           // [B, 77]
            Tensor tokens = model.embed(ids).requiresGrad(true);                           // [B, 77, D]
            try (CLIPTextOutput out = model.forwardEmbeds(tokens, ids)) {
                Tensor h = out.lastHiddenState();                                          // [B, 77, D]
                Tensor w = be.fromArray(HostRandom.normal(6, h.shape().numelInt()), h.shape());
                Ops.sum(Ops.mul(h, w), new int[0], false).backward();                      // []
                assertNotNull(tokens.grad(), "no gradient reached the token embeddings");
                return new float[][] {h.toFloatArray(), out.pooledOutput().toFloatArray(),
                    tokens.grad().toFloatArray()};
            }
        }
    }

    @Test
    void textEncoderForwardMatchesTransformersAndBackwardMatchesTheReference() throws IOException {
        for (String c : new String[] {"prompts", "random"}) {
            float[][] gpu = textForwardBackward(cuda(), c);
            try (SafeTensors st = SafeTensors.open(TEXT_CASES)) {
                MODEL.assertClose("cuda text encoder " + c + " last_hidden_state",
                        st.info(c + ".last_hidden_state").shape(), floats(st, c + ".last_hidden_state"), gpu[0]);
                MODEL.assertClose("cuda text encoder " + c + " pooler_output", st.info(c + ".pooler_output").shape(),
                        floats(st, c + ".pooler_output"), gpu[1]);
            }
            float[][] ref = textForwardBackward(REF, c);
            gradientTolerance(ref[2]).assertClose("cuda text encoder " + c + " dL/dtokens vs reference",
                    Shape.of(ref[2].length), ref[2], gpu[2]);
        }
    }
}
