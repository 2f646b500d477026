package dev.perfusion.backend.nd4j;

import static dev.perfusion.backend.nd4j.Nd4jArrays.alloc;
import static dev.perfusion.backend.nd4j.Nd4jArrays.dataType;
import static dev.perfusion.backend.nd4j.Nd4jArrays.dims;
import static dev.perfusion.backend.nd4j.Nd4jBackend.axis;
import static dev.perfusion.backend.nd4j.Nd4jBackend.fail;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The shape ops of {@link Nd4jBackend} (reshape, permute, slice, concat, pad, expand), for every dtype. Only reshape
 * (and the identity cases) share memory; the others write a fresh c-order array, so that every handle stays
 * contiguous for the ops that read it.
 */
final class Nd4jShapes {
    private final Nd4jBackend b;

    Nd4jShapes(Nd4jBackend backend) {
        this.b = backend;
    }

    Tensor reshape(Tensor x, Shape shape) {
        String op = "reshape";
        INDArray a = b.in(op, "x", x);
        if (shape == null || shape.numel() != x.numel()) {
            throw fail(op, "cannot reshape " + x.shape() + " (" + x.numel() + " elements) to " + shape
                    + (shape == null ? "" : " (" + shape.numel() + " elements)"));
        }
        if (shape.equals(x.shape())) {
            return b.shared(x, a, shape);
        }
        if (x.numel() == 0) {
            return b.owned(alloc(a.dataType(), dims(shape)), x.dtype(), shape);
        }
        INDArray v = a.reshape('c', dims(shape));
        if (v == a || v.isView() || v.data().address() == a.data().address()) {
            return b.shared(x, v, shape);
        }
        return b.owned(v, x.dtype(), shape); // ND4J copied (not expected for our c-contiguous handles)
    }

    Tensor permute(Tensor x, int... perm) {
        String op = "permute";
        INDArray a = b.in(op, "x", x);
        int rank = x.rank();
        if (perm == null || perm.length != rank) {
            throw fail(op, "permutation " + Arrays.toString(perm) + " does not have one entry per axis of "
                    + x.shape());
        }
        int[] p = new int[rank];
        int[] outDims = new int[rank];
        boolean[] used = new boolean[rank];
        boolean identity = true;
        for (int k = 0; k < rank; k++) {
            int ax = axis(op, x.shape(), perm[k]);
            if (used[ax]) {
                throw fail(op, Arrays.toString(perm) + " is not a permutation of the axes of " + x.shape());
            }
            used[ax] = true;
            p[k] = ax;
            outDims[k] = x.dim(ax);
            identity &= ax == k;
        }
        Shape out = Shape.of(outDims);
        if (identity) {
            return b.shared(x, a, out);
        }
        if (x.numel() == 0) {
            return b.owned(alloc(a.dataType(), dims(out)), x.dtype(), out);
        }
        return b.owned(a.permute(p).dup('c'), x.dtype(), out);
    }

    Tensor slice(Tensor x, int axis, int start, int end) {
        String op = "slice";
        INDArray a = b.in(op, "x", x);
        int k = axis(op, x.shape(), axis);
        int size = x.dim(k);
        if (start < 0 || start > end || end > size) {
            throw fail(op, "range [" + start + ", " + end + ") is not within axis " + axis + " of " + x.shape());
        }
        Shape out = x.shape().with(k, end - start);
        if (start == 0 && end == size) {
            return b.shared(x, a, out);
        }
        if (out.numel() == 0) {
            return b.owned(alloc(a.dataType(), dims(out)), x.dtype(), out);
        }
        INDArrayIndex[] idx = new INDArrayIndex[x.rank()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i == k ? NDArrayIndex.interval(start, end) : NDArrayIndex.all();
        }
        return b.owned(a.get(idx).dup('c'), x.dtype(), out);
    }

    Tensor concat(List<Tensor> xs, int axis) {
        String op = "concat";
        if (xs == null || xs.isEmpty()) {
            throw fail(op, "no tensors to join");
        }
        Tensor first = xs.get(0);
        b.in(op, "xs[0]", first);
        int k = axis(op, first.shape(), axis);
        int total = 0;
        INDArray[] parts = new INDArray[xs.size()];
        int np = 0;
        for (int t = 0; t < xs.size(); t++) {
            Tensor x = xs.get(t);
            INDArray a = b.in(op, "xs[" + t + "]", x);
            if (x.dtype() != first.dtype()) {
                throw fail(op, "xs[" + t + "] is " + x.dtype() + ", xs[0] is " + first.dtype());
            }
            if (x.rank() != first.rank() || !x.shape().with(k, 0).equals(first.shape().with(k, 0))) {
                throw fail(op, "xs[" + t + "] " + x.shape() + " does not match xs[0] " + first.shape()
                        + " outside axis " + axis);
            }
            total += x.dim(k);
            if (x.numel() > 0) {
                parts[np++] = a; // ND4J's concat rejects empty pieces; they add nothing
            }
        }
        Shape out = first.shape().with(k, total);
        if (np == 0) {
            return b.owned(alloc(dataType(first.dtype()), dims(out)), first.dtype(), out);
        }
        if (np == 1) {
            return b.owned(parts[0].dup('c'), first.dtype(), out);
        }
        return b.owned(Nd4j.concat(k, Arrays.copyOf(parts, np)), first.dtype(), out);
    }

    Tensor pad(Tensor x, int[] before, int[] after, float value) {
        String op = "pad";
        INDArray a = b.in(op, "x", x);
        int rank = x.rank();
        if (before == null || after == null || before.length != rank || after.length != rank) {
            throw fail(op, "before " + Arrays.toString(before) + " and after " + Arrays.toString(after)
                    + " need one entry per axis of " + x.shape());
        }
        int[] outDims = x.shape().dims();
        for (int k = 0; k < rank; k++) {
            if (before[k] < 0 || after[k] < 0) {
                throw fail(op, "negative padding before " + Arrays.toString(before) + " after "
                        + Arrays.toString(after));
            }
            outDims[k] += before[k] + after[k];
        }
        DType dt = x.dtype();
        if (!dt.isFloating() && value != Math.rint(value)) {
            throw fail(op, "value " + value + " is not a whole number for an " + dt + " tensor");
        }
        Shape out = Shape.of(outDims);
        INDArray y = alloc(a.dataType(), dims(out));
        if (y.length() > 0) {
            // the value is representable in the target type, so ND4J's conversion of it cannot differ
            y.assign(dt.isFloating() ? HalfFloats.round(value, dt) : value);
            if (x.numel() > 0) {
                INDArrayIndex[] idx = new INDArrayIndex[rank];
                for (int k = 0; k < rank; k++) {
                    idx[k] = NDArrayIndex.interval(before[k], before[k] + x.dim(k));
                }
                if (rank == 0) {
                    y.assign(a);
                } else {
                    y.get(idx).assign(a);
                }
            }
        }
        return b.owned(y, dt, out);
    }

    Tensor expand(Tensor x, Shape shape) {
        String op = "expand";
        INDArray a = b.in(op, "x", x);
        if (shape == null || !Nd4jBackend.broadcastsTo(x.shape(), shape)) {
            throw fail(op, "cannot broadcast " + x.shape() + " to " + shape);
        }
        if (shape.equals(x.shape())) {
            return b.shared(x, a, shape);
        }
        INDArray y = alloc(a.dataType(), dims(shape));
        if (y.length() > 0) {
            // the "assign" custom op broadcasts; INDArray.assign(other shape) silently fills only a prefix
            int lead = shape.rank() - x.rank();
            long[] padded = new long[shape.rank()];
            Arrays.fill(padded, 1);
            for (int k = 0; k < x.rank(); k++) {
                padded[lead + k] = x.dim(k);
            }
            INDArray src = x.rank() == shape.rank() ? a : a.reshape('c', padded);
            Nd4jArrays.exec("assign", new INDArray[] {y, src}, new INDArray[] {y});
        }
        return b.owned(y, x.dtype(), shape);
    }
}
