package dev.perfusion.tensor;

/**
 * Element types a {@link Tensor} can store. CPU backends compute in {@link #FLOAT32}; the half types are
 * storage formats (weights loaded from fp16/bf16 checkpoints) that are widened before arithmetic.
 */
public enum DType {
    FLOAT32(4, "F32", true),
    FLOAT16(2, "F16", true),
    BFLOAT16(2, "BF16", true),
    INT32(4, "I32", false),
    INT64(8, "I64", false);

    private final int byteSize;
    private final String safetensorsName;
    private final boolean floating;

    DType(int byteSize, String safetensorsName, boolean floating) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The dtype string used in safetensors headers ({@code F32}, {@code F16}, {@code BF16}, {@code I32}, {@code I64}). */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** True for the floating-point types. */
    public boolean isFloating() {
        return floating;
    }

    /**
     * The dtype for a safetensors dtype string.
     *
     * @throws IllegalArgumentException for a dtype this library does not support (e.g. {@code F64}, {@code U8})
     */
    public static DType fromSafetensorsName(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported safetensors dtype '" + name
                + "' (supported: F32, F16, BF16, I32, I64)");
    }
}
