/**
 * Noise schedulers (samplers) for Stable Diffusion, matching diffusers 0.30.3 on SD v1.x's scheduler config:
 * DDPM (also the training-side noising), DDIM, PNDM/PLMS, Euler, Euler ancestral and DPM-Solver++ 2M (with Karras
 * σ). Samplers are pure step functions, separate from models.
 *
 * <ul>
 *   <li>{@link dev.perfusion.schedulers.SchedulerConfig}: diffusers' {@code scheduler_config.json}.</li>
 *   <li>{@link dev.perfusion.schedulers.NoiseSchedule}: β, α, ᾱ in float32, exactly as diffusers.</li>
 *   <li>{@link dev.perfusion.schedulers.Scheduler}: an immutable, thread-safe sampler;
 *       {@link dev.perfusion.schedulers.Schedulers#create} makes one by name.</li>
 *   <li>{@link dev.perfusion.schedulers.SamplingRun}: the state of one generation (step history of multistep
 *       samplers), from {@link dev.perfusion.schedulers.Scheduler#newRun(int)}.</li>
 * </ul>
 *
 * Noise for stochastic samplers is passed in by the caller (seeded on the host) so every run is reproducible.
 * Sampler steps use the backend directly and are not recorded by autograd.
 */
package dev.perfusion.schedulers;
