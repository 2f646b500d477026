package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The trainer's settings: the shipped defaults, validation messages and the copy helpers. */
@Tag("unit")
class ToyTrainSettingsTest {
    private static final ToyTrainSettings D = ToyTrainSettings.defaults();

    @Test
    void defaultsAreAValidFullTrainingRun() {
        // the exact numbers are the lead's to tune; what the tests and the gate rely on:
        assertTrue(D.vaeSteps() >= 100 && D.unetSteps() >= 100, D.toString());
        assertTrue(D.warmupSteps() < D.vaeSteps() && D.warmupSteps() < D.unetSteps(), D.toString());
        assertTrue(D.latentScenes() >= 1024 && D.latentScenes() < ToyDataset.GATE_SEED_BASE, D.toString());
        assertTrue(D.captionDropout() > 0, "classifier-free guidance needs caption dropout: " + D);
        assertTrue(D.emaDecay() > 0.9, D.toString());
        assertEquals(D, ToyTrainSettings.defaults());
    }

    @Test
    void withStepsChangesOnlyTheStepsAndCapsTheWarmUp() {
        ToyTrainSettings s = D.withSteps(2, 3);
        assertEquals(2, s.vaeSteps());
        assertEquals(3, s.unetSteps());
        assertEquals(Math.min(D.warmupSteps(), 3), s.warmupSteps(), "warm-up capped at the longer stage");
        assertEquals(new ToyTrainSettings(2, D.vaeBatch(), D.vaeLr(), D.klWeight(), 3, D.unetBatch(), D.unetLr(),
                D.weightDecay(), Math.min(D.warmupSteps(), 3), D.latentScenes(), D.captionDropout(), D.emaDecay(),
                D.seed()), s);
        ToyTrainSettings longer = D.withSteps(D.warmupSteps() * 2, D.warmupSteps() * 40);
        assertEquals(D.warmupSteps(), longer.warmupSteps(), "a warm-up shorter than the stages is kept");
        assertEquals(D.warmupSteps() * 2, longer.vaeSteps());
        assertEquals(D.warmupSteps() * 40, longer.unetSteps());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> D.withSteps(0, 1));
        assertTrue(e.getMessage().contains("vaeSteps"), e.getMessage());
    }

    @Test
    void withLatentScenesChangesOnlyTheSceneCount() {
        ToyTrainSettings t = D.withSteps(2, 2);
        ToyTrainSettings s = t.withLatentScenes(64);
        assertEquals(64, s.latentScenes());
        assertEquals(new ToyTrainSettings(t.vaeSteps(), t.vaeBatch(), t.vaeLr(), t.klWeight(), t.unetSteps(),
                t.unetBatch(), t.unetLr(), t.weightDecay(), t.warmupSteps(), 64, t.captionDropout(), t.emaDecay(),
                t.seed()), s);
        assertThrows(IllegalArgumentException.class, () -> D.withLatentScenes(0));
    }

    @Test
    void withSeedChangesOnlyTheSeed() {
        ToyTrainSettings t = D.withSteps(3, 5);
        ToyTrainSettings s = t.withSeed(11);
        assertEquals(new ToyTrainSettings(t.vaeSteps(), t.vaeBatch(), t.vaeLr(), t.klWeight(), t.unetSteps(),
                t.unetBatch(), t.unetLr(), t.weightDecay(), t.warmupSteps(), t.latentScenes(), t.captionDropout(),
                t.emaDecay(), 11), s);
    }

    @Test
    void zeroTerminalSnrIsOffByDefaultAndSurvivesTheOtherWithers() {
        assertFalse(D.zeroTerminalSnr());
        ToyTrainSettings z = D.withZeroTerminalSnr(true);
        assertTrue(z.zeroTerminalSnr());
        assertTrue(z.withSteps(1, 1).withSeed(3).withLatentScenes(8).zeroTerminalSnr());
        assertEquals(D, z.withZeroTerminalSnr(false));
    }

    @Test
    void invalidValuesAreRejectedWithTheirName() {
        expect("vaeSteps must be > 0, got 0",
                () -> new ToyTrainSettings(0, 16, 1e-3, 1e-5, 1, 32, 1e-3, 0.01, 5, 64, 0.1, 0.9, 7));
        expect("vaeBatch must be > 0, got -1",
                () -> new ToyTrainSettings(1, -1, 1e-3, 1e-5, 1, 32, 1e-3, 0.01, 5, 64, 0.1, 0.9, 7));
        expect("unetSteps must be >= 0, got -1",
                () -> new ToyTrainSettings(1, 16, 1e-3, 1e-5, -1, 32, 1e-3, 0.01, 5, 64, 0.1, 0.9, 7));
        expect("unetBatch must be > 0, got 0",
                () -> new ToyTrainSettings(1, 16, 1e-3, 1e-5, 1, 0, 1e-3, 0.01, 5, 64, 0.1, 0.9, 7));
        expect("latentScenes must be > 0, got 0",
                () -> new ToyTrainSettings(1, 16, 1e-3, 1e-5, 1, 32, 1e-3, 0.01, 5, 0, 0.1, 0.9, 7));
        expect("warmupSteps must be >= 0, got -1",
                () -> new ToyTrainSettings(1, 16, 1e-3, 1e-5, 1, 32, 1e-3, 0.01, -1, 64, 0.1, 0.9, 7));
        expect("learning rates must be > 0",
                () -> new ToyTrainSettings(1, 16, 0, 1e-5, 1, 32, 1e-3, 0.01, 5, 64, 0.1, 0.9, 7));
        expect("learning rates must be > 0",
                () -> new ToyTrainSettings(1, 16, 1e-3, 1e-5, 1, 32, Double.NaN, 0.01, 5, 64, 0.1, 0.9, 7));
        expect("klWeight, weightDecay >= 0",
                () -> new ToyTrainSettings(1, 16, 1e-3, -1e-5, 1, 32, 1e-3, 0.01, 5, 64, 0.1, 0.9, 7));
        expect("klWeight, weightDecay >= 0",
                () -> new ToyTrainSettings(1, 16, 1e-3, 1e-5, 1, 32, 1e-3, -0.01, 5, 64, 0.1, 0.9, 7));
        expect("captionDropout and emaDecay must be in [0, 1)",
                () -> new ToyTrainSettings(1, 16, 1e-3, 1e-5, 1, 32, 1e-3, 0.01, 5, 64, 1.0, 0.9, 7));
        expect("captionDropout and emaDecay must be in [0, 1)",
                () -> new ToyTrainSettings(1, 16, 1e-3, 1e-5, 1, 32, 1e-3, 0.01, 5, 64, 0.1, 1.0, 7));
        expect("captionDropout and emaDecay must be in [0, 1)",
                () -> new ToyTrainSettings(1, 16, 1e-3, 1e-5, 1, 32, 1e-3, 0.01, 5, 64, -0.1, 0.9, 7));
        // the edges that are allowed
        ToyTrainSettings edge = new ToyTrainSettings(1, 1, 1e-9, 0, 1, 1, 1e-9, 0, 0, 1, 0, 0, -3);
        assertEquals(0, edge.warmupSteps());
    }

    private static void expect(String message, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(message), "message '" + ex.getMessage() + "' should contain '" + message + "'");
    }
}
