package dev.perfusion.cuda;

import java.util.Arrays;

/**
 * The index maths the strided kernels receive: an iteration space (axis sizes, outermost first) and, per operand,
 * the element stride of each axis. {@link #collapse} drops size-1 axes and merges neighbouring axes that every
 * operand walks contiguously, so that most real layouts need only a few axes; the kernels take exactly
 * {@link #MAX_DIMS}, so the result is padded at the front with size 1 / stride 0.
 *
 * <p>Pure Java (no JCuda), so its rules are unit-tested without a GPU.
 *
 * @param dims    axis sizes, outermost first
 * @param strides one stride array per operand, each as long as {@code dims}
 */
record StridedLayout(long[] dims, long[][] strides) {
    /** Number of axes the kernels accept (PF_MAX_DIMS in common.cuh). */
    static final int MAX_DIMS = 6;

    /** Number of elements of the iteration space. */
    long count() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** Number of axes. */
    int rank() {
        return dims.length;
    }

    /**
     * Drops axes of size 1 and merges axis k into k+1 when, for every operand, stride[k] = stride[k+1]·dims[k+1].
     * The element order (row-major over {@code dims}) is unchanged.
     */
    static StridedLayout collapse(int[] dims, long[]... strides) {
        int ops = strides.length;
        long[] d = new long[dims.length];
        long[][] s = new long[ops][dims.length];
        int r = 0;
        for (int k = 0; k < dims.length; k++) {
            if (dims[k] == 1) {
                continue;
            }
            if (r > 0 && mergeable(d[r - 1], s, r - 1, dims[k], strides, k)) {
                // the previous (outer) axis continues this one: fold it in
                d[r - 1] *= dims[k];
                for (int o = 0; o < ops; o++) {
                    s[o][r - 1] = strides[o][k];
                }
                continue;
            }
            d[r] = dims[k];
            for (int o = 0; o < ops; o++) {
                s[o][r] = strides[o][k];
            }
            r++;
        }
        long[][] out = new long[ops][];
        for (int o = 0; o < ops; o++) {
            out[o] = Arrays.copyOf(s[o], r);
        }
        return new StridedLayout(Arrays.copyOf(d, r), out);
    }

    private static boolean mergeable(long outerSize, long[][] outerStrides, int outer, int innerSize,
                                     long[][] strides, int inner) {
        for (int o = 0; o < strides.length; o++) {
            if (outerStrides[o][outer] != strides[o][inner] * innerSize) {
                return false;
            }
        }
        return outerSize > 0;
    }

    /** The axis sizes padded at the front with 1 to {@link #MAX_DIMS}. */
    long[] paddedDims() {
        return pad(dims, 1);
    }

    /** Operand {@code o}'s strides padded at the front with 0 to {@link #MAX_DIMS}. */
    long[] paddedStrides(int o) {
        return pad(strides[o], 0);
    }

    /** True when this layout fits the kernels ({@link #rank()} ≤ {@link #MAX_DIMS}). */
    boolean fits() {
        return dims.length <= MAX_DIMS;
    }

    /**
     * Splits off the outermost axes so that the rest fits the kernels: returns the layout of the inner
     * {@link #MAX_DIMS} axes; the caller loops over the outer axes ({@link #outer()}) and offsets each operand.
     */
    StridedLayout inner() {
        if (fits()) {
            return this;
        }
        int lead = dims.length - MAX_DIMS;
        long[][] s = new long[strides.length][];
        for (int o = 0; o < strides.length; o++) {
            s[o] = Arrays.copyOfRange(strides[o], lead, dims.length);
        }
        return new StridedLayout(Arrays.copyOfRange(dims, lead, dims.length), s);
    }

    /** The outer axes that {@link #inner()} leaves to a host loop (empty when the layout fits). */
    StridedLayout outer() {
        int lead = Math.max(0, dims.length - MAX_DIMS);
        long[][] s = new long[strides.length][];
        for (int o = 0; o < strides.length; o++) {
            s[o] = Arrays.copyOfRange(strides[o], 0, lead);
        }
        return new StridedLayout(Arrays.copyOfRange(dims, 0, lead), s);
    }

    /** Operand {@code o}'s element offset of flat index {@code i} of this layout. */
    long offset(int o, long i) {
        long off = 0;
        for (int k = dims.length - 1; k >= 0; k--) {
            off += (i % dims[k]) * strides[o][k];
            i /= dims[k];
        }
        return off;
    }

    private static long[] pad(long[] v, long fill) {
        if (v.length > MAX_DIMS) {
            throw new IllegalStateException("layout of " + v.length + " axes exceeds " + MAX_DIMS);
        }
        long[] out = new long[MAX_DIMS];
        Arrays.fill(out, fill);
        System.arraycopy(v, 0, out, MAX_DIMS - v.length, v.length);
        return out;
    }

    /** Row-major (contiguous) strides of {@code dims}. */
    static long[] contiguous(int[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int k = dims.length - 1; k >= 0; k--) {
            s[k] = acc;
            acc *= dims[k];
        }
        return s;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("StridedLayout" + Arrays.toString(dims));
        for (long[] s : strides) {
            b.append(' ').append(Arrays.toString(s));
        }
        return b.toString();
    }
}
