package dev.perfusion.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code golden/cases/scheduler_euler_ancestral.safetensors}: Euler ancestral, 20 steps, with each step's normal draw
 * given explicitly (σ_up/σ_down split).
 */
@Tag("unit")
class EulerAncestralDiscreteSchedulerGoldenTest {
    private static final GoldenCases G = GoldenCases.open("scheduler_euler_ancestral.safetensors");
    private final Backend be = new ReferenceBackend();
    private final EulerAncestralDiscreteScheduler eulerA = new EulerAncestralDiscreteScheduler(SchedulerConfig.sd15());

    @Test
    void timestepsAndSigmas() {
        TimestepSchedule ts = eulerA.timesteps(20);
        assertArrayEquals(G.f32("timesteps"), ts.timesteps());
        GoldenCases.STEP.assertClose("sigmas", Shape.of(21), G.f32("sigmas"), ts.sigmas());
        assertEquals(G.scalar("init_noise_sigma"), ts.initNoiseSigma());
        System.out.printf("scheduler_euler_ancestral: sigmas max abs %.2e%n",
                DDPMSchedulerGoldenTest.maxDiff(G.f32("sigmas"), ts.sigmas()));
    }

    @Test
    void everyStepButTheLastNeedsNoise() {
        try (SamplingRun run = eulerA.newRun(20)) {
            assertTrue(eulerA.isStochastic());
            for (int i = 0; i < 19; i++) {
                assertTrue(run.needsNoise(i));
            }
            assertFalse(run.needsNoise(19)); // σ' = 0: σ_up = 0
        }
    }

    @Test
    void loopStepByStep() {
        System.out.println("scheduler_euler_ancestral (step by step): "
                + SchedulerLoops.run(be, eulerA, 20, G, "", "noise", true));
    }

    @Test
    void loopFreeRunning() {
        System.out.println("scheduler_euler_ancestral (free running): "
                + SchedulerLoops.run(be, eulerA, 20, G, "", "noise", false));
    }
}
