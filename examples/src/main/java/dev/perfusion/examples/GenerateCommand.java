package dev.perfusion.examples;

import dev.perfusion.pipeline.GenerationListener;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.GenerationResult;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import java.awt.image.BufferedImage;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code perfusion generate}: text-to-image and image-to-image with a Stable Diffusion v1.x model. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generates images with a Stable Diffusion v1.x model (a diffusers folder or a single-file "
                + ".safetensors checkpoint) and writes PNGs with the generation parameters in a text chunk."})
public final class GenerateCommand implements Callable<Integer> {
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

    @Option(names = "--out", defaultValue = "perfusion-out", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, nd4j, reference or cuda (default: ${DEFAULT-VALUE})")
    String backendName;

    @Override
    public Integer call() throws Exception {
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
        GenerationRequest request = b.build(); // validate before the (slow) model load
        Files.createDirectories(out);
        try (Backend be = Backends.create(backendName); StableDiffusionPipeline p = StableDiffusionPipeline.load(model, be)) {
            GenerationResult r = p.generate(request);
            for (int i = 0; i < r.images().size(); i++) {
                Path file = out.resolve(String.format(Locale.ROOT, "%d-%02d.png", seed, i));
                r.savePng(i, file);
                System.out.println("wrote " + file);
            }
            System.out.printf(Locale.ROOT, "%d image(s) in %.1f s with %s on %s%n", r.images().size(), r.millis() / 1000.0,
                    r.sampler(), be.name());
        }
        return 0;
    }

    private static BufferedImage resize(BufferedImage img, int w, int h) {
        if (img.getWidth() == w && img.getHeight() == h) {
            return img;
        }
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = out.createGraphics();
        g.setRenderingHint(java.awt.RenderingHints.KEY_INTERPOLATION, java.awt.RenderingHints.VALUE_INTERPOLATION_BICUBIC);
        g.drawImage(img, 0, 0, w, h, null);
        g.dispose();
        return out;
    }

    /** A one-line progress bar with ETA on a terminal; one line per step otherwise. */
    static final class ProgressBar implements GenerationListener {
        private final PrintStream err;
        private final boolean interactive = System.console() != null;
        private long start;

        ProgressBar(PrintStream err) {
            this.err = err;
        }

        @Override
        public void onStep(StepEvent e) {
            long now = System.nanoTime();
            if (e.step() == 0) {
                start = now;
            }
            int done = e.step() + 1;
            double perStep = done > 1 ? (now - start) / 1e9 / (done - 1) : 0;
            int width = 30;
            int filled = done * width / e.totalSteps();
            String bar = "#".repeat(filled) + ".".repeat(width - filled);
            String line = String.format(Locale.ROOT, "[%s] %d/%d  t=%.0f  %.2f s/step  ETA %.0f s", bar, done,
                    e.totalSteps(), e.timestep(), perStep, perStep * (e.totalSteps() - done));
            err.print(interactive ? "\r" + line : line + "\n");
            if (interactive && done == e.totalSteps()) {
                err.println();
            }
        }
    }
}
