package dev.perfusion.pipeline;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The images of one generation and the settings that made them.
 *
 * @param images  one per prompt × imagesPerPrompt, in prompt order
 * @param request the request
 * @param sampler the sampler that ran (the model's default when the request named none)
 * @param model   a label of the model (its folder name)
 * @param millis  wall time of the generation
 */
public record GenerationResult(List<BufferedImage> images, GenerationRequest request, String sampler, String model,
                               long millis) {

    /**
     * The generation parameters of image {@code index} as one text block (the layout popular SD front ends write into
     * a PNG's {@code parameters} chunk): prompt, negative prompt, then "Steps: …, Sampler: …, CFG scale: …, Seed: …,
     * Size: …, Model: …".
     */
    public String parameters(int index) {
        int p = index / request.imagesPerPrompt();
        String negative = request.negativePrompts().isEmpty() ? "" : request.negativePrompts().get(p);
        StringBuilder sb = new StringBuilder(request.prompts().get(p));
        if (!negative.isEmpty()) {
            sb.append("\nNegative prompt: ").append(negative);
        }
        sb.append(String.format(Locale.ROOT, "\nSteps: %d, Sampler: %s, CFG scale: %s, Seed: %d, Batch index: %d, Size: %dx%d, Model: %s",
                request.steps(), sampler, request.guidanceScale(), request.seed(), index, request.width(), request.height(), model));
        if (request.initImage() != null) {
            sb.append(String.format(Locale.ROOT, ", Denoising strength: %s", request.strength()));
        }
        return sb.toString();
    }

    /** Writes image {@code index} as a PNG with its {@link #parameters} in a {@code parameters} text chunk (atomic). */
    public void savePng(int index, Path file) throws IOException {
        Images.writePng(images.get(index), Map.of("parameters", parameters(index), "Software", "perfusion-java"), file);
    }
}
