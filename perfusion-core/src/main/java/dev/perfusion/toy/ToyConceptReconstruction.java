package dev.perfusion.toy;

import dev.perfusion.vae.AutoencoderKL;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * How much of each novel concept a toy model's VAE carries, in the units of {@link ToyFidelity}: the concept rendered
 * large at each position, encoded to its latent mean and decoded with no denoiser, scored against its own render.
 * Perfusion's samples come out of the same decoder, so this is what a concept learned perfectly in latent space
 * would score (as {@link ToyQualityGate#reconstructionCeiling} is for the quality gate).
 *
 * <p>Beside it, two stand-ins that have lost what makes the concept itself, scored the same way: the concept's
 * outline filled with the mean of its two colours (the pattern is lost) and the superclass shape filled with that
 * mean colour (pattern and outline lost). Fidelity is a mean absolute difference, so a flat mean colour is a strong
 * guess for a fine pattern: when the reconstruction does not score above the flat outline, the fidelity measure
 * cannot reward a model for learning the pattern on this VAE, whatever Perfusion's training does.
 */
public final class ToyConceptReconstruction {
    private ToyConceptReconstruction() {
    }

    /**
     * Mean {@link ToyFidelity#similarity} over the three positions, for one concept on one background.
     *
     * @param concept       the concept
     * @param background    the background
     * @param reconstructed the concept after the VAE's encode → decode
     * @param flatOutline   the concept's outline in the mean of its colours
     * @param flatShape     the superclass shape in the mean of its colours
     */
    public record Row(NovelConcept concept, ToyWorld.Background background, double reconstructed, double flatOutline,
                      double flatShape) {
    }

    /** The concepts through {@code vae}'s encode → decode (the latent mean, no sampling). */
    public static List<Row> measure(AutoencoderKL vae) {
        return measure(scenes -> ToyQualityGate.reconstruct(vae, scenes));
    }

    /**
     * The concepts through any reconstruction of rendered scenes (the identity scores 1 everywhere).
     *
     * @param reconstruct maps scenes to one 32 × 32 image each, in order
     */
    public static List<Row> measure(Function<List<Scene>, List<BufferedImage>> reconstruct) {
        ToyWorld.Position[] positions = ToyWorld.Position.values();
        List<Scene> scenes = new ArrayList<>();
        for (NovelConcept c : NovelConcept.values()) {
            for (ToyWorld.Background bg : ToyWorld.Background.values()) {
                for (ToyWorld.Position pos : positions) {
                    scenes.add(Scene.of(bg, SceneObject.concept(c, ToyWorld.Size.LARGE, pos)));
                }
            }
        }
        List<BufferedImage> images = reconstruct.apply(scenes);
        if (images.size() != scenes.size()) {
            throw new IllegalStateException("reconstruction returned " + images.size() + " images for "
                    + scenes.size() + " scenes");
        }
        List<Row> rows = new ArrayList<>();
        int i = 0;
        for (NovelConcept c : NovelConcept.values()) {
            int mean = meanColour(c.rgbA(), c.rgbB());
            ToyWorld.Outline superOutline = ToyWorld.Outline.valueOf(c.superclass().name());
            for (ToyWorld.Background bg : ToyWorld.Background.values()) {
                double reconstructed = 0;
                double flatOutline = 0;
                double flatShape = 0;
                for (ToyWorld.Position pos : positions) {
                    reconstructed += ToyFidelity.similarity(images.get(i++), c, ToyWorld.Size.LARGE, pos);
                    flatOutline += ToyFidelity.similarity(ToyRenderer.render(Scene.of(bg, flat(c.outline(), mean, pos))),
                            c, ToyWorld.Size.LARGE, pos);
                    flatShape += ToyFidelity.similarity(ToyRenderer.render(Scene.of(bg, flat(superOutline, mean, pos))),
                            c, ToyWorld.Size.LARGE, pos);
                }
                int n = positions.length;
                rows.add(new Row(c, bg, reconstructed / n, flatOutline / n, flatShape / n));
            }
        }
        return rows;
    }

    /** A markdown table of the rows. */
    public static String markdown(List<Row> rows) {
        StringBuilder sb = new StringBuilder("| concept | background | after the VAE | outline, mean colour"
                + " (no pattern) | superclass, mean colour |\n|---|---|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.4f | %.4f | %.4f |%n", r.concept().placeholder(),
                    r.background().name().toLowerCase(Locale.ROOT), r.reconstructed(), r.flatOutline(), r.flatShape()));
        }
        return sb.toString();
    }

    /** A large plain object of {@code outline} in colour {@code rgb} at {@code pos}. */
    private static SceneObject flat(ToyWorld.Outline outline, int rgb, ToyWorld.Position pos) {
        return new SceneObject(SceneObject.Kind.THING, null, null,
                new SceneObject.Thing(outline, ToyWorld.Pattern.PLAIN, rgb, rgb), null, ToyWorld.Size.LARGE, pos, 0, 0);
    }

    /** The per-channel mean of two 0xRRGGBB colours. */
    static int meanColour(int a, int b) {
        int r = (((a >> 16) & 0xFF) + ((b >> 16) & 0xFF)) / 2;
        int g = (((a >> 8) & 0xFF) + ((b >> 8) & 0xFF)) / 2;
        int bl = ((a & 0xFF) + (b & 0xFF)) / 2;
        return (r << 16) | (g << 8) | bl;
    }
}
