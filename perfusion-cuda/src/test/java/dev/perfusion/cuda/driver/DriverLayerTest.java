package dev.perfusion.cuda.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import jcuda.driver.CUresult;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The driver layer's rules that need no GPU: size classes, image choice, launch geometry, messages. */
@Tag("unit")
class DriverLayerTest {

    @Test
    void sizeClassesRoundUpWithBoundedSlack() {
        assertEquals(512, CachingAllocator.blockSize(0));
        assertEquals(512, CachingAllocator.blockSize(1));
        assertEquals(512, CachingAllocator.blockSize(512));
        assertEquals(1024, CachingAllocator.blockSize(513));
        assertEquals(1 << 20, CachingAllocator.blockSize(1 << 20));
        for (long bytes : new long[] {1, 777, 4096, 100_000, (1 << 20) + 1, 3_000_000, 123_456_789L, 5L << 30}) {
            long block = CachingAllocator.blockSize(bytes);
            assertTrue(block >= bytes, bytes + " -> " + block);
            assertTrue(block % 512 == 0, bytes + " -> " + block);
            if (bytes > 4096) {
                assertTrue(block <= bytes * 1.125 + 1, "slack above 12.5% for " + bytes + " -> " + block);
            }
            assertEquals(block, CachingAllocator.blockSize(block), "a block size is its own class");
        }
        assertThrows(IllegalArgumentException.class, () -> CachingAllocator.blockSize(-1));
    }

    @Test
    void imagesArePickedByComputeCapability() {
        assertEquals(List.of("m.sm_90.cubin", "m.ptx"), KernelImages.candidates("m", 90));
        // Ada and GA10x run the sm_80 cubin (same major version)
        assertEquals(List.of("m.sm_80.cubin", "m.ptx"), KernelImages.candidates("m", 89));
        assertEquals(List.of("m.sm_80.cubin", "m.ptx"), KernelImages.candidates("m", 86));
        assertEquals(List.of("m.sm_80.cubin", "m.ptx"), KernelImages.candidates("m", 80));
        // Blackwell and anything newer: only the PTX (JITed by a CUDA 13 driver)
        assertEquals(List.of("m.ptx"), KernelImages.candidates("m", 100));
        assertEquals(List.of("m.ptx"), KernelImages.candidates("m", 120));
        assertEquals(List.of("m.ptx"), KernelImages.candidates("m", 75));
    }

    @Test
    void shippedImagesAreReadableAndPtxIsNulTerminated() {
        byte[] ptx = KernelImages.read("elementwise.ptx");
        assertNotNull(ptx, "elementwise.ptx is not on the class path: run perfusion-cuda/build-kernels.sh");
        assertEquals(0, ptx[ptx.length - 1]);
        assertNotNull(KernelImages.read("elementwise.sm_90.cubin"));
        assertNull(KernelImages.read("no-such-module.ptx"));
    }

    @Test
    void launchGeometryIsChecked() {
        int lim = CudaKernel.STATIC_SHARED_LIMIT;
        assertNull(CudaKernel.checkGeometry(Dim3.of(1), Dim3.of(256), 0, lim));
        assertNull(CudaKernel.checkGeometry(Dim3.of(Integer.MAX_VALUE, 65535, 65535), Dim3.of(32, 32), lim, lim));
        assertNotNull(CudaKernel.checkGeometry(Dim3.of(0), Dim3.of(256), 0, lim));
        assertNotNull(CudaKernel.checkGeometry(Dim3.of(1, 65536), Dim3.of(256), 0, lim));
        assertNotNull(CudaKernel.checkGeometry(Dim3.of(1), Dim3.of(1025), 0, lim));
        assertNotNull(CudaKernel.checkGeometry(Dim3.of(1), Dim3.of(64, 32), 0, lim));
        assertNotNull(CudaKernel.checkGeometry(Dim3.of(1), Dim3.of(1, 1, 65), 0, lim));
        assertNotNull(CudaKernel.checkGeometry(Dim3.of(1), Dim3.of(0), 0, lim));
        assertNotNull(CudaKernel.checkGeometry(Dim3.of(1), Dim3.of(32), -1, lim));
        String big = CudaKernel.checkGeometry(Dim3.of(1), Dim3.of(32), lim + 1, lim);
        assertTrue(big.contains("requireDynamicShared"), big);
        assertEquals("(3,2,1)", Dim3.of(3, 2).toString());
        assertEquals(6L * Integer.MAX_VALUE, Dim3.of(Integer.MAX_VALUE, 3, 2).volume());
    }

    @Test
    void driverErrorsNameTheCallTheResultAndTheContext() {
        CudaDriverException e = new CudaDriverException("cuLaunchKernel", CUresult.CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES,
                "kernel norm/groupnorm_fwd_f32 grid (64,1,1) block (1024,1,1) shared 0 bytes");
        assertTrue(e.getMessage().startsWith("cuLaunchKernel failed with CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"),
                e.getMessage());
        assertTrue(e.getMessage().contains("groupnorm_fwd_f32 grid (64,1,1) block (1024,1,1)"), e.getMessage());
        assertEquals("cuLaunchKernel", e.call());
        assertEquals(CUresult.CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, e.result());
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", CudaDriverException.resultName(CUresult.CUDA_ERROR_OUT_OF_MEMORY));
    }

    @Test
    void kernelArgsDescribeTheirValues() {
        KernelArgs a = KernelArgs.create().ptr(null).i32(3).i64(1L << 40).f32(0.5f).i64s(1, 2);
        assertEquals(6, a.size());
        assertEquals("(ptr, 3, 1099511627776, 0.5, 1, 2)", a.toString());
    }
}
