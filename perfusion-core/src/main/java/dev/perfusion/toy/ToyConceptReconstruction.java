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
 * <p>Beside it, two stand-ins that have lost what makes the concept itself, passed through the same reconstruction
 * and scored the same way: the concept's outline in one of its two colours (the layout is lost) and the superclass
 * shape in one of them (layout and outline lost; the colour of the two that scores higher, per position). These
 * are what a model that draws "a blue circle" for {@code <ring>} would score. When the reconstruction does not score
 * clearly above both, the fidelity measure cannot reward a model for learning the concept on this VAE, whatever
 * Perfusion's training does.
 */
public final class ToyConceptReconstruction {
    private ToyConceptReconstruction() {
    }

    /**
     * Mean {@link ToyFidelity#similarity} over the three positions, for one concept on one background.
     *
     * @param concept       the concept
     * @param background    the background
     * @param reconstructed the concept after the reconstruction
     * @param plainOutline  the concept's outline in colour A or B (the better), after the reconstruction
     * @param plainShape    the superclass shape in colour A or B (the better), after the reconstruction
     */
    public record Row(NovelConcept concept, ToyWorld.Background background, double reconstructed, double plainOutline,
                      double plainShape) {
        /** How far the reconstruction scores above the better stand-in. */
        public double margin() {
            return reconstructed - Math.max(plainOutline, plainShape);
        }
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
        // per concept, background and position: the concept, then its outline and its superclass in A and in B
        List<Scene> scenes = new ArrayList<>();
        for (NovelConcept c : NovelConcept.values()) {
            ToyWorld.Outline superOutline = c.superclass().outline();
            for (ToyWorld.Background bg : ToyWorld.Background.values()) {
                for (ToyWorld.Position pos : positions) {
                    scenes.add(Scene.of(bg, SceneObject.concept(c, ToyWorld.Size.LARGE, pos)));
                    scenes.add(Scene.of(bg, plain(c.outline(), c.rgbA(), pos)));
                    scenes.add(Scene.of(bg, plain(c.outline(), c.rgbB(), pos)));
                    scenes.add(Scene.of(bg, plain(superOutline, c.rgbA(), pos)));
                    scenes.add(Scene.of(bg, plain(superOutline, c.rgbB(), pos)));
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
            for (ToyWorld.Background bg : ToyWorld.Background.values()) {
                double reconstructed = 0;
                double plainOutline = 0;
                double plainShape = 0;
                for (ToyWorld.Position pos : positions) {
                    double[] s = new double[5];
                    for (int j = 0; j < s.length; j++) {
                        s[j] = ToyFidelity.similarity(images.get(i++), c, ToyWorld.Size.LARGE, pos);
                    }
                    reconstructed += s[0];
                    plainOutline += Math.max(s[1], s[2]);
                    plainShape += Math.max(s[3], s[4]);
                }
                int n = positions.length;
                rows.add(new Row(c, bg, reconstructed / n, plainOutline / n, plainShape / n));
            }
        }
        return rows;
    }

    /** A markdown table of the rows. */
    public static String markdown(List<Row> rows) {
        StringBuilder sb = new StringBuilder("| concept | background | after the VAE | outline in one colour, after the"
                + " VAE | superclass in one colour, after the VAE | margin |\n|---|---|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.4f | %.4f | %.4f | %+.4f |%n",
                    r.concept().placeholder(), r.background().name().toLowerCase(Locale.ROOT), r.reconstructed(),
                    r.plainOutline(), r.plainShape(), r.margin()));
        }
        return sb.toString();
    }

    /** A large plain object of {@code outline} in colour {@code rgb} at {@code pos}. */
    private static SceneObject plain(ToyWorld.Outline outline, int rgb, ToyWorld.Position pos) {
        return new SceneObject(SceneObject.Kind.THING, null, null,
                new SceneObject.Thing(outline, ToyWorld.Pattern.PLAIN, rgb, rgb), null, ToyWorld.Size.LARGE, pos, 0, 0);
    }
}
