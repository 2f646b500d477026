package dev.perfusion.backend.reference;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BackendProvider;
import java.util.Optional;

/** Finds {@link ReferenceBackend} through {@link java.util.ServiceLoader}: always available, lowest priority. */
public final class ReferenceBackendProvider implements BackendProvider {

    /** {@inheritDoc} */
    @Override
    public String name() {
        return ReferenceBackend.NAME;
    }

    /** {@inheritDoc} 0: chosen automatically only when no faster backend can run. */
    @Override
    public int priority() {
        return 0;
    }

    /** {@inheritDoc} Always empty: plain Java runs everywhere. */
    @Override
    public Optional<String> unavailableReason() {
        return Optional.empty();
    }

    /** {@inheritDoc} */
    @Override
    public Backend create() {
        return new ReferenceBackend();
    }
}
