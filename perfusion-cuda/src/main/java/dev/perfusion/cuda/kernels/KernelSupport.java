package dev.perfusion.cuda.kernels;

import dev.perfusion.tensor.DType;

/**
 * Checks and naming shared by the launchers of this package: the storage types the kernels are compiled for, and
 * the kernel-name suffix of each ({@code f32}, {@code f16}, {@code bf16}).
 */
final class KernelSupport {
    /** Threads per block of the 1-D element-wise kernels (conv.cu). */
    static final int ELEMENTWISE_THREADS = 256;
    /** Cap on the blocks of a grid-stride kernel: enough to fill any GPU many times over. */
    static final int MAX_ELEMENTWISE_BLOCKS = 65535 * 16;
    /** Grid y and z limit of every architecture. */
    static final int MAX_GRID_YZ = 65535;
    /** Dynamic shared memory a kernel may use without raising its limit. */
    static final int DEFAULT_SHARED_LIMIT = 48 * 1024;

    private KernelSupport() {
    }

    /** The kernel-name suffix for {@code dtype}, or an {@link IllegalArgumentException} naming {@code op}. */
    static String suffix(String op, DType dtype) {
        if (dtype == null) {
            throw new IllegalArgumentException(op + ": dtype is null");
        }
        return switch (dtype) {
            case FLOAT32 -> "f32";
            case FLOAT16 -> "f16";
            case BFLOAT16 -> "bf16";
            default -> throw new IllegalArgumentException(op + ": dtype " + dtype
                    + " is not supported (FLOAT32, FLOAT16 or BFLOAT16)");
        };
    }

    /** Throws an {@link IllegalArgumentException} "{@code op}: {@code what} is null" when {@code x} is null. */
    static void notNull(String op, String what, Object x) {
        if (x == null) {
            throw new IllegalArgumentException(op + ": " + what + " is null");
        }
    }

    /** Throws unless {@code v ≥ min}. */
    static void atLeast(String op, String what, long v, long min) {
        if (v < min) {
            throw new IllegalArgumentException(op + ": " + what + " = " + v + " must be >= " + min);
        }
    }

    /** ceil(a / b) for a ≥ 0, b > 0. */
    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /** Blocks of {@link #ELEMENTWISE_THREADS} for a grid-stride loop over {@code total} elements (at least 1). */
    static int elementwiseBlocks(long total) {
        return (int) Math.max(1, Math.min(ceilDiv(total, ELEMENTWISE_THREADS), MAX_ELEMENTWISE_BLOCKS));
    }
}
