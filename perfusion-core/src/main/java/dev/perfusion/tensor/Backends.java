package dev.perfusion.tensor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses a backend by name or automatically, and logs the choice. Nothing here is global: each call makes a
 * new backend object that the caller passes down.
 */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    private Backends() {
    }

    /** Every provider on the class path, best first. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> list = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader()).forEach(list::add);
        list.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        return list;
    }

    /**
     * The backend called {@code name}, or for {@code auto} the available one with the highest priority
     * (CUDA when a device and the perfusion-cuda module are present, else ND4J, else the reference).
     *
     * @throws IllegalArgumentException for an unknown name, or a known backend that cannot run here (with the reason)
     */
    public static Backend create(String name) {
        List<BackendProvider> all = providers();
        if ("auto".equals(name)) {
            for (BackendProvider p : all) {
                Optional<String> why = p.unavailableReason();
                if (why.isEmpty()) {
                    LOG.info("backend auto: chose '{}'", p.name());
                    return p.create();
                }
                LOG.info("backend auto: skipped '{}': {}", p.name(), why.get());
            }
            throw new IllegalStateException("no backend can run here; providers: " + names(all));
        }
        for (BackendProvider p : all) {
            if (p.name().equals(name)) {
                Optional<String> why = p.unavailableReason();
                if (why.isPresent()) {
                    throw new IllegalArgumentException("backend '" + name + "' cannot run here: " + why.get());
                }
                LOG.info("backend: using '{}'", name);
                return p.create();
            }
        }
        throw new IllegalArgumentException("unknown backend '" + name + "'; available: auto, " + names(all));
    }

    private static String names(List<BackendProvider> all) {
        return String.join(", ", all.stream().map(BackendProvider::name).toList());
    }
}
