package dev.perfusion.schedulers;

import java.util.List;
import java.util.Locale;

/**
 * Makes a {@link Scheduler} by its short name, from a {@link SchedulerConfig} (usually the model's
 * {@code scheduler/scheduler_config.json}, whatever class it was written for, as diffusers'
 * {@code Scheduler.from_config} allows).
 *
 * <table>
 *   <caption>Names</caption>
 *   <tr><th>name</th><th>sampler</th></tr>
 *   <tr><td>{@code ddim}</td><td>{@link DDIMScheduler}, η = 0</td></tr>
 *   <tr><td>{@code ddpm}</td><td>{@link DDPMScheduler}</td></tr>
 *   <tr><td>{@code pndm}</td><td>{@link PNDMScheduler} (PLMS), SD v1.x's default</td></tr>
 *   <tr><td>{@code euler}</td><td>{@link EulerDiscreteScheduler}</td></tr>
 *   <tr><td>{@code euler_a}, {@code euler_ancestral}</td><td>{@link EulerAncestralDiscreteScheduler}</td></tr>
 *   <tr><td>{@code dpmpp_2m}</td><td>{@link DPMSolverMultistepScheduler}, DPM-Solver++ order 2, Karras σ off</td></tr>
 *   <tr><td>{@code dpmpp_2m_karras}</td><td>the same with Karras σ</td></tr>
 * </table>
 * The DPM names fix {@code solver_order 2} and {@code use_karras_sigmas}; everything else comes from the config.
 */
public final class Schedulers {
    /** Every accepted name, in the order of the table. */
    public static final List<String> NAMES = List.of(DDIMScheduler.NAME, DDPMScheduler.NAME, PNDMScheduler.NAME,
            EulerDiscreteScheduler.NAME, EulerAncestralDiscreteScheduler.NAME, "euler_ancestral",
            DPMSolverMultistepScheduler.NAME, DPMSolverMultistepScheduler.NAME_KARRAS);

    private Schedulers() {
    }

    /**
     * The scheduler called {@code name} (case-insensitive) for {@code config}.
     *
     * @throws IllegalArgumentException for an unknown name (the message lists the valid ones), or a config value the
     *                                  chosen scheduler does not support
     */
    public static Scheduler create(String name, SchedulerConfig config) {
        if (name == null) {
            throw new IllegalArgumentException("scheduler name is null; valid names: " + String.join(", ", NAMES));
        }
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "ddim" -> new DDIMScheduler(config);
            case "ddpm" -> new DDPMScheduler(config);
            case "pndm" -> new PNDMScheduler(config);
            case "euler" -> new EulerDiscreteScheduler(config);
            case "euler_a", "euler_ancestral" -> new EulerAncestralDiscreteScheduler(config);
            case "dpmpp_2m" -> new DPMSolverMultistepScheduler(
                    config.with("solver_order", 2L).with("use_karras_sigmas", false));
            case "dpmpp_2m_karras" -> new DPMSolverMultistepScheduler(
                    config.with("solver_order", 2L).with("use_karras_sigmas", true));
            default -> throw new IllegalArgumentException("unknown scheduler '" + name + "'; valid names: "
                    + String.join(", ", NAMES));
        };
    }
}
