package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaContext.axis;
import static dev.perfusion.cuda.CudaContext.fail;
import static dev.perfusion.cuda.CudaContext.launch1d;
import static dev.perfusion.cuda.CudaContext.ptr;

import dev.perfusion.cuda.KernelRef.Variants;
import dev.perfusion.cuda.driver.KernelArgs;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import jcuda.driver.CUdeviceptr;

/**
 * Reshape and the materialising rearrangements (permute, slice, concat, pad, expand) for every dtype. All but
 * reshape are one kernel, {@code layout.cu}'s strided copy, with different strides: the host works out for each
 * output coordinate where it reads and writes ({@link StridedLayout}), the kernel moves raw elements by width.
 */
final class CudaShapeOps {
    static final KernelRef STRIDED_COPY = KernelRef.of("layout", "strided_copy", Variants.WIDTHS);
    static final KernelRef FILL = KernelRef.of("layout", "fill", Variants.WIDTHS);

    private final CudaContext cx;

    CudaShapeOps(CudaContext cx) {
        this.cx = cx;
    }

    /** A view sharing x's memory; any dtype. */
    Tensor reshape(Tensor x, Shape shape) {
        cx.check("reshape", "x", x);
        if (shape.numel() != x.numel()) {
            throw fail("reshape", "cannot reshape " + x.shape() + " (" + x.numel() + " elements) to " + shape
                    + " (" + shape.numel() + " elements)");
        }
        return new Tensor(cx.backend(), shape, x.dtype(), x.handle(), x.storage().retain());
    }

    /** y[i_{p0}, i_{p1}, …] = x[i0, i1, …]; any dtype. */
    Tensor permute(Tensor x, int... perm) {
        cx.check("permute", "x", x);
        int rank = x.rank();
        if (perm.length != rank) {
            throw fail("permute", "permutation " + Arrays.toString(perm) + " has " + perm.length
                    + " axes, tensor " + x.shape() + " has " + rank);
        }
        long[] inStrides = x.shape().strides();
        int[] outDims = new int[rank];
        long[] src = new long[rank];
        boolean[] used = new boolean[rank];
        for (int k = 0; k < rank; k++) {
            int a = axis("permute", x.shape(), perm[k]);
            if (used[a]) {
                throw fail("permute", Arrays.toString(perm) + " is not a permutation of the axes of " + x.shape());
            }
            used[a] = true;
            outDims[k] = x.dim(a);
            src[k] = inStrides[a];
        }
        Tensor y = cx.allocate(Shape.of(outDims), x.dtype());
        copy(x.dtype(), ptr(x), ptr(y), outDims, src, StridedLayout.contiguous(outDims));
        return y;
    }

    /** y = x[…, start:end, …] along {@code axis}; any dtype. */
    Tensor slice(Tensor x, int axis, int start, int end) {
        cx.check("slice", "x", x);
        int a = axis("slice", x.shape(), axis);
        int size = x.dim(a);
        if (start < 0 || start > end || end > size) {
            throw fail("slice", "range [" + start + ", " + end + ") is not within axis " + axis + " of " + x.shape());
        }
        long[] strides = x.shape().strides();
        Shape out = x.shape().with(a, end - start);
        Tensor y = cx.allocate(out, x.dtype());
        if (out.numel() > 0) {
            copy(x.dtype(), ptr(x, start * strides[a]), ptr(y), out.dims(), strides, out.strides());
        }
        return y;
    }

    /** The tensors joined along {@code axis}; any dtype, all the same. */
    Tensor concat(List<Tensor> xs, int axis) {
        if (xs.isEmpty()) {
            throw fail("concat", "no tensors to join");
        }
        Tensor first = xs.get(0);
        cx.check("concat", "xs[0]", first);
        int a = axis("concat", first.shape(), axis);
        int total = 0;
        for (int t = 0; t < xs.size(); t++) {
            Tensor x = xs.get(t);
            cx.check("concat", "xs[" + t + "]", x);
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
        Tensor y = cx.allocate(out, first.dtype());
        long[] outStrides = out.strides();
        long at = 0;
        for (Tensor x : xs) {
            if (x.numel() > 0) {
                copy(x.dtype(), ptr(x), ptr(y, at * outStrides[a]), x.shape().dims(), x.shape().strides(), outStrides);
            }
            at += x.dim(a);
        }
        return y;
    }

    /** y = x padded with {@code value}; any dtype (the value rounded to a half type; whole for integers). */
    Tensor pad(Tensor x, int[] before, int[] after, float value) {
        cx.check("pad", "x", x);
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
        DType dt = x.dtype();
        if (!dt.isFloating() && value != Math.rint(value)) {
            throw fail("pad", "value " + value + " is not a whole number for an " + dt + " tensor");
        }
        Shape out = Shape.of(outDims);
        Tensor y = cx.allocate(out, dt);
        fill(y, CudaContext.bits(value, dt));
        long[] outStrides = out.strides();
        long corner = 0; // where x[0, 0, …] lands in the output
        for (int k = 0; k < rank; k++) {
            corner += before[k] * outStrides[k];
        }
        if (x.numel() > 0) {
            copy(dt, ptr(x), ptr(y, corner), x.shape().dims(), x.shape().strides(), outStrides);
        }
        return y;
    }

    /** y = x broadcast (NumPy rules) to {@code shape}, materialised; any dtype. */
    Tensor expand(Tensor x, Shape shape) {
        cx.check("expand", "x", x);
        if (!broadcastsTo(x.shape(), shape)) {
            throw fail("expand", "cannot broadcast " + x.shape() + " to " + shape);
        }
        return materialise(x, shape);
    }

    /** x (checked) broadcast to {@code shape} (checked) as a new contiguous tensor. */
    Tensor materialise(Tensor x, Shape shape) {
        Tensor y = cx.allocate(shape, x.dtype());
        if (shape.numel() > 0) {
            copy(x.dtype(), ptr(x), ptr(y), shape.dims(), broadcastStrides(x.shape(), shape), shape.strides());
        }
        return y;
    }

    /** Fills all of {@code y} with the raw element bits {@code bits}. */
    void fill(Tensor y, long bits) {
        launch1d(cx.kernel(FILL, y.dtype()), y.numel(), KernelArgs.create().ptr(ptr(y)).i64(y.numel()).i64(bits));
    }

    /**
     * dst[Σ c·dstStrides] = src[Σ c·srcStrides] for every coordinate c of {@code dims}, by element width. Layouts
     * of more than six axes (after collapsing) loop over their outer axes on the host.
     */
    void copy(DType dtype, CUdeviceptr src, CUdeviceptr dst, int[] dims, long[] srcStrides, long[] dstStrides) {
        StridedLayout l = StridedLayout.collapse(dims, srcStrides, dstStrides);
        long n = l.count();
        if (n == 0) {
            return;
        }
        StridedLayout inner = l.inner();
        StridedLayout outer = l.outer();
        long outerCount = outer.count();
        int width = dtype.byteSize();
        for (long o = 0; o < outerCount; o++) {
            long so = outer.rank() == 0 ? 0 : outer.offset(0, o);
            long dof = outer.rank() == 0 ? 0 : outer.offset(1, o);
            KernelArgs args = KernelArgs.create()
                    .ptr(so == 0 ? src : src.withByteOffset(so * width))
                    .ptr(dof == 0 ? dst : dst.withByteOffset(dof * width))
                    .i64(inner.count())
                    .i64s(inner.paddedDims()).i64s(inner.paddedStrides(0)).i64s(inner.paddedStrides(1));
            launch1d(cx.kernel(STRIDED_COPY, dtype), inner.count(), args);
        }
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

    /** Strides reading {@code src} as if broadcast to {@code out}: 0 on missing and size-1 axes. */
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
}
