package dev.perfusion.cuda;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BackendProvider;
import java.util.Optional;

/**
 * Makes the {@code cuda} backend known to {@link dev.perfusion.tensor.Backends} through {@link java.util.ServiceLoader}
 * (listed in {@code META-INF/services/dev.perfusion.tensor.BackendProvider}).
 *
 * <p>The CUDA kernels are not written yet (issue #5), so this provider is honest about it: it never claims to be
 * available. Without a GPU it reports the {@link CudaProbe}'s reason (for example the missing driver); with one it
 * says that the kernels are missing. Either way {@code Backends.create("auto")} skips it, logs why, and picks the
 * next backend (ND4J), and {@code Backends.create("cuda")} fails with that reason instead of silently running
 * somewhere else.
 */
public final class CudaBackendProvider implements BackendProvider {

    /** The reason given on a machine that does have a usable GPU, until the kernels exist. */
    static final String NOT_IMPLEMENTED = "the CUDA backend's kernels are not implemented yet (issue #5)";

    /** Public no-argument constructor, as {@link java.util.ServiceLoader} requires. */
    public CudaBackendProvider() {
    }

    /** {@code cuda}. */
    @Override
    public String name() {
        return "cuda";
    }

    /** 100: preferred over ND4J (10) and the reference (0) once it can run. */
    @Override
    public int priority() {
        return 100;
    }

    /** The probe's reason when there is no usable GPU, otherwise that the kernels are not implemented yet. */
    @Override
    public Optional<String> unavailableReason() {
        Optional<String> noGpu = CudaProbe.unavailableReason();
        if (noGpu.isPresent()) {
            return noGpu;
        }
        return Optional.of(NOT_IMPLEMENTED + "; found " + CudaProbe.devices());
    }

    /**
     * Never succeeds yet: {@link dev.perfusion.tensor.Backends} only calls this when {@link #unavailableReason()}
     * is empty, which it never is.
     *
     * @throws UnsupportedOperationException always, with the reason
     */
    @Override
    public Backend create() {
        throw new UnsupportedOperationException("backend 'cuda' cannot be created: " + unavailableReason().orElse(NOT_IMPLEMENTED));
    }
}
