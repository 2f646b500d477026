package dev.perfusion.examples;

import dev.perfusion.pipeline.GenerationRequest;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import picocli.CommandLine.Option;

/** The options every image-making command shares (picocli mixin): model, prompts, sampler, size, seed, img2img. */
public final class GenerationOptions {
    @Option(names = "--model", required = true, description = "diffusers folder or single-file .safetensors")
    Path model;

    @Option(names = {"-p", "--prompt"}, required = true, description = "prompt; repeat for a batch of prompts")
    List<String> prompts;

    @Option(names = {"-n", "--negative"}, description = "negative prompt; none, or one per prompt")
    List<String> negatives = List.of();

    @Option(names = "--steps", defaultValue = "30", description = "denoising steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = {"-g", "--guidance"}, defaultValue = "7.5", description = "classifier-free guidance scale (default: ${DEFAULT-VALUE})")
    float guidance;

    @Option(names = "--sampler", description = "ddim, ddpm, pndm, euler, euler_a, dpmpp_2m, dpmpp_2m_karras (default: the model's)")
    String sampler;

    @Option(names = "--width", defaultValue = "512", description = "width in pixels, a multiple of 8 (default: ${DEFAULT-VALUE})")
    int width;

    @Option(names = "--height", defaultValue = "512", description = "height in pixels, a multiple of 8 (default: ${DEFAULT-VALUE})")
    int height;

    @Option(names = "--seed", defaultValue = "0", description = "seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--images-per-prompt", defaultValue = "1", description = "images per prompt (default: ${DEFAULT-VALUE})")
    int imagesPerPrompt;

    @Option(names = "--init-image", description = "img2img: start from this image (resized to --width × --height)")
    Path initImage;

    @Option(names = "--strength", defaultValue = "0.8", description = "img2img: fraction of the schedule to run (default: ${DEFAULT-VALUE})")
    float strength;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, nd4j, reference or cuda (default: ${DEFAULT-VALUE})")
    String backendName;

    /** The request these options describe, with a progress bar on stderr; validated. */
    GenerationRequest request() throws IOException {
        GenerationRequest.Builder b = GenerationRequest.builder(prompts).negativePrompts(negatives).steps(steps)
                .guidanceScale(guidance).sampler(sampler).size(width, height).seed(seed).imagesPerPrompt(imagesPerPrompt)
                .listener(new ProgressBar(System.err));
        if (initImage != null) {
            BufferedImage img = ImageIO.read(initImage.toFile());
            if (img == null) {
                throw new IllegalArgumentException(initImage + " is not an image this Java runtime can read");
            }
            b.initImage(resize(img, width, height), strength);
        }
        return b.build();
    }

    private static BufferedImage resize(BufferedImage img, int w, int h) {
        if (img.getWidth() == w && img.getHeight() == h) {
            return img;
        }
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
        g.drawImage(img, 0, 0, w, h, null);
        g.dispose();
        return out;
    }
}
