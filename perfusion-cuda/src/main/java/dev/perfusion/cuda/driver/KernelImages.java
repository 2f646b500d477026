package dev.perfusion.cuda.driver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the compiled kernels live and which image of a module a device loads. {@code build-kernels.sh} writes,
 * for each {@code src/main/cuda/<module>.cu}, the resources {@code <module>.sm_80.cubin}, {@code .sm_90.cubin} and
 * {@code <module>.ptx} (compute_80) under {@link #RESOURCE_DIR}.
 *
 * <p>A cubin runs on devices of its major architecture with an equal or higher minor version (an sm_80 cubin
 * runs on sm_86 and sm_89 too, an sm_90 cubin on any 9.x), so a device of compute capability {@code M.m} tries,
 * in order: the shipped cubins {@code sm_Mk} with k ≤ m, highest first; then the PTX, which the driver compiles
 * for any newer architecture (nvcc 13 writes PTX ISA 9.0, which needs a CUDA 13 driver to JIT).
 */
final class KernelImages {
    /** Class-path folder of the kernel images. */
    static final String RESOURCE_DIR = "/dev/perfusion/cuda/kernels/";
    /** The architectures {@code build-kernels.sh} writes cubins for (compute capability ×10). */
    static final int[] CUBIN_ARCHS = {80, 90};

    private KernelImages() {
    }

    /** Resource names (without the folder) to try for {@code module} on a device of capability {@code cc}. */
    static List<String> candidates(String module, int cc) {
        List<String> names = new ArrayList<>();
        int major = cc / 10;
        for (int i = CUBIN_ARCHS.length - 1; i >= 0; i--) {
            int arch = CUBIN_ARCHS[i];
            if (arch / 10 == major && arch <= cc) {
                names.add(module + ".sm_" + arch + ".cubin");
            }
        }
        names.add(module + ".ptx");
        return names;
    }

    /** The bytes of a kernel resource, or null when it is not shipped. PTX gets the NUL terminator the driver needs. */
    static byte[] read(String name) {
        try (InputStream in = KernelImages.class.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) {
                return null;
            }
            byte[] bytes = in.readAllBytes();
            if (name.endsWith(".ptx")) {
                byte[] z = new byte[bytes.length + 1];
                System.arraycopy(bytes, 0, z, 0, bytes.length);
                return z;
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel resource " + RESOURCE_DIR + name, e);
        }
    }
}
