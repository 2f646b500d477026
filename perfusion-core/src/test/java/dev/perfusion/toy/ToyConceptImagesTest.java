package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Concept training sets: images are the dataset's renders, masks the exact coverage, folders atomic. */
@Tag("unit")
class ToyConceptImagesTest {
    @TempDir
    Path dir;

    @Test
    void writesRendersAndExactMasks() throws Exception {
        for (NovelConcept c : NovelConcept.values()) {
            Path images = dir.resolve(c.name() + "-images");
            Path masks = dir.resolve(c.name() + "-masks");
            List<Path> files = ToyConceptImages.write(c, 5, 42, images, masks);
            assertEquals(5, files.size());
            List<Scene> scenes = ToyDataset.conceptScenes(c, 5, 42);
            for (int i = 0; i < 5; i++) {
                Path f = files.get(i);
                assertTrue(Files.isRegularFile(f), f.toString());
                assertEquals(f.getFileName(), images.resolve(f.getFileName()).getFileName());
                BufferedImage img = ImageIO.read(f.toFile());
                assertEquals(32, img.getWidth());
                assertEquals(32, img.getHeight());
                assertArrayEquals(ToyRenderer.render(scenes.get(i)), ToyRenderer.pixels(img), "image " + f);
                BufferedImage mask = ImageIO.read(masks.resolve(f.getFileName()).toFile());
                double[] cov = ToyConceptImages.coverage(scenes.get(i));
                int full = 0;
                int partial = 0;
                double sum = 0;
                for (int p = 0; p < 32 * 32; p++) {
                    int v = mask.getRaster().getSample(p % 32, p / 32, 0);
                    assertEquals(Math.round(255 * cov[p]), v, "mask pixel " + p + " of " + f);
                    full += v == 255 ? 1 : 0;
                    partial += v > 0 && v < 255 ? 1 : 0;
                    sum += cov[p];
                }
                assertTrue(full > 50 && partial > 10, "a large concept is mostly covered with a soft rim: " + full
                        + " full, " + partial + " partial");
                // the coverage integrates to the outline's exact area within sub-sampling error
                double r = ToyWorld.Size.LARGE.radius();
                double area = switch (c.outline()) {
                    case RING -> Math.PI * r * r * (1 - 0.55 * 0.55);
                    case DIAMOND -> 2 * r * r;
                    default -> throw new AssertionError("no area formula for " + c.outline());
                };
                assertEquals(area, sum, 0.05 * area, c + " coverage area");
                // the corners are background
                assertEquals(0, mask.getRaster().getSample(0, 0, 0));
                assertEquals(0, mask.getRaster().getSample(31, 31, 0));
            }
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().contains(".partial-")), "no temporary leftovers");
        }
    }

    @Test
    void masksAreOptionalAndEmptyFoldersAreAccepted() throws Exception {
        Path images = Files.createDirectories(dir.resolve("empty"));
        List<Path> files = ToyConceptImages.write(NovelConcept.RING, 2, 0, images, null);
        assertEquals(List.of("ring-00.png", "ring-01.png"), files.stream().map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void refusesNonEmptyFoldersAndBadInput() throws Exception {
        Path images = Files.createDirectories(dir.resolve("busy"));
        Files.writeString(images.resolve("other.txt"), "x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ToyConceptImages.write(NovelConcept.RING, 2, 0, images, dir.resolve("m")));
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("m")), "nothing written when refused");
        assertThrows(IllegalArgumentException.class,
                () -> ToyConceptImages.write(NovelConcept.RING, 2, 0, dir.resolve("a"), dir.resolve("a")));
        assertThrows(IllegalArgumentException.class,
                () -> ToyConceptImages.write(NovelConcept.RING, 0, 0, dir.resolve("b"), null));
    }
}
