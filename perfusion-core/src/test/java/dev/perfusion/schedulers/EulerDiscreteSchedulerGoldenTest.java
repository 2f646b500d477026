package dev.perfusion.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code golden/cases/scheduler_euler.safetensors}: Euler, 30 steps, {@code linspace} spacing with fractional
 * timesteps, interpolated σ, {@code init_noise_sigma} = σ_max, the scaled model inputs, x̂₀ and every step.
 */
@Tag("unit")
class EulerDiscreteSchedulerGoldenTest {
    private static final GoldenCases G = GoldenCases.open("scheduler_euler.safetensors");
    private final Backend be = new ReferenceBackend();
    private final EulerDiscreteScheduler euler = new EulerDiscreteScheduler(SchedulerConfig.sd15());

    @Test
    void fractionalTimestepsAndInterpolatedSigmas() {
        TimestepSchedule ts = euler.timesteps(30);
        // np.linspace(0, 999, 30, dtype=float32)[::-1]: 999, 964.5517, …, 0 — the same float32 values
        assertArrayEquals(G.f32("timesteps"), ts.timesteps());
        float[] ref = G.f32("sigmas");
        GoldenCases.STEP.assertClose("sigmas", Shape.of(31), ref, ts.sigmas());
        assertEquals(0f, ts.sigma(30));
        assertEquals(G.scalar("init_noise_sigma"), ts.initNoiseSigma());
        System.out.printf("scheduler_euler: sigmas max abs %.2e (bit-identical: %b), init_noise_sigma %s%n",
                DDPMSchedulerGoldenTest.maxDiff(ref, ts.sigmas()), Arrays.equals(ref, ts.sigmas()),
                ts.initNoiseSigma());
    }

    @Test
    void loopStepByStep() {
        System.out.println("scheduler_euler (step by step): " + SchedulerLoops.run(be, euler, 30, G, "", null, true));
    }

    @Test
    void loopFreeRunning() {
        System.out.println("scheduler_euler (free running): " + SchedulerLoops.run(be, euler, 30, G, "", null, false));
    }

    @Test
    void loopOnNd4jBackend() {
        // the same loop through the fast CPU backend's ops
        try (Backend nd4j = new Nd4jBackend()) {
            System.out.println("scheduler_euler on nd4j (free running): "
                    + SchedulerLoops.run(nd4j, euler, 30, G, "", null, false));
        }
    }

    @Test
    void leadingSpacingScalesInitialNoise() {
        EulerDiscreteScheduler leading = new EulerDiscreteScheduler(
                SchedulerConfig.sd15().with("timestep_spacing", "leading"));
        TimestepSchedule ts = leading.timesteps(50);
        assertEquals(981f, ts.timestep(0));
        float max = ts.sigma(0);
        // diffusers: √(σ_max² + 1) unless the spacing is linspace or trailing
        assertEquals((float) Math.sqrt(max * max + 1f), ts.initNoiseSigma());
        assertTrue(ts.initNoiseSigma() > max);
    }

    @Test
    void karrasSigmasRunFromSigmaMaxToSigmaMin() {
        EulerDiscreteScheduler karras = new EulerDiscreteScheduler(
                SchedulerConfig.sd15().with("use_karras_sigmas", true));
        TimestepSchedule ts = karras.timesteps(20);
        TimestepSchedule plain = euler.timesteps(20);
        assertEquals(plain.sigma(0), ts.sigma(0), 1e-6f);
        assertEquals(plain.sigma(19), ts.sigma(19), 1e-6f);
        assertEquals(0f, ts.sigma(20));
        assertEquals(999f, ts.timestep(0), 1e-3f);
        assertEquals(0f, ts.timestep(19), 1e-3f);
        for (int i = 1; i < 20; i++) {
            assertTrue(ts.sigma(i) < ts.sigma(i - 1));
            assertTrue(ts.timestep(i) < ts.timestep(i - 1));
        }
    }
}
