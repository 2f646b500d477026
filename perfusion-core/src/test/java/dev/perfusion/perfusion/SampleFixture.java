package dev.perfusion.perfusion;

import dev.perfusion.Perfusion;
import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.pipeline.GenerationListener;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.GenerationResult;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.CrossAttentionLayer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The tiny SD v1.5-shaped pipeline on the reference backend (faster than ND4J at these sizes), its covariance from
 * the 300 test captions (through {@link Perfusion#estimateCovariance}) and concepts made the way training starts
 * one (method §2.3): i* = the super-class word's encoding in "a photo of a <word>", o*_K = W_K·i*, plus seeded
 * noise on v* and o*_V. Loaded once per test JVM.
 */
final class SampleFixture {
    static final Path MODEL = Path.of("src/test/resources/golden/tiny-sd15");
    static final Path CAPTIONS = Path.of("src/test/resources/data/partiprompts-300.txt");

    private static SampleFixture instance;

    final StableDiffusionPipeline pipeline;
    final Path covarianceFile;
    final Covariance.InverseFile cInv;
    final String baseModel;
    final int dim;

    private SampleFixture() throws IOException {
        pipeline = StableDiffusionPipeline.load(MODEL, new ReferenceBackend());
        dim = pipeline.textEncoder().config().hiddenSize();
        baseModel = Fingerprints.baseModel(pipeline.textEncoder(), pipeline.unet());
        Path dir = Files.createTempDirectory("perfusion-sample");
        dir.toFile().deleteOnExit();
        covarianceFile = dir.resolve("c_inv.safetensors");
        Perfusion.estimateCovariance(pipeline, Files.readAllLines(CAPTIONS), null, covarianceFile);
        covarianceFile.toFile().deleteOnExit();
        cInv = Covariance.read(covarianceFile);
    }

    static synchronized SampleFixture get() {
        if (instance == null) {
            try {
                instance = new SampleFixture();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return instance;
    }

    /** The text encoding of {@code word} at position 5 of "a photo of a {word}" (BOS + 4 words) [D]. */
    float[] superclassEncoding(String word) {
        try (Tensor text = pipeline.encodePrompts(List.of("a photo of a " + word))) {
            float[] all = text.toFloatArray();
            return Arrays.copyOfRange(all, 5 * dim, 6 * dim);
        }
    }

    /**
     * i* = the encoding of the placeholder (embedded as v*) at position 5 of "a photo of a {placeholder}", so that
     * s = 1 there and the gate opens (σ((1 − 0.7)/0.15) ≈ 0.88); the super-class word's encoding when the
     * placeholder cannot be registered (a vocabulary word, for the error tests).
     */
    private float[] placeholderEncoding(String placeholder, String superclass, float[] embedding) {
        float[] sup = superclassEncoding(superclass);
        List<CrossAttentionLayer> layers = pipeline.unet().crossAttentionLayers();
        int sum = layers.stream().mapToInt(CrossAttentionLayer::width).sum();
        Concept provisional = new Concept(placeholder, superclass, embedding, sup, new float[sum], new float[sum],
                KeyLockedEdit.INFER_BETA, KeyLockedEdit.INFER_TAU, Concept.layersOf(layers), baseModel,
                cInv.fingerprint(), "{}");
        try (AutoCloseable ng = Autograd.noGrad();
             ConceptPrompts cp = ConceptPrompts.register(pipeline, List.of(provisional));
             Tensor text = cp.encode(List.of("a photo of a " + placeholder))) {
            return Arrays.copyOfRange(text.toFloatArray(), 5 * dim, 6 * dim);
        } catch (IllegalArgumentException e) {
            return sup;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A concept for the tiny model: v* = the super-class word's embedding + 0.05·noise, i* the placeholder's encoding,
     * o*_K = W_K·i* and o*_V = W_V·i* + noise·valueNoise per layer, β/τ the inference defaults 0.7/0.15.
     */
    Concept concept(String placeholder, String superclass, long seed, float valueNoise) {
        int id = pipeline.tokenizer().tokenId(superclass + "</w>");
        float[] table = pipeline.textEncoder().tokenEmbedding().weight().value().toFloatArray();
        float[] noise = HostRandom.normal(seed, dim);
        float[] embedding = new float[dim];
        for (int k = 0; k < dim; k++) {
            embedding[k] = table[id * dim + k] + 0.05f * noise[k];
        }
        float[] iStar = placeholderEncoding(placeholder, superclass, embedding);
        List<CrossAttentionLayer> layers = pipeline.unet().crossAttentionLayers();
        int sum = layers.stream().mapToInt(CrossAttentionLayer::width).sum();
        float[] keys = new float[sum];
        float[] values = new float[sum];
        float[] vNoise = HostRandom.normal(seed + 1, sum);
        int off = 0;
        for (CrossAttentionLayer l : layers) {
            float[] wk = l.attention().toK().weight().value().toFloatArray();
            float[] wv = l.attention().toV().weight().value().toFloatArray();
            for (int r = 0; r < l.width(); r++) {
                double k = 0;
                double v = 0;
                for (int c = 0; c < dim; c++) {
                    k += wk[r * dim + c] * iStar[c];
                    v += wv[r * dim + c] * iStar[c];
                }
                keys[off + r] = (float) k;
                values[off + r] = (float) v + valueNoise * vNoise[off + r];
            }
            off += l.width();
        }
        return new Concept(placeholder, superclass, embedding, iStar, keys, values, KeyLockedEdit.INFER_BETA,
                KeyLockedEdit.INFER_TAU, Concept.layersOf(layers), baseModel, cInv.fingerprint(), "{}");
    }

    /** A small fast request: 64×64, 2 steps, guidance 7.5, seed 3. */
    static GenerationRequest.Builder request(String... prompts) {
        return GenerationRequest.builder(prompts).size(64, 64).steps(2).seed(3).sampler("ddim");
    }

    /** What a run leaves to compare: the step-0 UNet output (both CFG halves) and the final latents. */
    record Run(float[] firstUnetOutput, float[] finalLatents, GenerationResult result) {
    }

    /** Captures a generation's first UNet output and last latents. */
    static class Capture implements GenerationListener {
        float[] first;
        float[] last;

        @Override
        public void onStep(StepEvent event) {
            if (event.step() == 0) {
                first = event.unetOutput().toFloatArray();
            }
            last = event.latentsAfter().toFloatArray();
        }
    }

    Run sample(SampleRequest.Builder req) {
        Capture cap = new Capture();
        SampleRequest built = req.build();
        GenerationResult r = Perfusion.sample(pipeline, built.toBuilder()
                .generation(built.generation().withListener(cap)).build());
        return new Run(cap.first, cap.last, r);
    }

    Run plain(GenerationRequest.Builder req) {
        Capture cap = new Capture();
        GenerationResult r = pipeline.generate(req.listener(cap).build());
        return new Run(cap.first, cap.last, r);
    }

    SampleRequest.Builder sampleRequest(GenerationRequest.Builder gen, Concept... concepts) {
        return SampleRequest.builder(gen.build()).concepts(List.of(concepts)).covariance(cInv);
    }
}
