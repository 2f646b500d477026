package dev.perfusion.schedulers;

import static dev.perfusion.schedulers.DDPMSchedulerGoldenTest.longs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code golden/cases/scheduler_pndm.safetensors}: PLMS ({@code skip_prk_steps}), SD v1.5's default sampler, 50 steps
 * → 51 timesteps with the second one repeated.
 */
@Tag("unit")
class PNDMSchedulerGoldenTest {
    private static final GoldenCases G = GoldenCases.open("scheduler_pndm.safetensors");
    private final Backend be = new ReferenceBackend();
    private final PNDMScheduler pndm = new PNDMScheduler(SchedulerConfig.sd15());

    @Test
    void timestepsRepeatTheSecond() {
        TimestepSchedule ts = pndm.timesteps(50);
        assertEquals(51, ts.size());
        assertEquals(50, ts.numInferenceSteps());
        assertArrayEquals(G.i64("timesteps"), longs(ts.timesteps()));
        assertArrayEquals(new long[] {981, 961, 961, 941}, Arrays.copyOf(longs(ts.timesteps()), 4));
        assertEquals(G.scalar("init_noise_sigma"), ts.initNoiseSigma());
        assertEquals(1, pndm.timesteps(1).size());
    }

    @Test
    void loopStepByStep() {
        System.out.println("scheduler_pndm (step by step): " + SchedulerLoops.run(be, pndm, 50, G, "", null, true));
    }

    @Test
    void loopFreeRunning() {
        System.out.println("scheduler_pndm (free running): " + SchedulerLoops.run(be, pndm, 50, G, "", null, false));
    }

    @Test
    void stepsMustBeConsecutiveAndNoX0IsFormed() {
        try (TensorScope scope = TensorScope.open(); SamplingRun run = pndm.newRun(50)) {
            Tensor x = G.tensor("initial_sample", be);
            StepOutput out = run.step(G.item("model_outputs", 0, be), 0, x, null);
            assertNull(out.predOriginalSample());
            assertThrows(IllegalStateException.class, () -> run.step(G.item("model_outputs", 2, be), 2, x, null));
            run.close();
            assertThrows(IllegalStateException.class, () -> run.step(G.item("model_outputs", 1, be), 1, x, null));
        }
    }

    @Test
    void pseudoRungeKuttaWarmUpIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PNDMScheduler(SchedulerConfig.sd15().with("skip_prk_steps", false)));
        assertTrue(e.getMessage().contains("skip_prk_steps"));
    }
}
