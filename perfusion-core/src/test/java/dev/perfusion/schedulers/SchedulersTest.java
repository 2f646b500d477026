package dev.perfusion.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The factory, bad inputs common to every sampler, timestep edge cases and thread safety. */
@Tag("unit")
class SchedulersTest {
    private final Backend be = new ReferenceBackend();
    private final SchedulerConfig sd = SchedulerConfig.sd15();

    @Test
    void createsEveryNamedSampler() {
        assertInstanceOf(DDIMScheduler.class, Schedulers.create("ddim", sd));
        assertInstanceOf(DDPMScheduler.class, Schedulers.create("ddpm", sd));
        assertInstanceOf(PNDMScheduler.class, Schedulers.create("pndm", sd));
        assertInstanceOf(EulerDiscreteScheduler.class, Schedulers.create("euler", sd));
        assertInstanceOf(EulerAncestralDiscreteScheduler.class, Schedulers.create("euler_a", sd));
        assertInstanceOf(EulerAncestralDiscreteScheduler.class, Schedulers.create("Euler_Ancestral", sd));
        assertInstanceOf(DPMSolverMultistepScheduler.class, Schedulers.create("dpmpp_2m", sd));
        assertInstanceOf(DPMSolverMultistepScheduler.class, Schedulers.create("dpmpp_2m_karras", sd));
        for (String name : Schedulers.NAMES) {
            assertEquals(name.equals("euler_ancestral") ? "euler_a" : name, Schedulers.create(name, sd).name());
        }
    }

    @Test
    void unknownNameListsTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create("lms", sd));
        assertTrue(e.getMessage().contains("'lms'"), e.getMessage());
        for (String name : Schedulers.NAMES) {
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Schedulers.create(null, sd));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddim", "ddpm", "pndm", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras"})
    void badStepCounts(String name) {
        Scheduler s = Schedulers.create(name, sd);
        for (int steps : new int[] {0, -1, 1001}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.timesteps(steps));
            assertTrue(e.getMessage().contains(Integer.toString(steps)), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.newRun(steps));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddim", "ddpm", "pndm", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras"})
    void everyStepCountAndSpacingGivesValidTimesteps(String name) {
        for (String spacing : new String[] {"leading", "trailing", "linspace"}) {
            Scheduler s = Schedulers.create(name, sd.with("timestep_spacing", spacing));
            for (int n : new int[] {1, 2, 3, 7, 25, 61, 103, 333, 999}) {
                TimestepSchedule ts = s.timesteps(n);
                // 61 and 103 are counts for which np.arange(1000, 0, -1000/n) has n + 1 values
                assertTrue(ts.size() == n || (name.equals("pndm") && ts.size() == n + 1), name + " " + n);
                // DPM-Solver's leading spacing reaches t = N for n = N − 1 with steps_offset 1, as in diffusers
                float max = name.startsWith("dpmpp") && spacing.equals("leading") && n == 999 ? 1000 : 999;
                for (int i = 0; i < ts.size(); i++) {
                    assertTrue(ts.timestep(i) >= 0 && ts.timestep(i) <= max, name + " " + spacing + " " + n);
                    if (i > 0) {
                        assertTrue(ts.timestep(i) <= ts.timestep(i - 1), name + " " + spacing + " " + n);
                    }
                }
            }
        }
    }

    @Test
    void leadingSpacingWithOffsetCannotUseAllTrainingSteps() {
        // 1000 leading steps + steps_offset 1 would reach t = 1000; diffusers fails at that step, we up front
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DDIMScheduler(sd).timesteps(1000));
        assertTrue(e.getMessage().contains("1000"), e.getMessage());
        assertEquals(1000, new DDIMScheduler(sd.with("steps_offset", 0)).timesteps(1000).size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddim", "ddpm", "pndm", "euler", "euler_a", "dpmpp_2m"})
    void badStepArguments(String name) {
        Scheduler s = Schedulers.create(name, sd);
        try (TensorScope scope = TensorScope.open(); SamplingRun run = s.newRun(10)) {
            Tensor x = be.full(Shape.of(1, 4, 3, 3), 0.3f);
            Tensor noise = be.full(Shape.of(1, 4, 3, 3), 0.1f);
            assertThrows(IllegalArgumentException.class, () -> run.step(x, run.size(), x, noise));
            assertThrows(IllegalArgumentException.class, () -> run.step(x, -1, x, noise));
            assertThrows(IllegalArgumentException.class, () -> run.scaleModelInput(x, run.size()));
            assertThrows(IllegalArgumentException.class,
                    () -> run.step(be.full(Shape.of(1, 4, 3, 2), 0f), 0, x, noise));
            StepOutput ok = run.step(x, 0, x, noise);
            assertEquals(x.shape(), ok.prevSample().shape());
        }
    }

    @Test
    void scaleModelInputReturnsAnIndependentHandle() {
        try (TensorScope scope = TensorScope.open(); SamplingRun run = Schedulers.create("ddim", sd).newRun(10)) {
            Tensor x = be.full(Shape.of(1, 4, 2, 2), 0.25f);
            Tensor in = run.scaleModelInput(x, 0);
            in.close();
            assertEquals(0.25f, x.toFloatArray()[0]); // x still usable
        }
    }

    @Test
    void runStateIsPerRunAndClosedRunsFreeIt() {
        // two interleaved runs of one multistep scheduler give the same results as one run alone
        GoldenCases g = GoldenCases.open("scheduler_dpmpp.safetensors");
        Scheduler s = Schedulers.create("dpmpp_2m", sd);
        try (TensorScope scope = TensorScope.open(); SamplingRun a = s.newRun(10); SamplingRun b = s.newRun(10)) {
            Tensor xa = g.tensor("n10.initial_sample", be);
            Tensor xb = xa;
            for (int i = 0; i < 10; i++) {
                Tensor eps = g.item("n10.model_outputs", i, be);
                xa = a.step(eps, i, xa, null).prevSample();
                xb = b.step(eps, i, xb, null).prevSample();
                assertArrayEquals(xa.toFloatArray(), xb.toFloatArray());
            }
            GoldenCases.STEP.assertClose("interleaved run", g.item("n10.prev_samples", 9, be), xa);
        }
    }

    @Test
    void oneSchedulerServesConcurrentRuns() throws Exception {
        GoldenCases g = GoldenCases.open("scheduler_pndm.safetensors");
        Scheduler s = Schedulers.create("pndm", sd);
        float[] alone = runPndm(s, g);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<float[]>> results = new ArrayList<>();
            for (int k = 0; k < 8; k++) {
                results.add(pool.submit(() -> runPndm(s, g)));
            }
            for (Future<float[]> f : results) {
                assertArrayEquals(alone, f.get());
            }
        } finally {
            pool.shutdown();
        }
    }

    private float[] runPndm(Scheduler s, GoldenCases g) {
        Backend backend = new ReferenceBackend();
        try (TensorScope scope = TensorScope.open(); SamplingRun run = s.newRun(50)) {
            Tensor x = g.tensor("initial_sample", backend);
            for (int i = 0; i < run.size(); i++) {
                x = run.step(g.item("model_outputs", i, backend), i, x, null).prevSample();
            }
            return x.toFloatArray();
        }
    }
}
