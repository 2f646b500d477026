package dev.perfusion.tensor;

import java.util.Optional;

/**
 * Service-provider interface through which backends are found ({@link java.util.ServiceLoader}). A module that
 * brings a backend lists its provider in {@code META-INF/services/dev.perfusion.tensor.BackendProvider}.
 */
public interface BackendProvider {
    /** The name users select it by ({@code reference}, {@code nd4j}, {@code cuda}). */
    String name();

    /** Higher wins when the backend is chosen automatically (reference 0, nd4j 10, cuda 100). */
    int priority();

    /** Empty when the backend can run here, else the reason it cannot (e.g. "no CUDA driver: libcuda.so.1 not found"). */
    Optional<String> unavailableReason();

    /** Creates the backend; only called when {@link #unavailableReason()} is empty. */
    Backend create();
}
