package dev.perfusion.backend.nd4j;

import static dev.perfusion.backend.nd4j.Nd4jArrays.alloc;
import static dev.perfusion.backend.nd4j.Nd4jArrays.allocFloat;
import static dev.perfusion.backend.nd4j.Nd4jArrays.dataType;
import static dev.perfusion.backend.nd4j.Nd4jArrays.dims;
import static dev.perfusion.backend.nd4j.Nd4jArrays.free;
import static dev.perfusion.backend.nd4j.Nd4jArrays.matrix;
import static dev.perfusion.backend.nd4j.Nd4jArrays.view;

import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.Pow;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default CPU backend, on ND4J ({@code nd4j-native}: OpenBLAS for matrix products, oneDNN for convolutions
 * and softmax where the native build has it). No ND4J type leaves this package: a tensor's handle is an
 * {@code INDArray}, typed {@code Object} in {@link Tensor}.
 *
 * <p>Memory: every handle is a c-order array this backend allocated, or a view (reshape) of one that shares its
 * {@link Nd4jStorage}; closing the last tensor over an array frees its native memory at once. Intermediates made
 * inside an op are closed before the op returns. Arithmetic is FLOAT32 only; half types are storage formats
 * (ND4J's fp16/bf16 compute is hundreds of times slower, engine-notes §4), so {@link #cast} them first.
 *
 * <p>Tensors from any {@code Nd4jBackend} instance are accepted, since they share the one ND4J engine of the
 * JVM; tensors of another backend are rejected with an {@link IllegalArgumentException} naming the op.
 *
 * <p>This file holds the memory, elementwise, reduction and matmul ops; shape ops live in {@link Nd4jShapes},
 * convolutions, normalisations, softmax, GEGLU, upsampling and embeddings in {@link Nd4jNn}, attention in
 * {@link Nd4jAttention}.
 */
public final class Nd4jBackend implements Backend {
    /** The name users select this backend by. */
    public static final String NAME = "nd4j";

    private static final Logger LOG = LoggerFactory.getLogger(Nd4jBackend.class);
    private static final AtomicBoolean LOGGED = new AtomicBoolean();

    private final Nd4jShapes shapes = new Nd4jShapes(this);
    private final Nd4jNn nn = new Nd4jNn(this);
    private final Nd4jAttention attention = new Nd4jAttention(this);

    /** Creates the backend (loads ND4J's native libraries on first use) and logs ND4J's build once per JVM. */
    public Nd4jBackend() {
        if (LOGGED.compareAndSet(false, true)) {
            LOG.info("nd4j backend: {}", Nd4jInfo.describe());
            String advice = Nd4jInfo.mallocAdvice();
            if (advice != null) {
                LOG.info("nd4j backend: {}", advice);
            }
        }
    }

    /** {@inheritDoc} */
    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String toString() {
        return "Nd4jBackend";
    }

    // ------------------------------------------------------------------ memory

    /** {@inheritDoc} */
    @Override
    public Tensor fromArray(float[] data, Shape shape) {
        checkLength("fromArray", data.length, shape);
        if (data.length == 0) {
            return owned(alloc(DataType.FLOAT, dims(shape)), DType.FLOAT32, shape);
        }
        return owned(Nd4j.create(data, dims(shape), 'c'), DType.FLOAT32, shape);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor fromArray(long[] data, Shape shape) {
        checkLength("fromArray", data.length, shape);
        if (data.length == 0) {
            return owned(alloc(DataType.LONG, dims(shape)), DType.INT64, shape);
        }
        return owned(Nd4j.createFromArray(data), DType.INT64, shape);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor fromArray(int[] data, Shape shape) {
        checkLength("fromArray", data.length, shape);
        if (data.length == 0) {
            return owned(alloc(DataType.INT, dims(shape)), DType.INT32, shape);
        }
        return owned(Nd4j.createFromArray(data), DType.INT32, shape);
    }

    /**
     * {@inheritDoc} A direct buffer is wrapped without copying (the tensor keeps it reachable; map files with
     * {@code MapMode.PRIVATE} or {@code READ_ONLY}: this backend never writes to its inputs). A heap buffer is
     * copied into native memory.
     */
    @Override
    public Tensor fromBytes(ByteBuffer data, DType dtype, Shape shape) {
        String op = "fromBytes";
        if (data == null || dtype == null || shape == null) {
            throw fail(op, "data, dtype and shape must not be null");
        }
        long expected = shape.numel() * dtype.byteSize();
        if (data.remaining() != expected) {
            throw fail(op, data.remaining() + " bytes for " + dtype + " " + shape + ", expected " + expected);
        }
        long n = shape.numel();
        DataType type = dataType(dtype);
        if (n == 0) {
            return owned(alloc(type, dims(shape)), dtype, shape);
        }
        // slice: reads start at data's position and leave the caller's position and order untouched
        ByteBuffer bytes = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        // a read-only mapping is copied: a native op writing into it would crash the JVM (engine notes §6)
        if (bytes.isDirect() && !bytes.isReadOnly() && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            Pointer p = switch (dtype) {
                case FLOAT32 -> new FloatPointer(bytes.asFloatBuffer());
                case FLOAT16, BFLOAT16 -> new ShortPointer(bytes.asShortBuffer());
                case INT32 -> new IntPointer(bytes.asIntBuffer());
                case INT64 -> new LongPointer(bytes.asLongBuffer());
            };
            DataBuffer buffer = Nd4j.createBuffer(p, n, type);
            INDArray a = Nd4j.create(buffer, dims(shape), shape.strides(), 0, 'c', type);
            return new Tensor(this, shape, dtype, a, new Nd4jStorage(a, new Object[] {data, bytes, p}));
        }
        INDArray a = alloc(type, dims(shape));
        try {
            if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
                BytePointer dst = new BytePointer(a.data().addressPointer());
                dst.capacity(expected);
                dst.limit(expected);
                dst.asBuffer().put(bytes);
            } else {
                Nd4jArrays.copyConverting(bytes, dtype, a);
            }
        } catch (RuntimeException e) {
            free(a);
            throw e;
        }
        return owned(a, dtype, shape);
    }

    /** {@inheritDoc} */
    @Override
    public float[] toFloatArray(Tensor x) {
        INDArray a = in("toFloatArray", "x", x);
        if (x.dtype().isFloating()) {
            return Nd4jArrays.toFloats(a);
        }
        long[] v = Nd4jArrays.toLongs(a);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    /** {@inheritDoc} */
    @Override
    public long[] toLongArray(Tensor x) {
        INDArray a = in("toLongArray", "x", x);
        if (x.dtype() != DType.INT32 && x.dtype() != DType.INT64) {
            throw fail("toLongArray", "x must be an integer tensor (INT32 or INT64), got " + x.dtype());
        }
        return Nd4jArrays.toLongs(a);
    }

    /**
     * {@inheritDoc} Half types round to nearest even (ND4J's conversion, checked bit for bit against
     * {@link HalfFloats}). Float to integer truncates toward zero and saturates (NaN gives 0), as Java's narrowing
     * does; INT64 to INT32 keeps the low 32 bits. A cast to the same dtype shares the memory.
     */
    @Override
    public Tensor cast(Tensor x, DType dtype) {
        String op = "cast";
        INDArray a = in(op, "x", x);
        if (dtype == null) {
            throw fail(op, "target dtype is null");
        }
        if (dtype == x.dtype()) {
            return shared(x, a, x.shape());
        }
        if (!dtype.isFloating()) {
            // integer targets: Java's narrowing rules, on the host (index tensors are small)
            int n = x.shape().numelInt();
            if (dtype == DType.INT32) {
                int[] v = new int[n];
                if (x.dtype().isFloating()) {
                    float[] f = Nd4jArrays.toFloats(a);
                    for (int i = 0; i < n; i++) {
                        v[i] = (int) f[i];
                    }
                } else {
                    long[] l = Nd4jArrays.toLongs(a);
                    for (int i = 0; i < n; i++) {
                        v[i] = (int) l[i];
                    }
                }
                return fromArray(v, x.shape());
            }
            long[] v;
            if (x.dtype().isFloating()) {
                float[] f = Nd4jArrays.toFloats(a);
                v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (long) f[i];
                }
            } else {
                v = Nd4jArrays.toLongs(a);
            }
            return fromArray(v, x.shape());
        }
        if (x.numel() == 0) {
            return owned(alloc(dataType(dtype), dims(x.shape())), dtype, x.shape());
        }
        // through FLOAT32, so that int → half and fp16 ↔ bf16 round exactly once from the float value, like the
        // reference backend
        if (x.dtype() == DType.FLOAT32 || dtype == DType.FLOAT32) {
            return owned(a.castTo(dataType(dtype)), dtype, x.shape());
        }
        INDArray f = a.castTo(DataType.FLOAT);
        try {
            return owned(f.castTo(dataType(dtype)), dtype, x.shape());
        } finally {
            free(f);
        }
    }

    /** {@inheritDoc} */
    @Override
    public Tensor full(Shape shape, float value) {
        INDArray a = allocFloat(dims(shape));
        if (a.length() > 0) {
            a.assign(value);
        }
        return owned(a, DType.FLOAT32, shape);
    }

    // ------------------------------------------------------------------ elementwise

    /** {@inheritDoc} */
    @Override
    public Tensor unary(UnaryOp op, Tensor x) {
        INDArray a = f32("unary " + op, "x", x);
        INDArray y = allocFloat(a.shape());
        try {
            if (y.length() > 0) {
                Nd4jMath.apply(op, a, y);
            }
        } catch (RuntimeException e) {
            free(y);
            throw e;
        }
        return owned(y, DType.FLOAT32, x.shape());
    }

    /** {@inheritDoc} */
    @Override
    public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy) {
        String name = "unaryBackward " + op;
        INDArray a = f32(name, "x", x);
        INDArray g = f32(name, "dy", dy);
        sameShape(name, "x", x, "dy", dy);
        INDArray d = allocFloat(a.shape());
        try {
            if (d.length() > 0) {
                Nd4jMath.derivative(op, a, d);
                d.muli(g);
            }
        } catch (RuntimeException e) {
            free(d);
            throw e;
        }
        return owned(d, DType.FLOAT32, x.shape());
    }

    /**
     * {@inheritDoc} MAXIMUM and MINIMUM propagate NaN like {@link Math#max}: ND4J's kernels do not, so those
     * two check their inputs for NaN and take a slow exact path when there is one.
     */
    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = "binary " + op;
        INDArray x = f32(name, "a", a);
        INDArray z = f32(name, "b", b);
        Shape out = broadcast(name, a.shape(), b.shape());
        INDArray y = allocFloat(dims(out));
        try {
            if (y.length() > 0) {
                String libnd4j = switch (op) {
                    case ADD -> "add";
                    case SUB -> "subtract";
                    case MUL -> "multiply";
                    case DIV -> "divide";
                    case MAXIMUM -> "maximum";
                    case MINIMUM -> "minimum";
                };
                Nd4jArrays.broadcastOp(libnd4j, x, z, y);
                if ((op == BinaryOp.MAXIMUM || op == BinaryOp.MINIMUM) && (Nd4jArrays.hasNaN(x) || Nd4jArrays.hasNaN(z))) {
                    INDArray fixed = Nd4jArrays.nanMask(x, z, y);
                    free(y);
                    y = fixed;
                }
            }
        } catch (RuntimeException e) {
            free(y);
            throw e;
        }
        return owned(y, DType.FLOAT32, out);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor affine(Tensor x, float scale, float shift) {
        INDArray a = f32("affine", "x", x);
        INDArray y = allocFloat(a.shape());
        if (y.length() > 0) {
            y.assign(a);
            y.muli(scale).addi(shift);
        }
        return owned(y, DType.FLOAT32, x.shape());
    }

    /** {@inheritDoc} */
    @Override
    public Tensor pow(Tensor x, float p) {
        INDArray a = f32("pow", "x", x);
        INDArray y = allocFloat(a.shape());
        if (y.length() > 0) {
            if (p == 2) {
                y.assign(a).muli(a); // exact, as the reference's Math.pow(x, 2) is
            } else {
                Nd4j.exec(new Pow(a, y, p));
            }
        }
        return owned(y, DType.FLOAT32, x.shape());
    }

    // ------------------------------------------------------------------ reductions

    /** {@inheritDoc} Repeated axes are an error. */
    @Override
    public Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        String op = "sum";
        INDArray a = f32(op, "x", x);
        if (axes == null) {
            throw fail(op, "axes is null (use an empty array for all axes)");
        }
        int rank = x.rank();
        boolean[] reduced = new boolean[rank];
        if (axes.length == 0) {
            Arrays.fill(reduced, true);
        }
        for (int axis : axes) {
            int k = axis(op, x.shape(), axis);
            if (reduced[k]) {
                throw fail(op, "axis " + axis + " listed twice in " + Arrays.toString(axes));
            }
            reduced[k] = true;
        }
        int[] kept = x.shape().dims();
        int[] dropped = new int[rank];
        int nd = 0;
        int nr = 0;
        int[] along = new int[rank];
        for (int k = 0; k < rank; k++) {
            if (reduced[k]) {
                kept[k] = 1;
                along[nr++] = k;
            } else {
                dropped[nd++] = kept[k];
            }
        }
        Shape out = keepDims ? Shape.of(kept) : Shape.of(Arrays.copyOf(dropped, nd));
        if (nr == 0 || x.numel() == 0) {
            // nothing reduced (a scalar), or an empty input: the sum over no elements is 0
            INDArray y = allocFloat(dims(out));
            if (y.length() > 0) {
                if (x.numel() == 0) {
                    y.assign(0);
                } else {
                    y.assign(a.reshape('c', dims(out)));
                }
            }
            return owned(y, DType.FLOAT32, out);
        }
        return owned(a.sum(keepDims, Arrays.copyOf(along, nr)), DType.FLOAT32, out);
    }

    /** {@inheritDoc} NaN propagates, as in PyTorch (ND4J's kernel skips it, so NaN inputs take a slow path). */
    @Override
    public Tensor max(Tensor x, int axis, boolean keepDims) {
        String op = "max";
        INDArray a = f32(op, "x", x);
        int k = axis(op, x.shape(), axis);
        int n = x.dim(k);
        if (n == 0) {
            throw fail(op, "axis " + axis + " of " + x.shape() + " is empty");
        }
        Shape out = keepDims ? x.shape().with(k, 1) : removeAxis(x.shape(), k);
        if (x.numel() == 0) {
            return owned(allocFloat(dims(out)), DType.FLOAT32, out);
        }
        INDArray y = a.max(keepDims, k);
        if (Nd4jArrays.hasNaN(a)) {
            INDArray flag = Nd4jArrays.nanFlags(a);
            INDArray any = flag.max(keepDims, k);
            try {
                float[] f = Nd4jArrays.toFloats(any);
                float[] v = Nd4jArrays.toFloats(y);
                for (int i = 0; i < v.length; i++) {
                    if (f[i] != 0) {
                        v[i] = Float.NaN;
                    }
                }
                free(y);
                y = Nd4j.create(v, dims(out), 'c');
            } finally {
                free(flag, any);
            }
        }
        return owned(y, DType.FLOAT32, out);
    }

    // ------------------------------------------------------------------ shape

    /** {@inheritDoc} A view sharing the memory; works for every dtype. */
    @Override
    public Tensor reshape(Tensor x, Shape shape) {
        return shapes.reshape(x, shape);
    }

    /** {@inheritDoc} A c-order copy; works for every dtype; negative axes count from the end. */
    @Override
    public Tensor permute(Tensor x, int... perm) {
        return shapes.permute(x, perm);
    }

    /** {@inheritDoc} Needs 0 ≤ start ≤ end ≤ size; works for every dtype. */
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

    /**
     * {@inheritDoc} Both operands need rank ≥ 2. A single matrix b (a linear layer's weight) multiplies all of a's
     * rows in one GEMM; other batches run one OpenBLAS GEMM per matrix into the preallocated output, which
     * measured faster than ND4J's batched matmul (80 vs 106 ms for 8×[4096,40]·[40,4096] on 2 cores).
     */
    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transposeA, boolean transposeB) {
        String op = "matmul";
        INDArray x = f32(op, "a", a);
        INDArray z = f32(op, "b", b);
        if (a.rank() < 2 || b.rank() < 2) {
            throw fail(op, "operands need rank >= 2, got a " + a.shape() + " and b " + b.shape());
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
            throw fail(op, "inner sizes differ: a " + a.shape() + (transposeA ? " transposed" : "") + " and b "
                    + b.shape() + (transposeB ? " transposed" : "") + " give " + k + " vs " + kb);
        }
        int[] aBatch = Arrays.copyOf(a.shape().dims(), a.rank() - 2);
        int[] bBatch = Arrays.copyOf(b.shape().dims(), b.rank() - 2);
        Shape batch = broadcast(op, Shape.of(aBatch), Shape.of(bBatch));
        int[] outDims = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        outDims[batch.rank()] = m;
        outDims[batch.rank() + 1] = n;
        Shape out = Shape.of(outDims);
        INDArray y = allocFloat(dims(out));
        try {
            if (y.length() == 0) {
                return owned(y, DType.FLOAT32, out);
            }
            if (k == 0) {
                y.assign(0);
                return owned(y, DType.FLOAT32, out);
            }
            int count = batch.numelInt();
            int aCount = Nd4jArrays.product(aBatch, 0, aBatch.length);
            int bCount = Nd4jArrays.product(bBatch, 0, bBatch.length);
            if (bCount == 1 && !transposeA && aCount == count) {
                // [..., M, K]·[K, N]: every row of a against the one matrix b, one GEMM
                Nd4j.gemm(matrix(x, 0, (long) count * aRows, aCols), matrix(z, 0, bRows, bCols),
                        matrix(y, 0, (long) count * m, n), false, transposeB, 1.0, 0.0);
            } else if (aCount == count && bCount == count) {
                // equal batches (small matrices in one batched call, see batchedGemm)
                Nd4jArrays.batchedGemm(view(x, 0, count, aRows, aCols), view(z, 0, count, bRows, bCols),
                        view(y, 0, count, m, n), transposeA, transposeB, 1.0);
            } else {
                int[] ai = Nd4jArrays.broadcastIndex(batch.dims(), aBatch);
                int[] bi = Nd4jArrays.broadcastIndex(batch.dims(), bBatch);
                long aSize = (long) aRows * aCols;
                long bSize = (long) bRows * bCols;
                for (int t = 0; t < count; t++) {
                    Nd4j.gemm(matrix(x, ai[t] * aSize, aRows, aCols), matrix(z, bi[t] * bSize, bRows, bCols),
                            matrix(y, (long) t * m * n, m, n), transposeA, transposeB, 1.0, 0.0);
                }
            }
        } catch (RuntimeException e) {
            free(y);
            throw e;
        }
        return owned(y, DType.FLOAT32, out);
    }

    // ------------------------------------------------------------------ neural-network ops

    /** {@inheritDoc} libnd4j {@code conv2d} with OIHW weights (wFormat 1), through oneDNN where available. */
    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        return nn.conv2d(x, w, bias, stride, padding);
    }

    /** {@inheritDoc} A full transposed convolution ({@code deconv2d}), cropped by the padding. */
    @Override
    public Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, int stride, int padding) {
        return nn.conv2dBackwardInput(dy, w, xShape, stride, padding);
    }

    /** {@inheritDoc} im2col per sample, then GEMMs accumulating into dw. */
    @Override
    public Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape wShape, int stride, int padding) {
        return nn.conv2dBackwardWeight(dy, x, wShape, stride, padding);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return nn.groupNorm(x, groups, gamma, beta, eps);
    }

    /** {@inheritDoc} The op cannot know whether β was given, so dβ is always returned; dγ is null when γ is null. */
    @Override
    public NormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, float eps, Tensor dy) {
        return nn.groupNormBackward(x, groups, gamma, eps, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return nn.layerNorm(x, gamma, beta, eps);
    }

    /** {@inheritDoc} The op cannot know whether β was given, so dβ is always returned; dγ is null when γ is null. */
    @Override
    public NormGrads layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dy) {
        return nn.layerNormBackward(x, gamma, eps, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor softmax(Tensor x) {
        return nn.softmax(x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy) {
        return nn.softmaxBackward(y, dy);
    }

    /**
     * {@inheritDoc} Composed per (batch, head) matrix from GEMMs (scale folded into the first) and a softmax over
     * a reused score buffer, a few heads at a time; ND4J's {@code dot_product_attention} is 5–15× slower.
     * q, k, v must share their leading axes.
     */
    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        return attention.attention(q, k, v, mask, causal, scale);
    }

    /** {@inheritDoc} Recomputes the probabilities chunk by chunk; the mask gets no gradient. */
    @Override
    public AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale,
                                            Tensor dy) {
        return attention.attentionBackward(q, k, v, mask, causal, scale, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor geglu(Tensor x) {
        return nn.geglu(x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor gegluBackward(Tensor x, Tensor dy) {
        return nn.gegluBackward(x, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        return nn.upsampleNearest2x(x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor upsampleNearest2xBackward(Tensor dy) {
        return nn.upsampleNearest2xBackward(dy);
    }

    /** {@inheritDoc} An id outside [0, V) is an {@link IllegalArgumentException} naming it. */
    @Override
    public Tensor embedding(Tensor weight, Tensor ids) {
        return nn.embedding(weight, ids);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor embeddingBackward(Tensor dy, Tensor ids, int vocab) {
        return nn.embeddingBackward(dy, ids, vocab);
    }

    // ------------------------------------------------------------------ helpers for this package

    /** The handle of an open tensor of an ND4J backend; {@code role} names it in errors. */
    INDArray in(String op, String role, Tensor x) {
        if (x == null) {
            throw fail(op, role + " is null");
        }
        if (!(x.backend() instanceof Nd4jBackend)) {
            throw fail(op, role + " " + x.shape() + " belongs to backend '" + x.backend().name()
                    + "', not to the nd4j backend");
        }
        return (INDArray) x.handle(); // throws IllegalStateException when x is closed
    }

    /** The handle of a FLOAT32 input. */
    INDArray f32(String op, String role, Tensor x) {
        INDArray a = in(op, role, x);
        if (x.dtype() != DType.FLOAT32) {
            throw fail(op, role + " must be FLOAT32, got " + x.dtype()
                    + (x.dtype().isFloating() ? " (cast half types to FLOAT32 first)" : ""));
        }
        return a;
    }

    /** The handle of an optional FLOAT32 input, which must have {@code shape}; null when absent. */
    INDArray optionalF32(String op, String role, Tensor x, Shape shape) {
        if (x == null) {
            return null;
        }
        INDArray a = f32(op, role, x);
        if (!x.shape().equals(shape)) {
            throw fail(op, role + " must be " + shape + ", got " + x.shape());
        }
        return a;
    }

    /**
     * A new tensor owning {@code fresh} (an array this backend made and nobody else holds); when its ND4J shape
     * differs from {@code shape} (e.g. a flat array), the handle is a reshaped view of it.
     */
    Tensor owned(INDArray fresh, DType dtype, Shape shape) {
        INDArray base = fresh;
        if (base.isView() || base.ordering() != 'c' && base.rank() > 1) {
            base = fresh.dup('c'); // not expected; keeps the invariant that storage owns a whole c-order array
        }
        INDArray handle = base;
        long[] want = dims(shape);
        if (!Arrays.equals(base.shape(), want)) {
            handle = base.length() == 0 ? alloc(base.dataType(), want) : base.reshape('c', want);
            if (base.length() == 0) {
                free(base);
                base = handle;
            }
        }
        return new Tensor(this, shape, dtype, handle, new Nd4jStorage(base));
    }

    /** A new tensor over {@code view}, a view of {@code src}'s memory, sharing (retaining) its storage. */
    Tensor shared(Tensor src, INDArray view, Shape shape) {
        return new Tensor(this, shape, src.dtype(), view, src.storage().retain());
    }

    /** Throws unless {@code a} and {@code b} have the same shape. */
    static void sameShape(String op, String aRole, Tensor a, String bRole, Tensor b) {
        if (!a.shape().equals(b.shape())) {
            throw fail(op, aRole + " " + a.shape() + " and " + bRole + " " + b.shape() + " must have the same shape");
        }
    }

    /** An exception naming the op. */
    static IllegalArgumentException fail(String op, String message) {
        return new IllegalArgumentException(op + ": " + message);
    }

    static int axis(String op, Shape shape, int axis) {
        try {
            return shape.axis(axis);
        } catch (IllegalArgumentException e) {
            throw fail(op, e.getMessage());
        }
    }

    static Shape broadcast(String op, Shape a, Shape b) {
        try {
            return Shape.broadcast(a, b);
        } catch (IllegalArgumentException e) {
            throw fail(op, e.getMessage());
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

    private static Shape removeAxis(Shape shape, int axis) {
        int[] d = new int[shape.rank() - 1];
        for (int k = 0, j = 0; k < shape.rank(); k++) {
            if (k != axis) {
                d[j++] = shape.dim(k);
            }
        }
        return Shape.of(d);
    }

    private static void checkLength(String op, int length, Shape shape) {
        if (shape == null) {
            throw fail(op, "shape is null");
        }
        if (length != shape.numel()) {
            throw fail(op, length + " values for shape " + shape + " (" + shape.numel() + " elements)");
        }
    }
}
