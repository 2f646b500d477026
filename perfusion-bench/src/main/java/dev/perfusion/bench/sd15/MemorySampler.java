package dev.perfusion.bench.sd15;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Samples {@link ProcStatus} on a daemon thread every {@code periodMillis} and keeps, per named phase of the run
 * (set by the measuring thread with {@link #phase}), the largest VmRSS, RssAnon and RssFile seen, plus a coarse
 * timeline for the log. VmHWM (read at the end) is the exact peak; the samples say in which phase it happened
 * and whether it was anonymous (buffers) or file-backed (mapped weights) memory.
 */
final class MemorySampler implements AutoCloseable {
    /** Largest values seen in one phase, in bytes. */
    static final class PhaseMax {
        long rss;
        long anon;
        long file;
        int samples;
    }

    private final long periodMillis;
    private final long timelineEveryMillis;
    private final Thread thread;
    private final long start = System.nanoTime();
    private final Map<String, PhaseMax> phases = new LinkedHashMap<>();
    private final List<String> timeline = new ArrayList<>();
    private volatile String phase = "start";
    private volatile boolean running = true;
    private long lastTimeline = -1;

    MemorySampler(long periodMillis, long timelineEveryMillis) {
        this.periodMillis = periodMillis;
        this.timelineEveryMillis = timelineEveryMillis;
        this.thread = new Thread(this::loop, "memory-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    /** Names the phase the following samples belong to, and takes one sample at once. */
    void phase(String name) {
        phase = name;
        sample();
    }

    private void loop() {
        while (running) {
            sample();
            try {
                Thread.sleep(periodMillis);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private synchronized void sample() {
        Map<String, Long> s = ProcStatus.read();
        if (s.isEmpty()) {
            return;
        }
        String p = phase;
        PhaseMax m = phases.computeIfAbsent(p, k -> new PhaseMax());
        long rss = s.getOrDefault("VmRSS", 0L);
        m.rss = Math.max(m.rss, rss);
        m.anon = Math.max(m.anon, s.getOrDefault("RssAnon", 0L));
        m.file = Math.max(m.file, s.getOrDefault("RssFile", 0L));
        m.samples++;
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (lastTimeline < 0 || ms - lastTimeline >= timelineEveryMillis) {
            lastTimeline = ms;
            timeline.add(String.format(Locale.ROOT, "%8.1f s  %-28s VmRSS %s  RssAnon %s  RssFile %s", ms / 1e3, p,
                    ProcStatus.format(rss), ProcStatus.format(s.get("RssAnon")), ProcStatus.format(s.get("RssFile"))));
        }
    }

    /** Per-phase maxima, in phase order. */
    synchronized Map<String, PhaseMax> phases() {
        return new LinkedHashMap<>(phases);
    }

    /** The coarse timeline lines. */
    synchronized List<String> timeline() {
        return new ArrayList<>(timeline);
    }

    /** The largest VmRSS of any sample. */
    synchronized long maxRss() {
        return phases.values().stream().mapToLong(m -> m.rss).max().orElse(0);
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
