package dev.perfusion.toy;

import dev.perfusion.Perfusion;
import dev.perfusion.perfusion.Concept;
import dev.perfusion.perfusion.Covariance;
import dev.perfusion.perfusion.SampleRequest;
import dev.perfusion.pipeline.GenerationListener;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.GenerationResult;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Samples a fixed set of prompts over fixed seeds with Perfusion concepts, for the evaluation and the demo. Several
 * seeds go through the pipeline as one batch: the initial noise of seed s is drawn exactly as a one-seed request
 * with these prompts would draw it ({@code backend.randn([P, C, h, w], s)}), and passed as the batch's initial
 * latents, so with a deterministic sampler (DDIM, η = 0) an image depends on its prompt and seed only, not on the
 * batching (a stochastic sampler's per-step noise is drawn per batch).
 *
 * @param width    image width in pixels (the model's resolution)
 * @param height   image height in pixels
 * @param steps    denoising steps
 * @param guidance classifier-free guidance scale
 * @param sampler  sampler name, or null for the model's
 * @param maxBatch most images per pipeline call (at least one seed's prompts go together)
 */
record ToySampling(int width, int height, int steps, float guidance, String sampler, int maxBatch) {

    ToySampling {
        if (width <= 0 || height <= 0 || steps <= 0 || maxBatch <= 0 || !(guidance >= 0)) {
            throw new IllegalArgumentException("sampling needs positive size, steps and batch and guidance >= 0, got "
                    + width + "x" + height + ", " + steps + " steps, batch " + maxBatch + ", guidance " + guidance);
        }
    }

    /**
     * Generates every prompt for every seed.
     *
     * @param betas    β per placeholder (empty: the concepts' own)
     * @param taus     τ per placeholder (empty: the concepts' own)
     * @param task     the progress task name; progress counts denoising steps × images
     * @return images[seed index][prompt index]
     */
    List<List<BufferedImage>> sample(StableDiffusionPipeline pipe, List<Concept> concepts, Covariance.InverseFile cInv,
                                     List<String> prompts, List<Long> seeds, Map<String, Float> betas,
                                     Map<String, Float> taus, ToyProgressListener listener, String task) {
        int p = prompts.size();
        int perCall = Math.max(1, maxBatch / p);
        int f = pipe.latentFactor();
        int channels = pipe.unet().config().inChannels();
        Shape oneSeed = Shape.of(p, channels, height / f, width / f);
        int totalUnits = seeds.size() * p * steps;
        List<List<BufferedImage>> out = new ArrayList<>();
        for (int first = 0; first < seeds.size(); first += perCall) {
            List<Long> group = seeds.subList(first, Math.min(seeds.size(), first + perCall));
            List<String> batchPrompts = new ArrayList<>();
            float[] noise = new float[group.size() * oneSeed.numelInt()];
            for (int i = 0; i < group.size(); i++) {
                batchPrompts.addAll(prompts);
                try (Tensor t = pipe.backend().randn(oneSeed, group.get(i))) {              // [P, C, h, w]
                    System.arraycopy(t.toFloatArray(), 0, noise, i * oneSeed.numelInt(), oneSeed.numelInt());
                }
            }
            int doneBefore = first * p * steps;
            int images = batchPrompts.size();
            GenerationListener progress = new GenerationListener() {
                @Override
                public void onStep(StepEvent e) {
                    listener.onProgress(task, doneBefore + (e.step() + 1) * images, totalUnits, "");
                }
            };
            try (Tensor x = pipe.backend().fromArray(noise,
                    Shape.of(images, channels, height / f, width / f))) {                       // [G·P, C, h, w]
                GenerationRequest gen = GenerationRequest.builder(batchPrompts).steps(steps).guidanceScale(guidance)
                        .sampler(sampler).size(width, height).seed(group.get(0)).initialLatents(x).listener(progress)
                        .build();
                SampleRequest.Builder b = SampleRequest.builder(gen).concepts(concepts).covariance(cInv);
                betas.forEach(b::beta);
                taus.forEach(b::tau);
                GenerationResult res = Perfusion.sample(pipe, b.build());
                for (int i = 0; i < group.size(); i++) {
                    out.add(List.copyOf(res.images().subList(i * p, (i + 1) * p)));
                }
            }
        }
        return out;
    }
}
