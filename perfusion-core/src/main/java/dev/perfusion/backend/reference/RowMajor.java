package dev.perfusion.backend.reference;

import dev.perfusion.tensor.Shape;

/**
 * Index arithmetic for row-major arrays, shared by the reference ops. Every strided access in the reference
 * backend goes through {@link #offsets}: one flat source index per destination element, computed by an
 * odometer over the destination coordinates. It costs an int per element, which the oracle can afford.
 */
final class RowMajor {
    private RowMajor() {
    }

    /**
     * For each coordinate of {@code dims} in row-major order, Σₖ coord[k]·strides[k]: the flat index of that element
     * in a source laid out with {@code strides} (a stride of 0 repeats the source along that axis).
     */
    static int[] offsets(int[] dims, long[] strides) {
        long count = 1;
        for (int d : dims) {
            count *= d;
        }
        int[] out = new int[Math.toIntExact(count)];
        int[] coord = new int[dims.length];
        long offset = 0;
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.toIntExact(offset);
            // advance the odometer: bump the last axis, carry into the ones before it
            for (int k = dims.length - 1; k >= 0; k--) {
                coord[k]++;
                offset += strides[k];
                if (coord[k] < dims[k]) {
                    break;
                }
                offset -= strides[k] * dims[k];
                coord[k] = 0;
            }
        }
        return out;
    }

    /**
     * Strides that read {@code src} as if it had been broadcast (NumPy rules) to {@code out}: axes aligned from the
     * right, and 0 on every axis where {@code src} is missing or has size 1. The caller has checked that the shapes
     * broadcast.
     */
    static long[] broadcastStrides(Shape src, Shape out) {
        long[] srcStrides = src.strides();
        long[] strides = new long[out.rank()];
        int lead = out.rank() - src.rank();
        for (int k = 0; k < out.rank(); k++) {
            int s = k - lead;
            strides[k] = s < 0 || src.dim(s) == 1 ? 0 : srcStrides[s];
        }
        return strides;
    }

    /** True when {@code src} broadcasts (NumPy rules) to exactly {@code target}. */
    static boolean broadcastsTo(Shape src, Shape target) {
        if (src.rank() > target.rank()) {
            return false;
        }
        int lead = target.rank() - src.rank();
        for (int k = 0; k < src.rank(); k++) {
            int d = src.dim(k);
            if (d != 1 && d != target.dim(k + lead)) {
                return false;
            }
        }
        return true;
    }

    /** Product of {@code dims[from..to)}: the number of elements in that block of axes. */
    static int product(int[] dims, int from, int to) {
        long p = 1;
        for (int k = from; k < to; k++) {
            p *= dims[k];
        }
        return Math.toIntExact(p);
    }

    /** The first {@code n} axes of {@code shape}, as a shape. */
    static Shape leading(Shape shape, int n) {
        int[] dims = new int[n];
        for (int k = 0; k < n; k++) {
            dims[k] = shape.dim(k);
        }
        return Shape.of(dims);
    }

    /** {@code shape} with {@code extra} axes appended. */
    static Shape append(Shape shape, int... extra) {
        int[] dims = new int[shape.rank() + extra.length];
        for (int k = 0; k < shape.rank(); k++) {
            dims[k] = shape.dim(k);
        }
        System.arraycopy(extra, 0, dims, shape.rank(), extra.length);
        return Shape.of(dims);
    }
}
