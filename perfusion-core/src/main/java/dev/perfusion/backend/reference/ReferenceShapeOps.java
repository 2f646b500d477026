package dev.perfusion.backend.reference;

import static dev.perfusion.backend.reference.ReferenceBackend.axis;
import static dev.perfusion.backend.reference.ReferenceBackend.fail;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Reference copies that rearrange elements without arithmetic: permute, slice, concat, pad and expand. They work
 * on every dtype. Each computes, with {@link RowMajor#offsets}, the source index of every output element and
 * gathers.
 */
final class ReferenceShapeOps {
    private final ReferenceBackend backend;

    ReferenceShapeOps(ReferenceBackend backend) {
        this.backend = backend;
    }

    /** y[i_{p0}, i_{p1}, …] = x[i0, i1, …]: output axis k is input axis perm[k]. */
    Tensor permute(Tensor x, int... perm) {
        backend.data("permute", "x", x);
        int rank = x.rank();
        if (perm.length != rank) {
            throw fail("permute", "permutation " + Arrays.toString(perm) + " has " + perm.length
                    + " axes, tensor " + x.shape() + " has " + rank);
        }
        long[] inStrides = x.shape().strides();
        int[] outDims = new int[rank];
        long[] strides = new long[rank];
        boolean[] used = new boolean[rank];
        for (int k = 0; k < rank; k++) {
            int a = axis("permute", x.shape(), perm[k]);
            if (used[a]) {
                throw fail("permute", Arrays.toString(perm) + " is not a permutation of the axes of " + x.shape());
            }
            used[a] = true;
            outDims[k] = x.dim(a);
            strides[k] = inStrides[a];
        }
        return gather(x, Shape.of(outDims), RowMajor.offsets(outDims, strides), 0);
    }

    /** y = x[…, start:end, …] along {@code axis}, with 0 ≤ start ≤ end ≤ size. */
    Tensor slice(Tensor x, int axis, int start, int end) {
        backend.data("slice", "x", x);
        int a = axis("slice", x.shape(), axis);
        int size = x.dim(a);
        if (start < 0 || start > end || end > size) {
            throw fail("slice", "range [" + start + ", " + end + ") is not within axis " + axis + " of " + x.shape());
        }
        long[] strides = x.shape().strides();
        Shape out = x.shape().with(a, end - start);
        return gather(x, out, RowMajor.offsets(out.dims(), strides), Math.toIntExact(start * strides[a]));
    }

    /** y = the tensors joined along {@code axis}. */
    Tensor concat(List<Tensor> xs, int axis) {
        if (xs.isEmpty()) {
            throw fail("concat", "no tensors to join");
        }
        Tensor first = xs.get(0);
        int a = axis("concat", first.shape(), axis);
        int total = 0;
        for (int t = 0; t < xs.size(); t++) {
            Tensor x = xs.get(t);
            backend.data("concat", "xs[" + t + "]", x);
            if (x.dtype() != first.dtype()) {
                throw fail("concat", "xs[" + t + "] is " + x.dtype() + ", xs[0] is " + first.dtype());
            }
            if (x.rank() != first.rank() || !x.shape().with(a, 0).equals(first.shape().with(a, 0))) {
                throw fail("concat", "xs[" + t + "] " + x.shape() + " does not match xs[0] " + first.shape()
                        + " outside axis " + axis);
            }
            total += x.dim(a);
        }
        Shape out = first.shape().with(a, total);
        int[] dims = out.dims();
        int outer = RowMajor.product(dims, 0, a);
        int inner = RowMajor.product(dims, a + 1, dims.length);
        Object dst = newArray(first.dtype(), out.numelInt());
        // each outer index holds one block per input, one after the other
        int pos = 0;
        for (int o = 0; o < outer; o++) {
            for (Tensor x : xs) {
                int block = x.dim(a) * inner;
                System.arraycopy(x.handle(), o * block, dst, pos, block);
                pos += block;
            }
        }
        return backend.wrap(dst, first.dtype(), out);
    }

    /** y = x with {@code before[i]} and {@code after[i]} elements of {@code value} on axis i. */
    Tensor pad(Tensor x, int[] before, int[] after, float value) {
        Object src = backend.data("pad", "x", x);
        int rank = x.rank();
        if (before.length != rank || after.length != rank) {
            throw fail("pad", "before " + Arrays.toString(before) + " and after " + Arrays.toString(after)
                    + " need one entry per axis of " + x.shape());
        }
        int[] outDims = x.shape().dims();
        for (int k = 0; k < rank; k++) {
            if (before[k] < 0 || after[k] < 0) {
                throw fail("pad", "negative padding before " + Arrays.toString(before) + " after "
                        + Arrays.toString(after));
            }
            outDims[k] += before[k] + after[k];
        }
        Shape out = Shape.of(outDims);
        long[] outStrides = out.strides();
        long corner = 0; // where x[0, 0, …] lands in the output
        for (int k = 0; k < rank; k++) {
            corner += before[k] * outStrides[k];
        }
        int[] target = RowMajor.offsets(x.shape().dims(), outStrides);
        int n = out.numelInt();
        DType dt = x.dtype();
        if (!dt.isFloating() && value != Math.rint(value)) {
            throw fail("pad", "value " + value + " is not a whole number for an " + dt + " tensor");
        }
        Object dst;
        if (src instanceof float[] s) {
            float[] d = new float[n];
            Arrays.fill(d, HalfFloats.round(value, dt));
            for (int i = 0; i < s.length; i++) {
                d[(int) (target[i] + corner)] = s[i];
            }
            dst = d;
        } else if (src instanceof int[] s) {
            int[] d = new int[n];
            Arrays.fill(d, (int) value);
            for (int i = 0; i < s.length; i++) {
                d[(int) (target[i] + corner)] = s[i];
            }
            dst = d;
        } else {
            long[] s = (long[]) src;
            long[] d = new long[n];
            Arrays.fill(d, (long) value);
            for (int i = 0; i < s.length; i++) {
                d[(int) (target[i] + corner)] = s[i];
            }
            dst = d;
        }
        return backend.wrap(dst, dt, out);
    }

    /** y = x broadcast to {@code shape}, materialised. */
    Tensor expand(Tensor x, Shape shape) {
        backend.data("expand", "x", x);
        if (!RowMajor.broadcastsTo(x.shape(), shape)) {
            throw fail("expand", "cannot broadcast " + x.shape() + " to " + shape);
        }
        return gather(x, shape, RowMajor.offsets(shape.dims(), RowMajor.broadcastStrides(x.shape(), shape)), 0);
    }

    private static Object newArray(DType dtype, int n) {
        return switch (dtype) {
            case FLOAT32, FLOAT16, BFLOAT16 -> new float[n];
            case INT32 -> new int[n];
            case INT64 -> new long[n];
        };
    }

    /** y[i] = x[base + index[i]] for a tensor of any dtype, shaped {@code out}. */
    private Tensor gather(Tensor x, Shape out, int[] index, int base) {
        Object src = x.handle();
        Object dst;
        if (src instanceof float[] s) {
            float[] d = new float[index.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = s[base + index[i]];
            }
            dst = d;
        } else if (src instanceof int[] s) {
            int[] d = new int[index.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = s[base + index[i]];
            }
            dst = d;
        } else {
            long[] s = (long[]) src;
            long[] d = new long[index.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = s[base + index[i]];
            }
            dst = d;
        }
        return backend.wrap(dst, x.dtype(), out);
    }
}
