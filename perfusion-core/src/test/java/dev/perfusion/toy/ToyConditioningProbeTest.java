package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class ToyConditioningProbeTest {

    @Test
    void eachSwapChangesExactlyItsOwnWords() {
        List<Scene> scenes = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            scenes.add(ToyDataset.namedScene(i, 1));
        }
        List<String> truth = ToyConditioningProbe.captions(scenes, null);
        for (ToyConditioningProbe.Attribute a : ToyConditioningProbe.Attribute.values()) {
            List<String> swapped = ToyConditioningProbe.captions(scenes, a);
            for (int i = 0; i < scenes.size(); i++) {
                SceneObject o = scenes.get(i).objects().get(0);
                String t = truth.get(i);
                String s = swapped.get(i);
                assertNotEquals(t, s, a + " swap left the caption unchanged: " + t);
                String[] words = switch (a) {
                    case COLOUR -> new String[] {o.color().word()};
                    case SHAPE -> new String[] {o.shape().word()};
                    case SIZE -> new String[] {o.size().word()};
                    case POSITION -> o.position().phrase().split(" ");
                };
                // removing the attribute's own words from both leaves captions that differ only where they stood
                List<String> tw = new ArrayList<>(Arrays.asList(t.split(" ")));
                List<String> sw = new ArrayList<>(Arrays.asList(s.split(" ")));
                assertEquals(tw.size(), sw.size(), t + " vs " + s);
                int differing = 0;
                for (int w = 0; w < tw.size(); w++) {
                    if (!tw.get(w).equals(sw.get(w))) {
                        differing++;
                        String word = tw.get(w).replace(",", "");
                        assertTrue(Arrays.asList(words).contains(word), a + " swap changed '" + tw.get(w) + "' in " + t
                                + " -> " + s);
                    }
                }
                assertTrue(differing >= 1 && differing <= words.length, t + " -> " + s);
            }
        }
    }

    @Test
    void theShippedModelReadsColourWords() throws Exception {
        try (Backend be = Backends.create("nd4j");
             StableDiffusionPipeline p = StableDiffusionPipeline.load(Path.of("../models/toy-world"), be)) {
            List<ToyConditioningProbe.Sensitivity> r = ToyConditioningProbe.measure(p, 16, new int[] {300, 700}, 1);
            assertEquals(ToyConditioningProbe.Attribute.values().length * 2, r.size());
            for (ToyConditioningProbe.Sensitivity s : r) {
                assertTrue(Double.isFinite(s.trueLoss()) && s.trueLoss() > 0, s.toString());
                assertTrue(Double.isFinite(s.swappedLoss()) && s.swappedLoss() > 0, s.toString());
                // the true-caption loss is one number per timestep, whichever attribute is swapped
                assertEquals(r.get(s.timestep() == 300 ? 0 : 1).trueLoss(), s.trueLoss(), 0.0, s.toString());
            }
            // the shipped model draws the prompted colour far more often than chance (gate: 98 %), so a wrong
            // colour word must cost it: toy-gate measured +1155 % at t = 300 (64 scenes) on the shipped v6
            ToyConditioningProbe.Sensitivity colour = r.get(0);
            assertEquals(ToyConditioningProbe.Attribute.COLOUR, colour.attribute());
            assertTrue(colour.relativeChange() > 0.10, "colour swap at t=300: " + colour);
            String table = ToyConditioningProbe.table(r);
            assertTrue(table.startsWith("| swapped word | t = 300 | t = 700 |"), table);
            assertEquals(2 + 4, table.strip().split("\n").length, table);
        }
    }

    @Test
    void rejectsEmptyOrOutOfScheduleRequests() throws Exception {
        try (Backend be = Backends.create("nd4j");
             StableDiffusionPipeline p = StableDiffusionPipeline.load(ToyBaseTrainerTest.tinyModel(), be)) {
            assertThrows(IllegalArgumentException.class, () -> ToyConditioningProbe.measure(p, 0, new int[] {10}, 0));
            assertThrows(IllegalArgumentException.class, () -> ToyConditioningProbe.measure(p, 2, new int[] {}, 0));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ToyConditioningProbe.measure(p, 2, new int[] {1000}, 0));
            assertTrue(e.getMessage().contains("[0, 1000)"), e.getMessage());
        }
    }
}
