package dev.perfusion.bench.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Param;

/**
 * The GPU benchmarks' FLOP counts (which turn their times into TFLOP/s later) and shape names, on the CPU; and
 * that without a GPU their setup fails with a message that says why.
 */
@Tag("unit")
class CudaBenchFlopsTest {

    @Test
    void gemmFlops() {
        assertEquals(2L * 8192 * 320 * 320, CudaGemmBench.flops("attn_proj_L0"));
        assertEquals(2L * 8192 * 1280 * 5120, CudaGemmBench.flops("m8192_k1280_n5120"));
        assertEquals(2L * 154 * 768 * 1280, CudaGemmBench.flops("cross_kv_L2"));
        assertThrows(IllegalArgumentException.class, () -> CudaGemmBench.shape("nope"));
    }

    @Test
    void attentionFlops() {
        // 4·B·H·Sq·Sk·d with B = 2, H = 8 (the yardstick's convention)
        assertEquals(4L * 2 * 8 * 4096 * 4096 * 40, CudaAttentionBench.forwardFlops("self_q4096_d40"));
        assertEquals(4L * 2 * 8 * 1024 * 77 * 80, CudaAttentionBench.forwardFlops("cross_q1024_d80"));
        assertEquals(CudaAttentionBench.forwardFlops("self_q256_d160") * 7 / 2,
                CudaAttentionBench.forwardBackwardFlops("self_q256_d160"));
        assertEquals(new CudaAttentionBench.Shape(16, 64, 77, 160), CudaAttentionBench.shape("cross_q64_d160"));
        assertThrows(IllegalArgumentException.class, () -> CudaAttentionBench.shape("self_4096_40"));
    }

    @Test
    void convFlops() {
        assertEquals(2L * 2 * 320 * 64 * 64 * 320 * 9, CudaConvBench.forwardFlops("res_L0"));
        assertEquals(2L * 2 * 320 * 32 * 32 * 320 * 9, CudaConvBench.forwardFlops("down_L0_s2"));
        assertEquals(2 * CudaConvBench.forwardFlops("res_L3"), CudaConvBench.forwardDgradFlops("res_L3"));
        assertEquals(32, CudaConvBench.shape("down_L0_s2").out());
    }

    @Test
    void everyParameterValueIsAKnownShape() throws Exception {
        for (String v : params(CudaGemmBench.class, "layer")) {
            assertTrue(CudaGemmBench.flops(v) > 0, v);
        }
        for (String v : params(CudaAttentionBench.class, "layer")) {
            assertTrue(CudaAttentionBench.forwardFlops(v) > 0, v);
        }
        for (String v : params(CudaConvBench.class, "layer")) {
            assertTrue(CudaConvBench.forwardFlops(v) > 0, v);
        }
        for (Class<?> c : new Class<?>[] {CudaGemmBench.class, CudaAttentionBench.class, CudaConvBench.class}) {
            for (String v : params(c, "dtype")) {
                CudaBenchSupport.dtype(v);
            }
        }
    }

    @Test
    void withoutAGpuSetupSaysWhy() {
        if (dev.perfusion.cuda.CudaProbe.available()) {
            return; // the GPU machine: nothing to check here
        }
        CudaGemmBench b = new CudaGemmBench();
        b.dtype = "FLOAT16";
        b.layer = "attn_proj_L0";
        IllegalStateException e = assertThrows(IllegalStateException.class, b::setup);
        assertTrue(e.getMessage().contains("needs a CUDA GPU"), e.getMessage());
        assertTrue(e.getMessage().contains("CUDA unavailable"), e.getMessage());
    }

    private static String[] params(Class<?> bench, String field) throws NoSuchFieldException {
        Field f = bench.getField(field);
        return f.getAnnotation(Param.class).value();
    }
}
