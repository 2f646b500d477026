package dev.perfusion.bench.sd15;

import dev.perfusion.pipeline.GenerationListener;
import java.util.ArrayList;
import java.util.List;

/**
 * Times a generation from the pipeline's step callbacks: {@link #onStep} runs right after each sampler step, so
 * the time between two calls is one step (UNet on the guidance batch, guidance, sampler update), the time from
 * {@link #start()} to the first call is prompt encoding plus the first step, and the time from the last call to
 * the end of {@code generate} is the VAE decode (plus the tensor-to-image conversion). Also checks that the
 * latents stay finite and records their largest magnitude (random weights can overflow; NaN would make the run
 * meaningless, and denormals would slow it down).
 */
final class StepTimer implements GenerationListener {
    private final MemorySampler memory;
    private final List<Long> stepEnds = new ArrayList<>();
    private final List<Float> latentMaxAbs = new ArrayList<>();
    private long start;
    private boolean allFinite = true;

    StepTimer(MemorySampler memory) {
        this.memory = memory;
    }

    /** Marks the start of {@code generate}. */
    void start() {
        memory.phase("prompts + step 1");
        start = System.nanoTime();
    }

    @Override
    public void onStep(StepEvent event) {
        long now = System.nanoTime();
        stepEnds.add(now);
        float max = 0;
        for (float v : event.latentsAfter().toFloatArray()) { // [1, 4, 64, 64]: 16k values, negligible
            if (!Float.isFinite(v)) {
                allFinite = false;
            }
            max = Math.max(max, Math.abs(v));
        }
        latentMaxAbs.add(max);
        int next = event.step() + 2; // 1-based number of the step that runs next
        memory.phase(next <= event.totalSteps() ? "step " + next : "vae decode");
    }

    long startNanos() {
        return start;
    }

    /** System.nanoTime() at the end of each step, in order. */
    List<Long> stepEnds() {
        return stepEnds;
    }

    List<Float> latentMaxAbs() {
        return latentMaxAbs;
    }

    boolean allFinite() {
        return allFinite;
    }
}
