package dev.perfusion.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code golden/cases/scheduler_ddpm.safetensors}: SD v1.5's training schedule (β, α, ᾱ), {@code add_noise},
 * {@code get_velocity} and a 50-step DDPM sampling loop ({@code fixed_small}, explicit variance noise).
 */
@Tag("unit")
class DDPMSchedulerGoldenTest {
    private static final GoldenCases G = GoldenCases.open("scheduler_ddpm.safetensors");
    private final Backend be = new ReferenceBackend();
    private final DDPMScheduler ddpm = new DDPMScheduler(SchedulerConfig.sd15());

    @Test
    void scheduleMatchesDiffusersFloat32BitForBit() {
        NoiseSchedule s = ddpm.noiseSchedule();
        assertEquals(1000, s.numTrainTimesteps());
        // float32 β = torch.linspace(√β₀, √β_end)², ᾱ a cumprod accumulated in double: identical bits
        assertArrayEquals(G.f32("betas"), s.betas());
        assertArrayEquals(G.f32("alphas"), s.alphas());
        assertArrayEquals(G.f32("alphas_cumprod"), s.alphasCumprod());
        System.out.printf("scheduler_ddpm: betas/alphas/alphas_cumprod bit-identical; vs float64 β %.2e, ᾱ %.2e%n",
                maxDiff(G.f64("betas_f64"), s.betas()), maxDiff(G.f64("alphas_cumprod_f64"), s.alphasCumprod()));
    }

    @Test
    void float64ReferenceAgreesWithinFloat32Rounding() {
        NoiseSchedule s = ddpm.noiseSchedule();
        // README §8: the float32 and float64 schedules differ by up to 4.7e-7
        assertTrue(maxDiff(G.f64("betas_f64"), s.betas()) < 1e-6);
        assertTrue(maxDiff(G.f64("alphas_cumprod_f64"), s.alphasCumprod()) < 1e-6);
    }

    @Test
    void addNoisePerSampleTimesteps() {
        try (TensorScope scope = TensorScope.open()) {
            int[] t = ints(G.i64("add_noise.timesteps"));
            assertArrayEquals(new int[] {0, 1, 10, 250, 499, 500, 998, 999}, t);
            Tensor x0 = G.tensor("add_noise.original_samples", be);
            Tensor noise = G.tensor("add_noise.noise", be);
            Tensor noisy = ddpm.addNoise(x0, noise, t);
            GoldenCases.STEP.assertClose("add_noise.noisy_samples", G.tensor("add_noise.noisy_samples", be), noisy);
            System.out.printf("scheduler_ddpm: add_noise max abs %.2e%n", maxAbs(G.tensor("add_noise.noisy_samples", be), noisy));
        }
    }

    @Test
    void addNoiseOneTimestepForTheBatch() {
        try (TensorScope scope = TensorScope.open()) {
            int[] t = ints(G.i64("add_noise_scalar.timestep"));
            assertArrayEquals(new int[] {700}, t);
            Tensor noisy = ddpm.addNoise(G.tensor("add_noise.original_samples", be), G.tensor("add_noise.noise", be), t);
            Tensor ref = G.tensor("add_noise_scalar.noisy_samples", be);
            GoldenCases.STEP.assertClose("add_noise_scalar.noisy_samples", ref, noisy);
            System.out.printf("scheduler_ddpm: add_noise (one timestep) max abs %.2e%n", maxAbs(ref, noisy));
        }
    }

    @Test
    void velocityAndTrainingTargets() {
        try (TensorScope scope = TensorScope.open()) {
            int[] t = ints(G.i64("add_noise.timesteps"));
            Tensor x0 = G.tensor("add_noise.original_samples", be);
            Tensor noise = G.tensor("add_noise.noise", be);
            Tensor ref = G.tensor("get_velocity.velocity", be);
            Tensor v = ddpm.getVelocity(x0, noise, t);
            GoldenCases.STEP.assertClose("get_velocity.velocity", ref, v);
            System.out.printf("scheduler_ddpm: get_velocity max abs %.2e%n", maxAbs(ref, v));

            // the training target is ε for epsilon prediction and v for v_prediction
            Tolerance.EXACT.assertClose("epsilon target", noise, ddpm.trainingTarget(x0, noise, t));
            DDPMScheduler vpred = new DDPMScheduler(SchedulerConfig.sd15().with("prediction_type", "v_prediction"));
            GoldenCases.STEP.assertClose("v_prediction target", ref, vpred.trainingTarget(x0, noise, t));
        }
    }

    @Test
    void addNoiseRejectsBadInput() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x0 = be.full(Shape.of(2, 4, 2, 2), 1f);
            Tensor noise = be.full(Shape.of(2, 4, 2, 2), 0f);
            assertThrows(IllegalArgumentException.class, () -> ddpm.addNoise(x0, noise, 1, 2, 3));
            assertThrows(IllegalArgumentException.class, () -> ddpm.addNoise(x0, noise, 1000));
            assertThrows(IllegalArgumentException.class, () -> ddpm.addNoise(x0, noise, -1));
            assertThrows(IllegalArgumentException.class,
                    () -> ddpm.addNoise(x0, be.full(Shape.of(1, 4, 2, 2), 0f), 5));
        }
    }

    @Test
    void loopTimestepsAndVariances() {
        assertEquals(50, G.i64("loop.num_inference_steps")[0]);
        TimestepSchedule ts = ddpm.timesteps(50);
        assertArrayEquals(G.i64("loop.timesteps"), longs(ts.timesteps()));
        assertEquals(981, ts.timestep(0));
        assertEquals(1, ts.timestep(49));
        float[] ref = G.f32("loop.variances");
        float[] got = new float[50];
        for (int i = 0; i < 50; i++) {
            got[i] = ddpm.variance((int) ts.timestep(i), 50);
        }
        GoldenCases.STEP.assertClose("loop.variances", Shape.of(50), ref, got);
        // the last step's posterior variance is 0, clamped to 1e-20 as in diffusers
        assertEquals(ref[49], got[49]);
        System.out.printf("scheduler_ddpm: variances max abs %.2e%n", maxDiff(ref, got));
    }

    @Test
    void loopStepByStep() {
        SchedulerLoops.Errors e = SchedulerLoops.run(be, ddpm, 50, G, "loop.", "variance_noise", true);
        System.out.println("scheduler_ddpm loop (step by step): " + e);
    }

    @Test
    void loopFreeRunning() {
        SchedulerLoops.Errors e = SchedulerLoops.run(be, ddpm, 50, G, "loop.", "variance_noise", false);
        System.out.println("scheduler_ddpm loop (free running): " + e);
    }

    static int[] ints(long[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.toIntExact(v[i]);
        }
        return out;
    }

    static long[] longs(float[] v) {
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            if (v[i] != Math.rint(v[i])) {
                throw new AssertionError("timestep " + v[i] + " is not a whole number");
            }
            out[i] = (long) v[i];
        }
        return out;
    }

    static double maxDiff(double[] ref, float[] got) {
        double m = 0;
        for (int i = 0; i < ref.length; i++) {
            m = Math.max(m, Math.abs(ref[i] - got[i]));
        }
        return m;
    }

    static double maxDiff(float[] ref, float[] got) {
        double m = 0;
        for (int i = 0; i < ref.length; i++) {
            m = Math.max(m, Math.abs((double) ref[i] - got[i]));
        }
        return m;
    }

    static double maxAbs(Tensor ref, Tensor got) {
        return maxDiff(ref.toFloatArray(), got.toFloatArray());
    }
}
