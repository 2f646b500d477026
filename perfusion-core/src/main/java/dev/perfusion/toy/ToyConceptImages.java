package dev.perfusion.toy;

import dev.perfusion.pipeline.Images;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a novel concept's training set (issue 7): the {@link ToyDataset#conceptScenes} renders as 32 × 32 PNGs and,
 * named like them, exact soft masks for Perfusion's masked loss (TrainConfig masks: white = concept).
 *
 * <p>Mask value of a pixel = round(255 · k / 16), k the number of its 4 × 4 sub-samples (the renderer's own
 * supersampling, {@link ToyRenderer#SUPERSAMPLE}) whose visible object is the concept: so the mask is the concept's
 * exact anti-aliased coverage, the α with which the renderer blended it over the background.
 */
public final class ToyConceptImages {
    private ToyConceptImages() {
    }

    /**
     * Renders {@code count} training scenes of {@code concept} into {@code imagesDir} ({@code ring-00.png}, …) and
     * their masks into {@code masksDir} (same names). Each folder appears complete or not at all (written in a
     * temporary folder beside it, then moved into place).
     *
     * @param masksDir the masks' folder, or null for none
     * @return the image files, in name order
     * @throws IllegalArgumentException when a folder exists and is not an empty folder, when both folders are one,
     *                                  or when {@code count} is not positive
     */
    public static List<Path> write(NovelConcept concept, int count, long seed, Path imagesDir, Path masksDir)
            throws IOException {
        if (count <= 0) {
            throw new IllegalArgumentException("concept image count must be > 0, got " + count);
        }
        if (masksDir != null && imagesDir.toAbsolutePath().normalize().equals(masksDir.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("images and masks need two folders (masks are named like the images),"
                    + " got " + imagesDir + " for both");
        }
        requireEmpty(imagesDir, "images");
        if (masksDir != null) {
            requireEmpty(masksDir, "masks");
        }
        List<Scene> scenes = ToyDataset.conceptScenes(concept, count, seed);
        String stem = concept.name().toLowerCase(Locale.ROOT);
        int digits = Math.max(2, Integer.toString(count - 1).length());
        List<String> names = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            names.add(String.format(Locale.ROOT, "%s-%0" + digits + "d.png", stem, i));
        }
        Path imgTmp = tempBeside(imagesDir);
        Path maskTmp = null;
        try {
            for (int i = 0; i < count; i++) {
                Scene s = scenes.get(i);
                Map<String, String> text = Map.of("parameters", s.caption(), "Software", "perfusion-java toy world");
                Images.writePng(ToyRenderer.toImage(ToyRenderer.render(s)), text, imgTmp.resolve(names.get(i)));
            }
            if (masksDir != null) {
                maskTmp = tempBeside(masksDir);
                for (int i = 0; i < count; i++) {
                    Images.writePng(maskImage(coverage(scenes.get(i))),
                            Map.of("Software", "perfusion-java toy world"), maskTmp.resolve(names.get(i)));
                }
            }
            moveInto(imgTmp, imagesDir);
            imgTmp = null;
            if (maskTmp != null) {
                moveInto(maskTmp, masksDir);
                maskTmp = null;
            }
        } finally {
            deleteTree(imgTmp);
            deleteTree(maskTmp);
        }
        List<Path> out = new ArrayList<>();
        for (String n : names) {
            out.add(imagesDir.resolve(n));
        }
        return out;
    }

    /**
     * Per pixel (row-major, 32 × 32), the fraction of its 4 × 4 sub-samples whose visible object (the last one in
     * caption order covering it, as the renderer draws) is a novel concept: 0, 1/16, …, 1.
     */
    public static double[] coverage(Scene scene) {
        int n = ToyWorld.SIZE;
        int ss = ToyRenderer.SUPERSAMPLE;
        double[] out = new double[n * n];
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                int k = 0;
                for (int sy = 0; sy < ss; sy++) {
                    for (int sx = 0; sx < ss; sx++) {
                        double px = x + (sx + 0.5) / ss;
                        double py = y + (sy + 0.5) / ss;
                        SceneObject top = null;
                        for (SceneObject o : scene.objects()) {
                            if (o.outline().contains(px - o.centerX(), py - o.centerY(), o.size().radius())) {
                                top = o;
                            }
                        }
                        if (top != null && top.kind() == SceneObject.Kind.CONCEPT) {
                            k++;
                        }
                    }
                }
                out[y * n + x] = k / (double) (ss * ss);
            }
        }
        return out;
    }

    /** A coverage map as an 8-bit grey image (255 = fully covered). */
    static BufferedImage maskImage(double[] coverage) {
        int n = (int) Math.round(Math.sqrt(coverage.length));
        BufferedImage img = new BufferedImage(n, n, BufferedImage.TYPE_BYTE_GRAY);
        for (int i = 0; i < coverage.length; i++) {
            int v = (int) Math.round(255 * coverage[i]);
            img.getRaster().setSample(i % n, i / n, 0, v);
        }
        return img;
    }

    private static void requireEmpty(Path dir, String what) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(what + " folder " + dir + " exists and is not a folder");
        }
        try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isPresent()) {
                throw new IllegalArgumentException(what + " folder " + dir + " exists and is not empty; choose a new"
                        + " folder (concept images are never mixed with other files)");
            }
        }
    }

    private static Path tempBeside(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().normalize().getParent();
        Files.createDirectories(parent);
        return Files.createTempDirectory(parent, "." + dir.getFileName() + ".partial-");
    }

    private static void moveInto(Path tmp, Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            Files.delete(dir); // checked empty above
        }
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // best effort: the leftover carries ".partial-" in its name
        }
    }
}
