package dev.perfusion.cuda;

import dev.perfusion.tensor.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * A kernel of this module's {@code .cu} files, named once as a constant: {@code module} is the file stem and
 * {@code base} the C name, or the stem of a family of names that differ by a type suffix ({@link Variants}).
 * KernelEntriesTest reads every {@code KernelRef.of(...)} in the sources and checks that each name it expands to
 * is an {@code .entry} of the shipped PTX, so a typo fails on a machine without a GPU.
 *
 * @param module   the {@code .cu} file's stem, e.g. {@code elementwise}
 * @param base     the kernel name, or the stem its variants extend
 * @param variants which suffixes the kernel exists with
 */
record KernelRef(String module, String base, Variants variants) {

    /** The suffix families of kernel names. */
    enum Variants {
        /** The name as written. */
        NONE,
        /** {@code _f32}, {@code _f16}, {@code _bf16}: one kernel per floating storage type. */
        FLOAT_TYPES,
        /** {@code _b16}, {@code _b32}, {@code _b64}: one kernel per element width (dtype-agnostic copies). */
        WIDTHS,
        /** {@code _i32}, {@code _i64}: one kernel per index type. */
        INDEX_TYPES,
        /** {@code _S_D} for every pair of source and destination dtypes (f32, f16, bf16, i32, i64). */
        DTYPE_PAIRS;

        /** Every kernel name this family gives for {@code base}. */
        List<String> names(String base) {
            List<String> out = new ArrayList<>();
            switch (this) {
                case NONE -> out.add(base);
                case FLOAT_TYPES -> {
                    for (DType t : List.of(DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16)) {
                        out.add(base + "_" + suffix(t));
                    }
                }
                case WIDTHS -> {
                    for (String w : List.of("b16", "b32", "b64")) {
                        out.add(base + "_" + w);
                    }
                }
                case INDEX_TYPES -> {
                    out.add(base + "_i32");
                    out.add(base + "_i64");
                }
                case DTYPE_PAIRS -> {
                    for (DType s : DType.values()) {
                        for (DType d : DType.values()) {
                            out.add(base + "_" + suffix(s) + "_" + suffix(d));
                        }
                    }
                }
                default -> throw new AssertionError(this);
            }
            return out;
        }
    }

    /** A kernel with a single name. */
    static KernelRef of(String module, String name) {
        return new KernelRef(module, name, Variants.NONE);
    }

    /** A family of kernels {@code base_<suffix>}. */
    static KernelRef of(String module, String base, Variants variants) {
        return new KernelRef(module, base, variants);
    }

    /** The kernel name for a single-name kernel. */
    String name() {
        if (variants != Variants.NONE) {
            throw new IllegalStateException(module + "/" + base + " needs a type to pick one of its variants");
        }
        return base;
    }

    /** The kernel name for storage/index type {@code t} ({@code FLOAT_TYPES}, {@code INDEX_TYPES}, {@code WIDTHS}). */
    String name(DType t) {
        return switch (variants) {
            case FLOAT_TYPES, INDEX_TYPES -> base + "_" + suffix(t);
            case WIDTHS -> base + "_b" + 8 * t.byteSize();
            default -> throw new IllegalStateException(module + "/" + base + " is not a per-type family");
        };
    }

    /** The kernel name converting {@code from} to {@code to} ({@code DTYPE_PAIRS}). */
    String name(DType from, DType to) {
        if (variants != Variants.DTYPE_PAIRS) {
            throw new IllegalStateException(module + "/" + base + " is not a dtype-pair family");
        }
        return base + "_" + suffix(from) + "_" + suffix(to);
    }

    /** The type suffix used in kernel names: f32, f16, bf16, i32, i64. */
    static String suffix(DType t) {
        return switch (t) {
            case FLOAT32 -> "f32";
            case FLOAT16 -> "f16";
            case BFLOAT16 -> "bf16";
            case INT32 -> "i32";
            case INT64 -> "i64";
        };
    }
}
