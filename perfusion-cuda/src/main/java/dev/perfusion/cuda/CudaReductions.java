package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaContext.fail;
import static dev.perfusion.cuda.CudaContext.launch1d;
import static dev.perfusion.cuda.CudaContext.ptr;

import dev.perfusion.cuda.driver.Dim3;
import dev.perfusion.cuda.driver.KernelArgs;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.Arrays;

/**
 * Sum over any axes and max along one axis ({@code reduce.cu}), FLOAT32 only. Sums accumulate in double in a fixed
 * order, so they are deterministic and as exact as the reference's for all practical sizes.
 */
final class CudaReductions {
    static final KernelRef SUM_ROWS = KernelRef.of("reduce", "sum_rows_f32");
    static final KernelRef SUM_COLS = KernelRef.of("reduce", "sum_cols_f32");
    static final KernelRef MAX_INNER = KernelRef.of("reduce", "max_inner_f32");
    static final KernelRef MAX_LAST = KernelRef.of("reduce", "max_lastaxis_f32");
    static final KernelRef COLSUM = KernelRef.of("reduce", "colsum_f32");

    /** Above this many outputs with a unit innermost stride, one thread per output (coalesced) wins. */
    private static final long MANY_OUTPUTS = 2048;

    private final CudaContext cx;
    private final CudaShapeOps shapes;

    CudaReductions(CudaContext cx, CudaShapeOps shapes) {
        this.cx = cx;
        this.shapes = shapes;
    }

    /** y = Σ x over {@code axes} (empty: all); repeated axes are an error, as in the reference. */
    Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        cx.checkFloat32("sum", "x", x);
        int rank = x.rank();
        boolean[] reduced = new boolean[rank];
        if (axes.length == 0) {
            Arrays.fill(reduced, true);
        }
        for (int axis : axes) {
            int a = CudaContext.axis("sum", x.shape(), axis);
            if (reduced[a]) {
                throw fail("sum", "axis " + axis + " listed twice in " + Arrays.toString(axes));
            }
            reduced[a] = true;
        }
        int[] dims = x.shape().dims();
        long[] strides = x.shape().strides();
        int[] keptDims = dims.clone();
        int[] kd = new int[rank];
        long[] ks = new long[rank];
        int[] rd = new int[rank];
        long[] rs = new long[rank];
        int nk = 0;
        int nr = 0;
        int[] squeezed = new int[rank];
        int ns = 0;
        for (int k = 0; k < rank; k++) {
            if (reduced[k]) {
                keptDims[k] = 1;
                rd[nr] = dims[k];
                rs[nr++] = strides[k];
            } else {
                kd[nk] = dims[k];
                ks[nk++] = strides[k];
                squeezed[ns++] = dims[k];
            }
        }
        Shape out = keepDims ? Shape.of(keptDims) : Shape.of(Arrays.copyOf(squeezed, ns));
        Tensor y = cx.allocate(out, DType.FLOAT32);
        StridedLayout kept = StridedLayout.collapse(Arrays.copyOf(kd, nk), Arrays.copyOf(ks, nk));
        StridedLayout red = StridedLayout.collapse(Arrays.copyOf(rd, nr), Arrays.copyOf(rs, nr));
        long nOut = kept.count();
        long nRed = red.count();
        if (nOut == 0) {
            return y;
        }
        if (nRed == 0) {
            shapes.fill(y, 0);
            return y;
        }
        if (!kept.fits() || !red.fits()) {
            y.close();
            throw new UnsupportedOperationException("sum on backend 'cuda': " + x.shape() + " over axes "
                    + Arrays.toString(axes) + " needs more than " + StridedLayout.MAX_DIMS
                    + " kept or reduced axes after merging contiguous ones");
        }
        KernelArgs args = KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(nOut).i64(nRed)
                .i64s(kept.paddedDims()).i64s(kept.paddedStrides(0))
                .i64s(red.paddedDims()).i64s(red.paddedStrides(0));
        boolean unitInner = kept.rank() > 0 && kept.strides()[0][kept.rank() - 1] == 1;
        if (unitInner && nOut >= MANY_OUTPUTS) {
            launch1d(cx.kernel(SUM_COLS), nOut, args);
        } else {
            CudaContext.launchRows(cx.kernel(SUM_ROWS), nOut, CudaContext.rowThreads(nRed, 256), args);
        }
        return y;
    }

    /** y = max x along {@code axis}; NaN propagates. */
    Tensor max(Tensor x, int axis, boolean keepDims) {
        cx.checkFloat32("max", "x", x);
        int a = CudaContext.axis("max", x.shape(), axis);
        int[] dims = x.shape().dims();
        int n = dims[a];
        if (n == 0) {
            throw fail("max", "axis " + axis + " of " + x.shape() + " is empty");
        }
        long outer = 1;
        for (int k = 0; k < a; k++) {
            outer *= dims[k];
        }
        long inner = 1;
        for (int k = a + 1; k < dims.length; k++) {
            inner *= dims[k];
        }
        Shape out = keepDims ? x.shape().with(a, 1) : removeAxis(x.shape(), a);
        Tensor y = cx.allocate(out, DType.FLOAT32);
        if (outer * inner == 0) {
            return y;
        }
        if (inner == 1) {
            int warps = CudaContext.BLOCK / 32;
            cx.kernel(MAX_LAST).launch(Dim3.of(CudaContext.blocks(outer, warps)), Dim3.of(CudaContext.BLOCK), 0,
                    KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(outer).i64(n));
        } else {
            launch1d(cx.kernel(MAX_INNER), outer * inner,
                    KernelArgs.create().ptr(ptr(x)).ptr(ptr(y)).i64(outer).i64(n).i64(inner));
        }
        return y;
    }

    /** y[c] = Σ_r x[r, c] for a contiguous FLOAT32 [rows, cols] block at {@code x} (deterministic). */
    void columnSums(jcuda.driver.CUdeviceptr x, jcuda.driver.CUdeviceptr y, long rows, long cols) {
        launch1d(cx.kernel(COLSUM), cols, KernelArgs.create().ptr(x).ptr(y).i64(rows).i64(cols));
    }

    private static Shape removeAxis(Shape shape, int axis) {
        int[] dims = new int[shape.rank() - 1];
        for (int k = 0, j = 0; k < shape.rank(); k++) {
            if (k != axis) {
                dims[j++] = shape.dim(k);
            }
        }
        return Shape.of(dims);
    }
}
