package dev.perfusion.cuda;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BackendProvider;
import java.util.Optional;

/**
 * Makes the {@code cuda} backend known to {@link dev.perfusion.tensor.Backends} through {@link java.util.ServiceLoader}
 * (listed in {@code META-INF/services/dev.perfusion.tensor.BackendProvider}).
 *
 * <p>It is available when the {@link CudaProbe} finds a driver and a device and the compiled kernels are on the
 * class path; otherwise it gives the reason (for example the missing driver), so that
 * {@code Backends.create("auto")} skips it, logs why and picks the next backend (ND4J), and
 * {@code Backends.create("cuda")} fails with that reason instead of silently running somewhere else.
 *
 * <p>Options, read once here (when the backend is created) and passed down, never consulted elsewhere:
 * <ul>
 *   <li>{@value #DEVICE_PROPERTY} (system property, default 0): the device ordinal;</li>
 *   <li>{@value #DEBUG_SYNC_PROPERTY} (system property, {@code true}/{@code false}, default false): synchronise and
 *       check for errors after every kernel launch, so that a failing kernel is named where it fails.</li>
 * </ul>
 */
public final class CudaBackendProvider implements BackendProvider {

    /** System property choosing the device ordinal. */
    public static final String DEVICE_PROPERTY = "perfusion.cuda.device";
    /** System property switching on synchronisation after every launch. */
    public static final String DEBUG_SYNC_PROPERTY = "perfusion.cuda.debugSync";
    /** The class-path resource written by {@code build-kernels.sh} next to the kernels. */
    static final String MANIFEST = "/dev/perfusion/cuda/kernels/manifest.json";

    /** Public no-argument constructor, as {@link java.util.ServiceLoader} requires. */
    public CudaBackendProvider() {
    }

    /** {@code cuda}. */
    @Override
    public String name() {
        return CudaBackend.NAME;
    }

    /** 100: preferred over ND4J (10) and the reference (0) when it can run. */
    @Override
    public int priority() {
        return 100;
    }

    /** Empty when a GPU and the kernels are there; else the probe's reason, or that the kernels are missing. */
    @Override
    public Optional<String> unavailableReason() {
        Optional<String> noGpu = CudaProbe.unavailableReason();
        if (noGpu.isPresent()) {
            return noGpu;
        }
        if (CudaBackendProvider.class.getResource(MANIFEST) == null) {
            return Optional.of("the compiled CUDA kernels are not on the class path (" + MANIFEST
                    + " is missing: run perfusion-cuda/build-kernels.sh)");
        }
        return Optional.empty();
    }

    /**
     * Opens the device chosen by {@value #DEVICE_PROPERTY} and a backend on it.
     *
     * @throws UnsupportedOperationException when {@link #unavailableReason()} is not empty, with the reason
     * @throws IllegalArgumentException      when {@value #DEVICE_PROPERTY} is not a device ordinal
     */
    @Override
    public Backend create() {
        Optional<String> why = unavailableReason();
        if (why.isPresent()) {
            throw new UnsupportedOperationException("backend 'cuda' cannot be created: " + why.get());
        }
        int ordinal = deviceOrdinal(System.getProperty(DEVICE_PROPERTY));
        boolean debugSync = Boolean.parseBoolean(System.getProperty(DEBUG_SYNC_PROPERTY, "false"));
        return CudaBackend.open(ordinal, debugSync);
    }

    /** The ordinal in {@code value} (null: 0), checked against the devices the probe found. */
    static int deviceOrdinal(String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        int ordinal;
        try {
            ordinal = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(DEVICE_PROPERTY + " must be a device ordinal, got '" + value + "'");
        }
        int count = CudaProbe.devices().size();
        if (ordinal < 0 || (count > 0 && ordinal >= count)) {
            throw new IllegalArgumentException(DEVICE_PROPERTY + " = " + ordinal + " but there are " + count
                    + " CUDA device(s): " + CudaProbe.devices());
        }
        return ordinal;
    }
}
