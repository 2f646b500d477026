package dev.perfusion.backend.reference;

import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Storage;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * The scalar oracle backend: runs on the CPU, plain Java loops, {@code double} accumulation, no threads, no
 * intrinsics. Every other backend is tested against it, so it is written to be read and checked, never tuned.
 * Users can select it by name ({@code reference}) to reproduce any result on the slow path.
 *
 * <p>Storage: a tensor's handle is a contiguous row-major Java array: {@code float[]} for FLOAT32, and for
 * FLOAT16/BFLOAT16 holding values already rounded to that type; {@code int[]} for INT32; {@code long[]} for
 * INT64. A reshape shares the array. Every arithmetic result is accumulated in double and rounded to float once.
 *
 * <p>This class holds the memory, elementwise, reduction, reshape, matmul and embedding ops; the other element
 * rearrangements live in {@link ReferenceShapeOps}, convolutions and upsampling in {@link ReferenceConv},
 * normalisations and softmax in {@link ReferenceNorms}, attention and GEGLU in {@link ReferenceAttention}.
 */
public final class ReferenceBackend implements Backend {
    /** The name users select this backend by. */
    public static final String NAME = "reference";

    private final ReferenceConv conv = new ReferenceConv(this);
    private final ReferenceNorms norms = new ReferenceNorms(this);
    private final ReferenceAttention attention = new ReferenceAttention(this);
    private final ReferenceShapeOps shapes = new ReferenceShapeOps(this);

    /** {@inheritDoc} */
    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String toString() {
        return "ReferenceBackend";
    }

    // ------------------------------------------------------------------ memory

    /** {@inheritDoc} */
    @Override
    public Tensor fromArray(float[] data, Shape shape) {
        checkLength("fromArray", data.length, shape);
        return wrap(data.clone(), shape);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor fromArray(long[] data, Shape shape) {
        checkLength("fromArray", data.length, shape);
        return wrap(data.clone(), DType.INT64, shape);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor fromArray(int[] data, Shape shape) {
        checkLength("fromArray", data.length, shape);
        return wrap(data.clone(), DType.INT32, shape);
    }

    /** {@inheritDoc} The bytes are always copied. */
    @Override
    public Tensor fromBytes(ByteBuffer data, DType dtype, Shape shape) {
        long expected = shape.numel() * dtype.byteSize();
        if (data.remaining() != expected) {
            throw fail("fromBytes", data.remaining() + " bytes for " + dtype + " " + shape + ", expected " + expected);
        }
        // slice: reads start at data's position and leave data's position and order untouched
        ByteBuffer b = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        int n = shape.numelInt();
        switch (dtype) {
            case FLOAT32 -> {
                float[] v = new float[n];
                b.asFloatBuffer().get(v);
                return wrap(v, shape);
            }
            case FLOAT16, BFLOAT16 -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    short bits = b.getShort(2 * i);
                    v[i] = dtype == DType.FLOAT16 ? HalfFloats.fp16ToFloat(bits) : HalfFloats.bf16ToFloat(bits);
                }
                return wrap(v, dtype, shape);
            }
            case INT32 -> {
                int[] v = new int[n];
                b.asIntBuffer().get(v);
                return wrap(v, DType.INT32, shape);
            }
            case INT64 -> {
                long[] v = new long[n];
                b.asLongBuffer().get(v);
                return wrap(v, DType.INT64, shape);
            }
            default -> throw new AssertionError(dtype);
        }
    }

    /** {@inheritDoc} */
    @Override
    public float[] toFloatArray(Tensor x) {
        Object h = data("toFloatArray", "x", x);
        if (h instanceof float[] f) {
            return f.clone();
        }
        float[] out = new float[x.shape().numelInt()];
        if (h instanceof int[] ints) {
            for (int i = 0; i < out.length; i++) {
                out[i] = ints[i];
            }
        } else {
            long[] longs = (long[]) h;
            for (int i = 0; i < out.length; i++) {
                out[i] = longs[i];
            }
        }
        return out;
    }

    /** {@inheritDoc} */
    @Override
    public long[] toLongArray(Tensor x) {
        Object h = data("toLongArray", "x", x);
        if (h instanceof long[] longs) {
            return longs.clone();
        }
        if (h instanceof int[] ints) {
            long[] out = new long[ints.length];
            for (int i = 0; i < ints.length; i++) {
                out[i] = ints[i];
            }
            return out;
        }
        throw fail("toLongArray", "x must be an integer tensor (INT32 or INT64), got " + x.dtype());
    }

    /**
     * {@inheritDoc} Float to integer truncates toward zero and saturates (NaN gives 0), as Java's narrowing does;
     * INT64 to INT32 keeps the low 32 bits.
     */
    @Override
    public Tensor cast(Tensor x, DType dtype) {
        Object h = data("cast", "x", x);
        int n = x.shape().numelInt();
        switch (dtype) {
            case FLOAT32, FLOAT16, BFLOAT16 -> {
                float[] v = toFloatArray(x);
                for (int i = 0; i < n; i++) {
                    v[i] = HalfFloats.round(v[i], dtype);
                }
                return wrap(v, dtype, x.shape());
            }
            case INT32 -> {
                int[] v = new int[n];
                for (int i = 0; i < n; i++) {
                    if (h instanceof float[] f) {
                        v[i] = (int) f[i];
                    } else if (h instanceof int[] ints) {
                        v[i] = ints[i];
                    } else {
                        v[i] = (int) ((long[]) h)[i];
                    }
                }
                return wrap(v, DType.INT32, x.shape());
            }
            case INT64 -> {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    if (h instanceof float[] f) {
                        v[i] = (long) f[i];
                    } else if (h instanceof int[] ints) {
                        v[i] = ints[i];
                    } else {
                        v[i] = ((long[]) h)[i];
                    }
                }
                return wrap(v, DType.INT64, x.shape());
            }
            default -> throw new AssertionError(dtype);
        }
    }

    /** {@inheritDoc} */
    @Override
    public Tensor full(Shape shape, float value) {
        float[] v = new float[shape.numelInt()];
        Arrays.fill(v, value);
        return wrap(v, shape);
    }

    // ------------------------------------------------------------------ elementwise

    /** {@inheritDoc} */
    @Override
    public Tensor unary(UnaryOp op, Tensor x) {
        float[] xs = floats("unary " + op, "x", x);
        float[] ys = new float[xs.length];
        for (int i = 0; i < xs.length; i++) {
            ys[i] = (float) op.apply(xs[i]);
        }
        return wrap(ys, x.shape());
    }

    /** {@inheritDoc} */
    @Override
    public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy) {
        String name = "unaryBackward " + op;
        float[] xs = floats(name, "x", x);
        float[] dys = floats(name, "dy", dy);
        sameShape(name, "x", x, "dy", dy);
        float[] dx = new float[xs.length];
        for (int i = 0; i < xs.length; i++) {
            dx[i] = (float) (dys[i] * op.derivative(xs[i]));
        }
        return wrap(dx, x.shape());
    }

    /** {@inheritDoc} */
    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = "binary " + op;
        float[] as = floats(name, "a", a);
        float[] bs = floats(name, "b", b);
        Shape out = broadcast(name, a.shape(), b.shape());
        int[] ai = RowMajor.offsets(out.dims(), RowMajor.broadcastStrides(a.shape(), out));
        int[] bi = RowMajor.offsets(out.dims(), RowMajor.broadcastStrides(b.shape(), out));
        float[] ys = new float[ai.length];
        for (int i = 0; i < ys.length; i++) {
            ys[i] = (float) op.apply(as[ai[i]], bs[bi[i]]);
        }
        return wrap(ys, out);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor affine(Tensor x, float scale, float shift) {
        float[] xs = floats("affine", "x", x);
        float[] ys = new float[xs.length];
        for (int i = 0; i < xs.length; i++) {
            ys[i] = (float) ((double) scale * xs[i] + shift);
        }
        return wrap(ys, x.shape());
    }

    /** {@inheritDoc} */
    @Override
    public Tensor pow(Tensor x, float p) {
        float[] xs = floats("pow", "x", x);
        float[] ys = new float[xs.length];
        for (int i = 0; i < xs.length; i++) {
            ys[i] = (float) Math.pow(xs[i], p);
        }
        return wrap(ys, x.shape());
    }

    // ------------------------------------------------------------------ reductions

    /** {@inheritDoc} Repeated axes are an error. */
    @Override
    public Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        float[] xs = floats("sum", "x", x);
        int rank = x.rank();
        boolean[] reduced = new boolean[rank];
        if (axes.length == 0) {
            Arrays.fill(reduced, true);
        }
        for (int axis : axes) {
            int a = axis("sum", x.shape(), axis);
            if (reduced[a]) {
                throw fail("sum", "axis " + axis + " listed twice in " + Arrays.toString(axes));
            }
            reduced[a] = true;
        }
        int[] keptDims = x.shape().dims();
        int[] squeezedDims = new int[rank];
        int squeezed = 0;
        for (int k = 0; k < rank; k++) {
            if (reduced[k]) {
                keptDims[k] = 1;
            } else {
                squeezedDims[squeezed++] = keptDims[k];
            }
        }
        Shape kept = Shape.of(keptDims);
        // each input element adds into the output element with the same coordinates on the kept axes
        long[] outStrides = kept.strides();
        for (int k = 0; k < rank; k++) {
            if (reduced[k]) {
                outStrides[k] = 0;
            }
        }
        int[] target = RowMajor.offsets(x.shape().dims(), outStrides);
        double[] acc = new double[kept.numelInt()];
        for (int i = 0; i < xs.length; i++) {
            acc[target[i]] += xs[i];
        }
        Shape out = keepDims ? kept : Shape.of(Arrays.copyOf(squeezedDims, squeezed));
        return wrap(toFloats(acc), out);
    }

    /** {@inheritDoc} NaN propagates, as in PyTorch. */
    @Override
    public Tensor max(Tensor x, int axis, boolean keepDims) {
        float[] xs = floats("max", "x", x);
        int a = axis("max", x.shape(), axis);
        int[] dims = x.shape().dims();
        int n = dims[a];
        if (n == 0) {
            throw fail("max", "axis " + axis + " of " + x.shape() + " is empty");
        }
        int outer = RowMajor.product(dims, 0, a);
        int inner = RowMajor.product(dims, a + 1, dims.length);
        float[] ys = new float[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                float m = xs[o * n * inner + i];
                for (int k = 1; k < n; k++) {
                    float v = xs[(o * n + k) * inner + i];
                    if (v > m || Float.isNaN(v)) { // once m is NaN nothing compares greater: NaN sticks
                        m = v;
                    }
                }
                ys[o * inner + i] = m;
            }
        }
        Shape out = keepDims ? x.shape().with(a, 1) : removeAxis(x.shape(), a);
        return wrap(ys, out);
    }

    // ------------------------------------------------------------------ shape

    /** {@inheritDoc} Always a view sharing the array; works for every dtype. */
    @Override
    public Tensor reshape(Tensor x, Shape shape) {
        data("reshape", "x", x);
        if (shape.numel() != x.numel()) {
            throw fail("reshape", "cannot reshape " + x.shape() + " (" + x.numel() + " elements) to " + shape
                    + " (" + shape.numel() + " elements)");
        }
        return new Tensor(this, shape, x.dtype(), x.handle(), x.storage().retain());
    }

    /** {@inheritDoc} Works for every dtype; negative axes count from the end. */
    @Override
    public Tensor permute(Tensor x, int... perm) {
        return shapes.permute(x, perm);
    }

    /** {@inheritDoc} Needs 0 ≤ start ≤ end ≤ size (no negative indices); works for every dtype. */
    @Override
    public Tensor slice(Tensor x, int axis, int start, int end) {
        return shapes.slice(x, axis, start, end);
    }

    /** {@inheritDoc} All tensors must share a dtype (any). */
    @Override
    public Tensor concat(List<Tensor> xs, int axis) {
        return shapes.concat(xs, axis);
    }

    /**
     * {@inheritDoc} Works for every dtype: {@code value} is rounded to a half type, and must be a whole number for
     * an integer type.
     */
    @Override
    public Tensor pad(Tensor x, int[] before, int[] after, float value) {
        return shapes.pad(x, before, after, value);
    }

    /** {@inheritDoc} Works for every dtype. */
    @Override
    public Tensor expand(Tensor x, Shape shape) {
        return shapes.expand(x, shape);
    }

    // ------------------------------------------------------------------ linear algebra

    /** {@inheritDoc} Both operands need rank ≥ 2. */
    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transposeA, boolean transposeB) {
        float[] as = floats("matmul", "a", a);
        float[] bs = floats("matmul", "b", b);
        if (a.rank() < 2 || b.rank() < 2) {
            throw fail("matmul", "operands need rank >= 2, got a " + a.shape() + " and b " + b.shape());
        }
        int aRows = a.dim(-2);
        int aCols = a.dim(-1);
        int bRows = b.dim(-2);
        int bCols = b.dim(-1);
        int m = transposeA ? aCols : aRows;
        int k = transposeA ? aRows : aCols;
        int kb = transposeB ? bCols : bRows;
        int n = transposeB ? bRows : bCols;
        if (k != kb) {
            throw fail("matmul", "inner sizes differ: a " + a.shape() + (transposeA ? " transposed" : "") + " and b "
                    + b.shape() + (transposeB ? " transposed" : "") + " give " + k + " vs " + kb);
        }
        Shape aBatch = RowMajor.leading(a.shape(), a.rank() - 2);
        Shape bBatch = RowMajor.leading(b.shape(), b.rank() - 2);
        Shape batch = broadcast("matmul", aBatch, bBatch);
        // batch offsets counted in whole matrices, so a broadcast operand re-reads the same matrix
        int[] aMat = RowMajor.offsets(batch.dims(), RowMajor.broadcastStrides(aBatch, batch));
        int[] bMat = RowMajor.offsets(batch.dims(), RowMajor.broadcastStrides(bBatch, batch));
        float[] ys = new float[aMat.length * m * n];
        for (int t = 0; t < aMat.length; t++) {
            int aBase = aMat[t] * aRows * aCols;
            int bBase = bMat[t] * bRows * bCols;
            int yBase = t * m * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) {
                        float av = transposeA ? as[aBase + p * aCols + i] : as[aBase + i * aCols + p];
                        float bv = transposeB ? bs[bBase + j * bCols + p] : bs[bBase + p * bCols + j];
                        acc += (double) av * bv;
                    }
                    ys[yBase + i * n + j] = (float) acc;
                }
            }
        }
        return wrap(ys, RowMajor.append(batch, m, n));
    }

    // ------------------------------------------------------------------ neural-network ops

    /** {@inheritDoc} */
    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        return conv.conv2d(x, w, bias, stride, padding);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, int stride, int padding) {
        return conv.conv2dBackwardInput(dy, w, xShape, stride, padding);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape wShape, int stride, int padding) {
        return conv.conv2dBackwardWeight(dy, x, wShape, stride, padding);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return norms.groupNorm(x, groups, gamma, beta, eps);
    }

    /**
     * {@inheritDoc} The op cannot know whether β was given, so dβ is always returned; dγ is null when γ is null.
     */
    @Override
    public NormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, float eps, Tensor dy) {
        return norms.groupNormBackward(x, groups, gamma, eps, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return norms.layerNorm(x, gamma, beta, eps);
    }

    /**
     * {@inheritDoc} The op cannot know whether β was given, so dβ is always returned; dγ is null when γ is null.
     */
    @Override
    public NormGrads layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dy) {
        return norms.layerNormBackward(x, gamma, eps, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor softmax(Tensor x) {
        return norms.softmax(x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy) {
        return norms.softmaxBackward(y, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        return attention.attention(q, k, v, mask, causal, scale);
    }

    /** {@inheritDoc} */
    @Override
    public AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale,
                                            Tensor dy) {
        return attention.attentionBackward(q, k, v, mask, causal, scale, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor geglu(Tensor x) {
        return attention.geglu(x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor gegluBackward(Tensor x, Tensor dy) {
        return attention.gegluBackward(x, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        return conv.upsampleNearest2x(x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor upsampleNearest2xBackward(Tensor dy) {
        return conv.upsampleNearest2xBackward(dy);
    }

    /** {@inheritDoc} An id outside [0, V) is an {@link IllegalArgumentException} naming it. */
    @Override
    public Tensor embedding(Tensor weight, Tensor ids) {
        float[] ws = floats("embedding", "weight", weight);
        if (weight.rank() != 2) {
            throw fail("embedding", "weight must be [V, D], got " + weight.shape());
        }
        long[] idv = ids("embedding", ids, weight.dim(0));
        int d = weight.dim(1);
        float[] ys = new float[idv.length * d];
        for (int t = 0; t < idv.length; t++) {
            System.arraycopy(ws, (int) idv[t] * d, ys, t * d, d);
        }
        return wrap(ys, RowMajor.append(ids.shape(), d));
    }

    /** {@inheritDoc} */
    @Override
    public Tensor embeddingBackward(Tensor dy, Tensor ids, int vocab) {
        float[] dys = floats("embeddingBackward", "dy", dy);
        if (vocab < 0) {
            throw fail("embeddingBackward", "negative vocabulary size " + vocab);
        }
        long[] idv = ids("embeddingBackward", ids, vocab);
        if (dy.rank() != ids.rank() + 1 || !RowMajor.leading(dy.shape(), ids.rank()).equals(ids.shape())) {
            throw fail("embeddingBackward", "dy " + dy.shape() + " must be ids " + ids.shape() + " + [D]");
        }
        int d = dy.dim(-1);
        double[] dw = new double[vocab * d];
        for (int t = 0; t < idv.length; t++) {
            int row = (int) idv[t];
            for (int j = 0; j < d; j++) {
                dw[row * d + j] += dys[t * d + j];
            }
        }
        return wrap(toFloats(dw), Shape.of(vocab, d));
    }

    // ------------------------------------------------------------------ helpers for this package

    /** The handle of {@code x} after checking it is an open tensor of this backend; {@code role} names it in errors. */
    Object data(String op, String role, Tensor x) {
        if (x == null) {
            throw fail(op, role + " is null");
        }
        if (x.backend() != this) {
            throw fail(op, role + " " + x.shape() + " belongs to backend '" + x.backend().name()
                    + "', not to this reference backend");
        }
        return x.handle(); // throws IllegalStateException when x is closed
    }

    /** The values of a FLOAT32 input of this backend. */
    float[] floats(String op, String role, Tensor x) {
        Object h = data(op, role, x);
        if (x.dtype() != DType.FLOAT32) {
            throw fail(op, role + " must be FLOAT32, got " + x.dtype()
                    + (x.dtype().isFloating() ? " (cast half types to FLOAT32 first)" : ""));
        }
        return (float[]) h;
    }

    /** The values of an optional FLOAT32 input, which must have {@code shape}; null when absent. */
    float[] optionalFloats(String op, String role, Tensor x, Shape shape) {
        if (x == null) {
            return null;
        }
        float[] v = floats(op, role, x);
        if (!x.shape().equals(shape)) {
            throw fail(op, role + " must be " + shape + ", got " + x.shape());
        }
        return v;
    }

    /** The ids of an INT32 or INT64 tensor, each checked to lie in [0, vocab). */
    private long[] ids(String op, Tensor ids, int vocab) {
        data(op, "ids", ids);
        if (ids.dtype() != DType.INT32 && ids.dtype() != DType.INT64) {
            throw fail(op, "ids must be INT32 or INT64, got " + ids.dtype());
        }
        long[] v = toLongArray(ids);
        for (int t = 0; t < v.length; t++) {
            if (v[t] < 0 || v[t] >= vocab) {
                throw fail(op, "id " + v[t] + " at position " + Arrays.toString(coordinates(ids.shape(), t))
                        + " is out of range for a vocabulary of " + vocab);
            }
        }
        return v;
    }

    /** Throws unless {@code a} and {@code b} have the same shape. */
    static void sameShape(String op, String aRole, Tensor a, String bRole, Tensor b) {
        if (!a.shape().equals(b.shape())) {
            throw fail(op, aRole + " " + a.shape() + " and " + bRole + " " + b.shape() + " must have the same shape");
        }
    }

    /** A new FLOAT32 tensor over {@code data} (not copied). */
    Tensor wrap(float[] data, Shape shape) {
        return wrap(data, DType.FLOAT32, shape);
    }

    /** A new tensor over {@code array} (not copied), whose element type must match {@code dtype}. */
    Tensor wrap(Object array, DType dtype, Shape shape) {
        return new Tensor(this, shape, dtype, array, Storage.heap());
    }

    /** An exception naming the op. */
    static IllegalArgumentException fail(String op, String message) {
        return new IllegalArgumentException(op + ": " + message);
    }

    /** Doubles rounded to float, once. */
    static float[] toFloats(double[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) v[i];
        }
        return out;
    }

    private static void checkLength(String op, int length, Shape shape) {
        if (length != shape.numel()) {
            throw fail(op, length + " values for shape " + shape + " (" + shape.numel() + " elements)");
        }
    }

    /** {@code shape.axis(axis)}, with the op named in the error. */
    static int axis(String op, Shape shape, int axis) {
        try {
            return shape.axis(axis);
        } catch (IllegalArgumentException e) {
            throw fail(op, e.getMessage());
        }
    }

    private static Shape broadcast(String op, Shape a, Shape b) {
        try {
            return Shape.broadcast(a, b);
        } catch (IllegalArgumentException e) {
            throw fail(op, e.getMessage());
        }
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

    private static int[] coordinates(Shape shape, int flat) {
        int[] c = new int[shape.rank()];
        for (int k = shape.rank() - 1; k >= 0; k--) {
            c[k] = flat % shape.dim(k);
            flat /= shape.dim(k);
        }
        return c;
    }
}
