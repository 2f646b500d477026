package dev.perfusion.pipeline;

import dev.perfusion.schedulers.Schedulers;
import dev.perfusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What to generate: prompts, guidance, sampler, size, seed, and optionally an init image (img2img) or fixed initial
 * latents. Made with {@link #builder(String...)}; every value is checked when {@link Builder#build()} runs.
 *
 * @param prompts            one image per prompt (times {@code imagesPerPrompt})
 * @param negativePrompts    empty, or one per prompt (the unconditional branch of classifier-free guidance)
 * @param imagesPerPrompt    images generated for each prompt
 * @param steps              denoising steps (≥ 1)
 * @param guidanceScale      classifier-free guidance g ≥ 0: ε = ε_uncond + g·(ε_text − ε_uncond); g ≤ 1 runs the
 *                           text branch alone (one UNet batch), as diffusers does
 * @param sampler            a {@link Schedulers#NAMES} entry, or null for the model's own scheduler
 * @param width              image width in pixels, a multiple of the VAE's downsample factor (8 for SD v1.x;
 *                           the pipeline checks it, as only the loaded model knows its factor)
 * @param height             image height in pixels, likewise
 * @param seed               seeds the initial noise (host RNG: the same on every backend) and any sampler noise
 * @param initImage          img2img source image (resized by the caller to width × height), or null
 * @param strength           img2img: how much of the schedule to run, in (0, 1]; 1 ignores the image's content
 * @param initialLatents     fixed x_T [B, 4, h, w] before scaling by the sampler's initial σ (diffusers' {@code latents}), or null
 * @param listener           progress, previews and cancellation; never null
 * @param promptEncoder      encodes prompts instead of the pipeline's CLIP encoding, or null
 * @param hook               runs around the denoising loop with the whole UNet batch's conditioning, or null
 */
public record GenerationRequest(List<String> prompts, List<String> negativePrompts, int imagesPerPrompt, int steps,
                                float guidanceScale, String sampler, int width, int height, long seed,
                                BufferedImage initImage, float strength, Tensor initialLatents,
                                GenerationListener listener, PromptEncoder promptEncoder, GenerationHook hook) {

    /** This request with another prompt encoder and hook (either may be null). */
    public GenerationRequest withConditioning(PromptEncoder encoder, GenerationHook generationHook) {
        return new GenerationRequest(prompts, negativePrompts, imagesPerPrompt, steps, guidanceScale, sampler, width,
                height, seed, initImage, strength, initialLatents, listener, encoder, generationHook);
    }

    /** This request with another listener. */
    public GenerationRequest withListener(GenerationListener l) {
        return new GenerationRequest(prompts, negativePrompts, imagesPerPrompt, steps, guidanceScale, sampler, width,
                height, seed, initImage, strength, initialLatents, Objects.requireNonNull(l, "listener"), promptEncoder,
                hook);
    }

    /** This request with another seed. */
    public GenerationRequest withSeed(long newSeed) {
        return new GenerationRequest(prompts, negativePrompts, imagesPerPrompt, steps, guidanceScale, sampler, width,
                height, newSeed, initImage, strength, initialLatents, listener, promptEncoder, hook);
    }

    /** A builder for {@code prompts} with SD v1.5's defaults: 50 steps, guidance 7.5, 512×512, seed 0. */
    public static Builder builder(String... prompts) {
        return new Builder(List.of(prompts));
    }

    /** A builder for {@code prompts}. */
    public static Builder builder(List<String> prompts) {
        return new Builder(prompts);
    }

    /** Total images: prompts × imagesPerPrompt. */
    public int batchSize() {
        return prompts.size() * imagesPerPrompt;
    }

    /** True when the unconditional branch runs (guidance &gt; 1). */
    public boolean doClassifierFreeGuidance() {
        return guidanceScale > 1f;
    }

    /** Builder with validation in {@link #build()}. */
    public static final class Builder {
        private final List<String> prompts;
        private List<String> negativePrompts = List.of();
        private int imagesPerPrompt = 1;
        private int steps = 50;
        private float guidanceScale = 7.5f;
        private String sampler;
        private int width = 512;
        private int height = 512;
        private long seed;
        private BufferedImage initImage;
        private float strength = 0.8f;
        private Tensor initialLatents;
        private GenerationListener listener = GenerationListener.NONE;
        private PromptEncoder promptEncoder;
        private GenerationHook hook;

        private Builder(List<String> prompts) {
            this.prompts = new ArrayList<>(prompts);
        }

        public Builder negativePrompts(String... negative) {
            this.negativePrompts = List.of(negative);
            return this;
        }

        public Builder negativePrompts(List<String> negative) {
            this.negativePrompts = List.copyOf(negative);
            return this;
        }

        public Builder imagesPerPrompt(int n) {
            this.imagesPerPrompt = n;
            return this;
        }

        public Builder steps(int steps) {
            this.steps = steps;
            return this;
        }

        public Builder guidanceScale(float g) {
            this.guidanceScale = g;
            return this;
        }

        public Builder sampler(String name) {
            this.sampler = name;
            return this;
        }

        public Builder size(int width, int height) {
            this.width = width;
            this.height = height;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** img2img: start from this image, running the last {@code strength} fraction of the schedule. */
        public Builder initImage(BufferedImage image, float strength) {
            this.initImage = image;
            this.strength = strength;
            return this;
        }

        public Builder initialLatents(Tensor latents) {
            this.initialLatents = latents;
            return this;
        }

        public Builder listener(GenerationListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Encodes prompts with {@code encoder} instead of the pipeline's CLIP encoding (null: the pipeline's). */
        public Builder promptEncoder(PromptEncoder encoder) {
            this.promptEncoder = encoder;
            return this;
        }

        /** Runs {@code hook} around the denoising loop (null: none). */
        public Builder hook(GenerationHook hook) {
            this.hook = hook;
            return this;
        }

        /**
         * @throws IllegalArgumentException naming the first bad value
         */
        public GenerationRequest build() {
            if (prompts.isEmpty()) {
                throw new IllegalArgumentException("no prompt given");
            }
            for (int i = 0; i < prompts.size(); i++) {
                if (prompts.get(i) == null) {
                    throw new IllegalArgumentException("prompt " + i + " is null");
                }
            }
            if (!negativePrompts.isEmpty() && negativePrompts.size() != prompts.size()) {
                throw new IllegalArgumentException(negativePrompts.size() + " negative prompts for " + prompts.size()
                        + " prompts: give none or one per prompt");
            }
            if (imagesPerPrompt < 1) {
                throw new IllegalArgumentException("imagesPerPrompt must be ≥ 1, got " + imagesPerPrompt);
            }
            if (steps < 1) {
                throw new IllegalArgumentException("steps must be ≥ 1, got " + steps);
            }
            if (!(guidanceScale >= 0) || Float.isInfinite(guidanceScale)) {
                throw new IllegalArgumentException("guidance scale must be a finite number ≥ 0, got " + guidanceScale);
            }
            if (sampler != null && !Schedulers.NAMES.contains(sampler)) {
                throw new IllegalArgumentException("unknown sampler '" + sampler + "'; known: " + String.join(", ", Schedulers.NAMES));
            }
            if (width < 1 || height < 1) {
                throw new IllegalArgumentException("image size must be positive, got " + width + "×" + height);
            }
            if (initImage != null) {
                if (initImage.getWidth() != width || initImage.getHeight() != height) {
                    throw new IllegalArgumentException("init image is " + initImage.getWidth() + "×" + initImage.getHeight()
                            + " but the requested size is " + width + "×" + height + "; resize it first");
                }
                if (!(strength > 0f && strength <= 1f)) {
                    throw new IllegalArgumentException("img2img strength must be in (0, 1], got " + strength);
                }
            }
            if (initImage != null && initialLatents != null) {
                throw new IllegalArgumentException("give an init image or initial latents, not both");
            }
            return new GenerationRequest(List.copyOf(prompts), negativePrompts, imagesPerPrompt, steps, guidanceScale,
                    sampler, width, height, seed, initImage, strength, initialLatents, listener, promptEncoder, hook);
        }
    }
}
