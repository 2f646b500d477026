package dev.perfusion.schedulers;

import static dev.perfusion.schedulers.DDPMSchedulerGoldenTest.longs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

/**
 * {@code golden/cases/scheduler_ddim.safetensors}: the three timestep spacings, ᾱ after the last step, and DDIM
 * loops with η = 0 (50 steps), η = 1 (10 steps, explicit noise) and v prediction (10 steps).
 */
@Tag("unit")
class DDIMSchedulerGoldenTest {
    private static final GoldenCases G = GoldenCases.open("scheduler_ddim.safetensors");
    private final Backend be = new ReferenceBackend();
    private final SchedulerConfig sd = SchedulerConfig.sd15();

    @Test
    void timestepsForEachSpacing() {
        assertArrayEquals(G.i64("timesteps_leading"), longs(new DDIMScheduler(sd).timesteps(50).timesteps()));
        assertArrayEquals(G.i64("timesteps_leading"),
                longs(new DDIMScheduler(sd.with("timestep_spacing", "leading")).timesteps(50).timesteps()));
        assertArrayEquals(G.i64("timesteps_trailing"),
                longs(new DDIMScheduler(sd.with("timestep_spacing", "trailing")).timesteps(50).timesteps()));
        assertArrayEquals(G.i64("timesteps_linspace"),
                longs(new DDIMScheduler(sd.with("timestep_spacing", "linspace")).timesteps(50).timesteps()));
        assertArrayEquals(G.i64("eps_eta1.timesteps"), longs(new DDIMScheduler(sd).timesteps(10).timesteps()));
        assertArrayEquals(G.i64("eps_eta0.timesteps"), longs(new DDIMScheduler(sd).timesteps(50).timesteps()));
    }

    @Test
    void finalAlphaCumprodAndInitNoiseSigma() {
        DDIMScheduler ddim = new DDIMScheduler(sd);
        // set_alpha_to_one false: ᾱ after the last step is ᾱ₀ = 0.99915
        assertEquals(G.scalar("final_alpha_cumprod"), ddim.finalAlphaCumprod());
        assertEquals(1f, new DDIMScheduler(sd.with("set_alpha_to_one", true)).finalAlphaCumprod());
        assertEquals(G.scalar("init_noise_sigma"), ddim.timesteps(50).initNoiseSigma());
    }

    @Test
    void etaZeroLoop() {
        assertEquals(0f, G.scalar("eps_eta0.eta"));
        DDIMScheduler ddim = new DDIMScheduler(sd);
        assertFalse(ddim.isStochastic());
        System.out.println("scheduler_ddim eps_eta0 (step by step): "
                + SchedulerLoops.run(be, ddim, 50, G, "eps_eta0.", null, true));
        System.out.println("scheduler_ddim eps_eta0 (free running): "
                + SchedulerLoops.run(be, ddim, 50, G, "eps_eta0.", null, false));
    }

    @Test
    void etaOneLoopWithExplicitNoise() {
        DDIMScheduler ddim = new DDIMScheduler(sd, G.scalar("eps_eta1.eta"));
        assertEquals(1f, ddim.eta());
        assertTrue(ddim.isStochastic());
        System.out.println("scheduler_ddim eps_eta1 (step by step): "
                + SchedulerLoops.run(be, ddim, 10, G, "eps_eta1.", "variance_noise", true));
        System.out.println("scheduler_ddim eps_eta1 (free running): "
                + SchedulerLoops.run(be, ddim, 10, G, "eps_eta1.", "variance_noise", false));
    }

    @Test
    void vPredictionLoop() {
        assertEquals(0f, G.scalar("vpred_eta0.eta"));
        assertArrayEquals(G.i64("vpred_eta0.timesteps"), longs(new DDIMScheduler(sd).timesteps(10).timesteps()));
        DDIMScheduler ddim = new DDIMScheduler(sd.with("prediction_type", "v_prediction"));
        System.out.println("scheduler_ddim vpred_eta0 (step by step): "
                + SchedulerLoops.run(be, ddim, 10, G, "vpred_eta0.", null, true));
        System.out.println("scheduler_ddim vpred_eta0 (free running): "
                + SchedulerLoops.run(be, ddim, 10, G, "vpred_eta0.", null, false));
    }

    @Test
    void stochasticStepWithoutNoiseIsAnError() {
        try (TensorScope scope = TensorScope.open(); SamplingRun run = new DDIMScheduler(sd, 0.5f).newRun(10)) {
            Tensor x = be.full(Shape.of(1, 4, 2, 2), 0.5f);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run.step(x, 0, x, null));
            assertTrue(e.getMessage().contains("noise"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> run.step(x, 0, x, be.full(Shape.of(1, 4, 2, 3), 0f)));
        }
        assertThrows(IllegalArgumentException.class, () -> new DDIMScheduler(sd, -0.1f));
    }

    @Test
    void clipSampleClampsPredictedOriginal() {
        DDIMScheduler ddim = new DDIMScheduler(sd.with("clip_sample", true).with("clip_sample_range", 0.5));
        try (TensorScope scope = TensorScope.open(); SamplingRun run = ddim.newRun(50)) {
            Tensor x = G.tensor("eps_eta0.initial_sample", be);
            Tensor eps = G.item("eps_eta0.model_outputs", 0, be);
            StepOutput out = run.step(eps, 0, x, null);
            for (float v : out.predOriginalSample().toFloatArray()) {
                assertTrue(v >= -0.5f && v <= 0.5f, "x0 " + v + " outside ±0.5");
            }
        }
    }
}
