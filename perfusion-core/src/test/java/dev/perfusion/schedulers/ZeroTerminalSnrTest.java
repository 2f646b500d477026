package dev.perfusion.schedulers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code rescale_betas_zero_snr} (Lin et al. 2023, algorithm 1) on SD v1.5's schedule, and who may use it. */
@Tag("unit")
class ZeroTerminalSnrTest {
    private static final SchedulerConfig ZERO_SNR = SchedulerConfig.sd15()
            .with("rescale_betas_zero_snr", true).with("prediction_type", "v_prediction");

    @Test
    void rescaledScheduleMatchesAnIndependentFloat64Computation() {
        NoiseSchedule s = NoiseSchedule.of(ZERO_SNR);
        NoiseSchedule base = NoiseSchedule.of(SchedulerConfig.sd15());
        // expected values: algorithm 1 in plain Python float64 on the float64 scaled-linear betas (not this code)
        assertClose("abar'(0) = abar(0)", base.alphaCumprod(0), s.alphaCumprod(0), 1e-6);
        assertClose("abar'(1)", 0.9982334461401825, s.alphaCumprod(1), 1e-6);
        assertClose("abar'(500)", 0.2410187827573158, s.alphaCumprod(500), 1e-5);
        assertClose("abar'(900)", 0.0029603934209004104, s.alphaCumprod(900), 1e-4);
        assertClose("abar'(998)", 1.9678880566211592e-07, s.alphaCumprod(998), 1e-3);
        assertClose("beta'(998)", 0.7511370041765087, s.beta(998), 1e-4);
        assertEquals(0f, s.alphaCumprod(999), "zero terminal SNR");
        assertEquals(1f, s.beta(999), "the last step is pure noise");
        for (int t = 1; t < 1000; t++) {
            assertTrue(s.alphaCumprod(t) <= s.alphaCumprod(t - 1), "abar' decreases at t=" + t);
            assertTrue(s.beta(t) >= 0 && s.beta(t) <= 1, "beta' in [0, 1] at t=" + t);
        }
    }

    @Test
    void rescalingIsOffByDefaultAndRoundTrips() {
        assertFalse(SchedulerConfig.sd15().rescaleBetasZeroSnr());
        assertEquals(ZERO_SNR, SchedulerConfig.fromMap(ZERO_SNR.toMap()));
        assertTrue(ZERO_SNR.rescaleBetasZeroSnr());
    }

    @Test
    void ddimWithVPredictionStartsFromPureNoise() {
        Backend be = new ReferenceBackend();
        DDIMScheduler ddim = new DDIMScheduler(ZERO_SNR.with("timestep_spacing", "trailing"));
        try (TensorScope scope = TensorScope.open(); var run = ddim.newRun(5)) {
            assertEquals(999f, run.timestep(0), "trailing spacing starts at the last training step");
            Tensor x = be.full(Shape.of(1, 4, 2, 2), 0.7f);
            Tensor v = be.full(Shape.of(1, 4, 2, 2), -0.25f);
            StepOutput out = run.step(v, 0, x, null);
            // at abar = 0: x0 = sqrt(abar)·x − sqrt(1 − abar)·v = −v
            for (float x0 : out.predOriginalSample().toFloatArray()) {
                assertEquals(0.25f, x0, 1e-6f);
            }
            for (float p : out.prevSample().toFloatArray()) {
                assertTrue(Float.isFinite(p), "finite step from zero SNR");
            }
        }
    }

    @Test
    void epsilonPredictionWithZeroSnrIsRejected() {
        SchedulerConfig eps = SchedulerConfig.sd15().with("rescale_betas_zero_snr", true);
        for (Runnable make : new Runnable[] {() -> new DDIMScheduler(eps), () -> new DDPMScheduler(eps)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, make::run);
            assertTrue(e.getMessage().contains("v_prediction"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"pndm", "euler", "euler_a", "dpmpp_2m"})
    void samplersWithoutZeroSnrSupportSaySo(String name) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create(name, ZERO_SNR));
        assertTrue(e.getMessage().contains("rescale_betas_zero_snr"), e.getMessage());
        assertTrue(e.getMessage().contains("DDIMScheduler and DDPMScheduler"), e.getMessage());
    }

    private static void assertClose(String what, double expected, double actual, double rtol) {
        assertTrue(Math.abs(actual - expected) <= rtol * Math.abs(expected),
                what + ": expected " + expected + ", got " + actual + " (rtol " + rtol + ")");
    }
}
