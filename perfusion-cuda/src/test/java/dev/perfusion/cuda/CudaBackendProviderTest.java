package dev.perfusion.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BackendProvider;
import dev.perfusion.tensor.Backends;
import jcuda.CudaException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The provider's contract on any machine: it is found by the ServiceLoader, is available exactly when the probe
 * finds a GPU (the kernels ship with the module), and otherwise explains why. The driver-specific checks assume a
 * machine without a GPU (the development machines), and are skipped with the probe's summary elsewhere; the GPU
 * side is checked by {@link CudaProbeDeviceTest}.
 */
@Tag("unit")
class CudaBackendProviderTest {

    @Test
    void providerIsFoundWithNameAndPriority() {
        BackendProvider p = Backends.providers().stream().filter(x -> x.name().equals("cuda")).findFirst()
                .orElseThrow(() -> new AssertionError("no 'cuda' provider on the class path: " + Backends.providers()));
        assertTrue(p instanceof CudaBackendProvider, p.getClass().getName());
        assertEquals(100, p.priority());
    }

    @Test
    void providerIsAvailableExactlyWhenTheProbeFindsAGpu() {
        assertTrue(CudaBackendProvider.class.getResource(CudaBackendProvider.MANIFEST) != null,
                "the compiled kernels must ship on the class path: run perfusion-cuda/build-kernels.sh");
        if (CudaProbe.available()) {
            assertTrue(new CudaBackendProvider().unavailableReason().isEmpty(),
                    () -> new CudaBackendProvider().unavailableReason().orElse(""));
        } else {
            assertEquals(CudaProbe.unavailableReason().orElseThrow(),
                    new CudaBackendProvider().unavailableReason().orElseThrow());
        }
    }

    @Test
    void deviceOrdinalOptionIsParsedAndChecked() {
        assertEquals(0, CudaBackendProvider.deviceOrdinal(null));
        assertEquals(0, CudaBackendProvider.deviceOrdinal(" "));
        assertThrows(IllegalArgumentException.class, () -> CudaBackendProvider.deviceOrdinal("gpu0"));
        assertThrows(IllegalArgumentException.class, () -> CudaBackendProvider.deviceOrdinal("-1"));
    }

    @Test
    void withoutAGpuTheReasonNamesTheDriver() {
        assumeFalse(CudaProbe.available(), () -> "this machine has a GPU: " + CudaProbe.summary());
        String reason = new CudaBackendProvider().unavailableReason().orElseThrow();
        assertTrue(reason.contains("driver"), reason);
        assertTrue(CudaProbe.devices().isEmpty());
        assertFalse(reason.contains("\n"), "one line: " + reason);
        // the probe is cached: asking again gives the same answer, not JCuda's "Could not initialize class"
        assertEquals(reason, CudaProbe.unavailableReason().orElseThrow());
        assertTrue(CudaProbe.summary().startsWith("CUDA unavailable: "), CudaProbe.summary());
    }

    @Test
    void createCudaFailsWithTheReason() {
        assumeFalse(CudaProbe.available(), () -> "this machine has a GPU: " + CudaProbe.summary());
        String reason = new CudaBackendProvider().unavailableReason().orElseThrow();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("cuda"));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> new CudaBackendProvider().create());
    }

    @Test
    void autoSkipsCudaAndPicksACpuBackend() {
        assumeFalse(CudaProbe.available(), () -> "this machine has a GPU: " + CudaProbe.summary());
        try (Backend b = Backends.create("auto")) {
            assertNotEquals("cuda", b.name());
        }
    }

    @Test
    void missingDriverLibraryIsNamed() {
        // the message shape JCuda 12.6 gives on a machine without libcuda (engine notes §5)
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"\n"
                + "Stack trace from the attempt to load the library as a resource:\n"
                + "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: "
                + "cannot open shared object file: No such file or directory");
        String r = CudaProbe.linkageReason(e);
        assertTrue(r.startsWith("libcuda.so.1 not found (no NVIDIA driver)"), r);
        assertFalse(r.contains("\n"), r);

        // a second touch of JCudaDriver in the same JVM: the library name is only in the cause
        NoClassDefFoundError again = new NoClassDefFoundError("Could not initialize class jcuda.driver.JCudaDriver");
        again.initCause(new ExceptionInInitializerError("Exception " + e + " [in thread \"main\"]"));
        assertTrue(CudaProbe.linkageReason(again).startsWith("libcuda.so.1 not found"), CudaProbe.linkageReason(again));
    }

    @Test
    void driverErrorsAreExplained() {
        assertTrue(CudaProbe.cudaReason(new CudaException("CUDA_ERROR_NO_DEVICE")).startsWith("no CUDA device"));
        assertTrue(CudaProbe.cudaReason(new CudaException("CUDA_ERROR_INSUFFICIENT_DRIVER")).contains("too old"));
        assertTrue(CudaProbe.cudaReason(new CudaException("CUDA_ERROR_UNKNOWN")).contains("driver"));
    }
}
