package dev.perfusion.schedulers;

import static dev.perfusion.schedulers.DDPMSchedulerGoldenTest.longs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code golden/cases/scheduler_dpmpp.safetensors}: DPM-Solver++ 2M ({@code lower_order_final},
 * {@code final_sigmas_type zero}) with 20 and 10 steps, and with Karras σ (20 steps): timesteps, σ and every step.
 */
@Tag("unit")
class DPMSolverMultistepSchedulerGoldenTest {
    private static final GoldenCases G = GoldenCases.open("scheduler_dpmpp.safetensors");
    private final Backend be = new ReferenceBackend();

    private static Scheduler scheduler(String name) {
        return Schedulers.create(name, SchedulerConfig.sd15());
    }

    @ParameterizedTest
    @CsvSource({"n20, 20, dpmpp_2m", "n10, 10, dpmpp_2m", "karras_n20, 20, dpmpp_2m_karras"})
    void timestepsAndSigmas(String prefix, int steps, String name) {
        TimestepSchedule ts = scheduler(name).timesteps(steps);
        assertArrayEquals(G.i64(prefix + ".timesteps"), longs(ts.timesteps()));
        float[] ref = G.f32(prefix + ".sigmas");
        GoldenCases.STEP.assertClose(prefix + ".sigmas", Shape.of(steps + 1), ref, ts.sigmas());
        assertEquals(0f, ts.sigma(steps));
        assertEquals(1f, ts.initNoiseSigma());
        System.out.printf("scheduler_dpmpp %s: sigmas max abs %.2e%n", prefix,
                DDPMSchedulerGoldenTest.maxDiff(ref, ts.sigmas()));
    }

    @ParameterizedTest
    @CsvSource({"n20, 20, dpmpp_2m", "n10, 10, dpmpp_2m", "karras_n20, 20, dpmpp_2m_karras"})
    void loopStepByStep(String prefix, int steps, String name) {
        System.out.println("scheduler_dpmpp " + prefix + " (step by step): "
                + SchedulerLoops.run(be, scheduler(name), steps, G, prefix + ".", null, true));
    }

    @ParameterizedTest
    @CsvSource({"n20, 20, dpmpp_2m", "n10, 10, dpmpp_2m", "karras_n20, 20, dpmpp_2m_karras"})
    void loopFreeRunning(String prefix, int steps, String name) {
        System.out.println("scheduler_dpmpp " + prefix + " (free running): "
                + SchedulerLoops.run(be, scheduler(name), steps, G, prefix + ".", null, false));
    }

    @Test
    void namesFixKarras() {
        assertEquals("dpmpp_2m_karras", scheduler("dpmpp_2m_karras").name());
        assertEquals("dpmpp_2m", Schedulers.create("dpmpp_2m",
                SchedulerConfig.sd15().with("use_karras_sigmas", true)).name());
    }

    @Test
    void stepsMustBeConsecutive() {
        Scheduler s = scheduler("dpmpp_2m");
        try (TensorScope scope = TensorScope.open(); SamplingRun run = s.newRun(10)) {
            Tensor x = G.tensor("n10.initial_sample", be);
            // a run may start part-way (image-to-image), then goes on step by step
            run.step(G.item("n10.model_outputs", 3, be), 3, x, null);
            assertThrows(IllegalStateException.class, () -> run.step(G.item("n10.model_outputs", 5, be), 5, x, null));
            run.step(G.item("n10.model_outputs", 4, be), 4, x, null);
        }
    }

    @Test
    void unsupportedSolverOrderIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DPMSolverMultistepScheduler(SchedulerConfig.sd15().with("solver_order", 3)));
        assertTrue(e.getMessage().contains("solver_order"), e.getMessage());
    }
}
