package dev.perfusion.backend.nd4j;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BackendProvider;
import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Finds {@link Nd4jBackend} through {@link java.util.ServiceLoader}: priority 10, available when ND4J's native
 * libraries load and compute on this machine (probed once per JVM).
 */
public final class Nd4jBackendProvider implements BackendProvider {

    /** The probe runs on first use of this holder class, so merely listing providers loads no native code. */
    private static final class Probe {
        static final String REASON = probe();

        private static String probe() {
            try {
                INDArray a = Nd4j.create(new float[] {1f, 2f, 3f}, new long[] {3}, 'c');
                try {
                    float s = a.sumNumber().floatValue();
                    return s == 6f ? null : "ND4J probe computed 1+2+3 = " + s;
                } finally {
                    a.close();
                }
            } catch (LinkageError | RuntimeException e) {
                return "ND4J native libraries failed to load (" + e.getClass().getSimpleName() + ": " + e.getMessage()
                        + "); this build ships nd4j-native for one platform, select another with -Dnd4j.classifier";
            }
        }
    }

    /** {@inheritDoc} */
    @Override
    public String name() {
        return Nd4jBackend.NAME;
    }

    /** {@inheritDoc} 10: above the reference backend, below CUDA. */
    @Override
    public int priority() {
        return 10;
    }

    /** {@inheritDoc} */
    @Override
    public Optional<String> unavailableReason() {
        return Optional.ofNullable(Probe.REASON);
    }

    /** {@inheritDoc} */
    @Override
    public Backend create() {
        return new Nd4jBackend();
    }
}
