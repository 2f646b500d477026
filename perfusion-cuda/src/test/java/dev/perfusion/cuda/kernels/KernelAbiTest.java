package dev.perfusion.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.DType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The launchers against the shipped PTX, on the CPU: every kernel name a launcher can choose exists in its module,
 * and the parameter types the launcher passes (pointer / long long = .u64, int = .u32, float = .f32) match the
 * kernel's parameter list one by one. A mismatch here would only show as garbage or a crash on a GPU.
 */
@Tag("unit")
class KernelAbiTest {
    private static final DType[] DTYPES = {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16};
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+\\.(\\w+)");

    /** Kernel name → parameter types ('u' for .u64, 'i' for .u32/.s32, 'f' for .f32) of one PTX module. */
    static Map<String, String> entries(String module) {
        String path = "/dev/perfusion/cuda/kernels/" + module + ".ptx";
        String ptx;
        try (InputStream in = KernelAbiTest.class.getResourceAsStream(path)) {
            assertNotNull(in, path + " is not on the class path: run perfusion-cuda/build-kernels.sh");
            ptx = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + path, e);
        }
        Map<String, String> out = new HashMap<>();
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) {
            StringBuilder sig = new StringBuilder();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) {
                sig.append(switch (p.group(1)) {
                    case "u64", "s64", "b64" -> 'u';
                    case "u32", "s32", "b32" -> 'i';
                    case "f32" -> 'f';
                    default -> '?';
                });
            }
            out.put(m.group(1), sig.toString());
        }
        return out;
    }

    /** The launcher's Args signature in PTX terms: pointers and long longs are both .u64. */
    static String ptxView(Args a) {
        return a.signature().replace('p', 'u').replace('l', 'u');
    }

    private static void check(Map<String, String> module, String kernel, Args args) {
        String sig = module.get(kernel);
        assertNotNull(sig, "kernel " + kernel + " is not in the PTX (have " + module.keySet().size() + " kernels)");
        assertEquals(sig, ptxView(args), "parameter types of " + kernel + " (launcher " + args.signature() + ")");
    }

    @Test
    void gemmKernelsExistWithTheLaunchersParameters() {
        Map<String, String> gemm = entries(Gemm.MODULE);
        Args args = Gemm.args(null, null, null, 1, 1, 1, 1, false, false, 0, 0, 0);
        List<String> seen = new ArrayList<>();
        for (DType dt : DTYPES) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    for (int m : new int[] {7, 4096}) {
                        for (int batch : new int[] {1, 64}) {
                            String kernel = Gemm.plan(dt, batch, m, 4096, 64, ta, tb).kernel();
                            check(gemm, kernel, args);
                            seen.add(kernel);
                        }
                    }
                }
            }
        }
        // both tiles of every dtype and every transpose combination of the tensor-core kernels
        assertEquals(2 + 2 * 2 * 4, seen.stream().distinct().count(), seen.toString());
    }

    @Test
    void attentionKernelsExistWithTheLaunchersParameters() {
        Map<String, String> attn = entries(FlashAttention.MODULE);
        Args fwd = FlashAttention.forwardArgs(null, null, null, null, null, null, 1, 1, 1, 1, 1, false, 1f);
        Args pre = FlashAttention.preArgs(null, null, null, 1, 1);
        Args dkdv = FlashAttention.dkdvArgs(null, null, null, null, null, null, null, null, null, 1, 1, 1, 1, 1,
                false, 1f);
        Args dq = FlashAttention.dqArgs(null, null, null, null, null, null, null, null, 1, 1, 1, 1, 1, false, 1f);
        int[][] dims = {{40, 40}, {64, 64}, {80, 80}, {160, 160}, {24, 24}, {32, 48}, {100, 100}, {200, 136}};
        for (DType dt : DTYPES) {
            String s = KernelSupport.suffix("test", dt);
            check(attn, "attn_bwd_pre_" + s, pre);
            for (int[] dd : dims) {
                String cfg = FlashAttention.config(dd[0], dd[1]).suffix();
                check(attn, "attn_fwd_" + s + "_" + cfg, fwd);
                check(attn, "attn_bwd_dkdv_" + s + "_" + cfg, dkdv);
                check(attn, "attn_bwd_dq_" + s + "_" + cfg, dq);
            }
        }
    }

    @Test
    void convKernelsExistWithTheLaunchersParameters() {
        Map<String, String> conv = entries(Convolution.MODULE);
        Convolution.Geometry g = Convolution.Geometry.of("test", 1, 3, 8, 8, 4, 3, 3, 1, 1);
        for (DType dt : DTYPES) {
            String s = KernelSupport.suffix("test", dt);
            check(conv, "conv_im2col_" + s, Convolution.columnArgs(null, null, 1, g, 1, 1));
            check(conv, "conv_col2im_" + s, Convolution.columnArgs(null, null, 1, g, 1, 1));
            check(conv, "conv_bias_add_" + s, Convolution.biasArgs(null, null, 1, 1, 1));
            check(conv, "conv_to_cn_" + s, Convolution.toCnArgs(null, null, 1, 1, 1));
            check(conv, "conv_sum_chunks_" + s, Convolution.sumArgs(null, null, 1, 1));
        }
    }

    @Test
    void everyShippedHotKernelIsReachable() {
        // the reverse direction: no kernel in these modules is dead code the launchers cannot reach
        Map<String, String> gemm = entries(Gemm.MODULE);
        assertEquals(18, gemm.size(), gemm.keySet().toString());
        Map<String, String> attn = entries(FlashAttention.MODULE);
        assertEquals(3 * (1 + 6 * 3), attn.size(), attn.keySet().toString());
        Map<String, String> conv = entries(Convolution.MODULE);
        assertEquals(3 * 5, conv.size(), conv.keySet().toString());
        assertTrue(attn.containsKey("attn_fwd_bf16_gen256"));
    }
}
