package dev.perfusion.schedulers;

/**
 * What every sampler holds: its configuration and the training noise schedule derived from it. The subclasses add
 * their timestep schedule and step maths.
 */
abstract class BaseScheduler implements Scheduler {
    /** The configuration the sampler was built from. */
    protected final SchedulerConfig config;
    /** β, α and ᾱ of {@link #config}. */
    protected final NoiseSchedule schedule;

    protected BaseScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = NoiseSchedule.of(config);
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public NoiseSchedule noiseSchedule() {
        return schedule;
    }
}
