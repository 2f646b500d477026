package dev.perfusion.schedulers;

/**
 * A diffusion sampler ("noise scheduler" in diffusers): the pure step function that turns the model's output at one
 * timestep into the sample for the next, separate from any model.
 *
 * <p><b>Immutable and thread-safe.</b> A scheduler holds only its configuration and the training noise schedule.
 * Everything that changes during one generation (the step counter, PNDM's and DPM-Solver's history of model
 * outputs) lives in a {@link SamplingRun} made by {@link #newRun(int)}: one per generation, used by one thread. So
 * one scheduler serves any number of concurrent generations.
 *
 * <p><b>Noise comes from the caller.</b> Stochastic samplers (DDPM, DDIM with η &gt; 0, Euler ancestral) take each
 * step's standard normal draw as an argument ({@link SamplingRun#needsNoise(int)} says when), typically
 * {@code backend.randn(shape, seed)} from {@link dev.perfusion.tensor.HostRandom}, so runs are reproducible on every
 * backend.
 *
 * <p>A generation:
 * <pre>{@code
 * Scheduler scheduler = Schedulers.create("dpmpp_2m_karras", SchedulerConfig.load(dir.resolve("scheduler_config.json")));
 * try (SamplingRun run = scheduler.newRun(25)) {
 *     Tensor x = backend.affine(backend.randn(latentShape, seed), run.initNoiseSigma(), 0f);
 *     for (int i = 0; i < run.size(); i++) {
 *         try (TensorScope step = TensorScope.open()) {
 *             Tensor in = run.scaleModelInput(x, i);
 *             Tensor eps = unet.forward(in, run.timestep(i), text);
 *             Tensor noise = run.needsNoise(i) ? backend.randn(x.shape(), seed + 1 + i) : null;
 *             x = step.keep(run.step(eps, i, x, noise).prevSample());
 *         }
 *     }
 * }
 * }</pre>
 * Numerics follow diffusers 0.30.3 (see each implementation); the golden tests hold every step to
 * |a − b| ≤ 1e-4 + 1e-4·|ref|.
 */
public interface Scheduler {

    /** The name {@link Schedulers#create} knows this sampler by ({@code ddim}, {@code euler_a}, …). */
    String name();

    /** The configuration it was built from. */
    SchedulerConfig config();

    /** The training noise schedule (β, ᾱ) of {@link #config()}. */
    NoiseSchedule noiseSchedule();

    /**
     * The timesteps (and σ, where used) of a run with {@code numInferenceSteps} steps, diffusers'
     * {@code set_timesteps}.
     *
     * @throws IllegalArgumentException unless 1 ≤ numInferenceSteps ≤ num_train_timesteps
     */
    TimestepSchedule timesteps(int numInferenceSteps);

    /**
     * Starts a generation of {@code numInferenceSteps} steps: a fresh state object that owns the run's history.
     *
     * @throws IllegalArgumentException unless 1 ≤ numInferenceSteps ≤ num_train_timesteps
     */
    SamplingRun newRun(int numInferenceSteps);

    /** True when some step consumes noise ({@link SamplingRun#needsNoise}). */
    boolean isStochastic();
}
