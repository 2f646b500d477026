package dev.perfusion.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Checks on a real GPU (tier {@code cuda}). Without one, every test is reported as skipped with the probe's
 * reason, never as passed.
 */
@Tag("cuda")
class CudaProbeDeviceTest {

    // per test rather than @BeforeAll: surefire counts a class-level assumption failure as 0 tests run,
    // while a per-test one shows each test as skipped, with the reason in the report
    @BeforeEach
    void needsAGpu() {
        assumeTrue(CudaProbe.available(), () -> "no usable GPU: " + CudaProbe.summary());
    }

    @Test
    void findsADeviceWithTensorCores() {
        assertFalse(CudaProbe.devices().isEmpty(), CudaProbe.summary());
        // sm_75 (Turing) is the oldest architecture nvcc 13 targets (engine notes §5)
        assertTrue(CudaProbe.devices().stream().anyMatch(d -> d.computeCapability() >= 7.5), CudaProbe.summary());
        assertTrue(CudaProbe.driverVersion() > 0, CudaProbe.summary());
    }

    @Test
    void deviceNamesAndMemoryAreReported() {
        for (CudaProbe.Device d : CudaProbe.devices()) {
            assertFalse(d.name().isBlank(), d.toString());
            assertTrue(d.totalMemoryBytes() > 0, d.toString());
        }
    }

    @Test
    void providerIsAvailableAndCreatesTheCudaBackend() {
        assertTrue(new CudaBackendProvider().unavailableReason().isEmpty(),
                () -> new CudaBackendProvider().unavailableReason().orElse(""));
        try (Backend b = Backends.create("cuda")) {
            assertEquals("cuda", b.name());
            assertTrue(b instanceof CudaBackend, b.toString());
        }
        try (Backend b = Backends.create("auto")) {
            assertEquals("cuda", b.name(), "auto picks CUDA when a GPU is there");
        }
    }
}
