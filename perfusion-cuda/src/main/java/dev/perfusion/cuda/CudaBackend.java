package dev.perfusion.cuda;

import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The {@code cuda} backend: tensors live in device memory and every op runs as this module's own kernels (JCuda's
 * driver API only), on one {@link CudaDevice} and its single stream.
 *
 * <p>Tensors: a tensor's handle is a {@link CudaHandle} (device buffer + element offset) over contiguous row-major
 * data; its storage is a {@link CudaStorage}. A reshape shares the storage; every other op makes a new contiguous
 * tensor. Work is asynchronous: an op returns once its kernels are enqueued, and {@link #toFloatArray} /
 * {@link #toLongArray} wait for everything before them.
 *
 * <p>Dtypes: FLOAT32 for all ops. FLOAT16 and BFLOAT16 storage (float32 arithmetic inside the kernels, one rounding
 * on store; the result has the input's dtype) for {@code cast}, {@code unary(+Backward)}, {@code binary},
 * {@code affine}, {@code pow}, {@code matmul}, {@code conv2d} and its gradients, {@code groupNorm},
 * {@code layerNorm}, {@code softmax} (and their gradients, γ/β in x's dtype), {@code attention(+Backward)} (mask
 * always FLOAT32), {@code geglu(+Backward)} and {@code upsampleNearest2x(+Backward)}. The rearrangements
 * (reshape, permute, slice, concat, pad, expand) work on every dtype. {@code sum}, {@code max} and the embedding
 * weights are FLOAT32 only. All floating operands of one call must share a dtype. Bad dtypes, shapes, or tensors
 * of another backend are {@link IllegalArgumentException}s naming the op, worded as the reference backend's.
 *
 * <p>Determinism: no kernel uses atomics for accumulation, so repeated runs give bit-identical results.
 */
public final class CudaBackend implements Backend {
    /** The name users select this backend by. */
    public static final String NAME = "cuda";

    private final CudaDevice device;
    private final CudaContext cx;
    private final CudaShapeOps shapes;
    private final CudaMemoryOps memory;
    private final CudaElementwise elementwise;
    private final CudaReductions reductions;
    private final CudaNorms norms;
    private final CudaLinear linear;
    private final CudaEmbedding embedding;

    /** A backend on an open device, which it owns and closes in {@link #close()}. */
    public CudaBackend(CudaDevice device) {
        this.device = device;
        this.cx = new CudaContext(this, device);
        this.shapes = new CudaShapeOps(cx);
        this.memory = new CudaMemoryOps(cx, shapes);
        this.elementwise = new CudaElementwise(cx);
        this.reductions = new CudaReductions(cx, shapes);
        this.norms = new CudaNorms(cx, reductions, memory, shapes);
        this.linear = new CudaLinear(cx, shapes);
        this.embedding = new CudaEmbedding(cx, memory, shapes);
    }

    /**
     * Opens device {@code ordinal} and a backend on it.
     *
     * @param debugSync synchronise and check for errors after every kernel launch (slow; for debugging)
     */
    public static CudaBackend open(int ordinal, boolean debugSync) {
        return new CudaBackend(CudaDevice.open(ordinal, debugSync));
    }

    /** {@inheritDoc} */
    @Override
    public String name() {
        return NAME;
    }

    /** The device this backend runs on. */
    public CudaDevice device() {
        return device;
    }

    /** Waits for all enqueued work (for timing; results never need it). */
    public void synchronize() {
        device.synchronize();
    }

    @Override
    public String toString() {
        return "CudaBackend[" + device + "]";
    }

    // ------------------------------------------------------------------ memory

    /** {@inheritDoc} */
    @Override
    public Tensor fromArray(float[] data, Shape shape) {
        return memory.fromArray(data, shape);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor fromArray(long[] data, Shape shape) {
        return memory.fromArray(data, shape);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor fromArray(int[] data, Shape shape) {
        return memory.fromArray(data, shape);
    }

    /** {@inheritDoc} The bytes are always copied to the device. */
    @Override
    public Tensor fromBytes(ByteBuffer data, DType dtype, Shape shape) {
        return memory.fromBytes(data, dtype, shape);
    }

    /** {@inheritDoc} Waits for the work that produces {@code x}. */
    @Override
    public float[] toFloatArray(Tensor x) {
        return memory.toFloatArray(x);
    }

    /** {@inheritDoc} Waits for the work that produces {@code x}. */
    @Override
    public long[] toLongArray(Tensor x) {
        return memory.toLongArray(x);
    }

    /**
     * {@inheritDoc} As the reference: round to nearest even for half types; float to integer truncates toward zero
     * and saturates (NaN gives 0); INT64 to INT32 keeps the low 32 bits.
     */
    @Override
    public Tensor cast(Tensor x, DType dtype) {
        return memory.cast(x, dtype);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor full(Shape shape, float value) {
        return memory.full(shape, value);
    }

    // ------------------------------------------------------------------ elementwise

    /** {@inheritDoc} Float arithmetic (IEEE expf, erff, …: no fast-math). */
    @Override
    public Tensor unary(UnaryOp op, Tensor x) {
        return elementwise.unary(op, x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy) {
        return elementwise.unaryBackward(op, x, dy);
    }

    /** {@inheritDoc} Maximum and minimum propagate NaN, as {@link Math#max(float, float)}. */
    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        return elementwise.binary(op, a, b);
    }

    /** {@inheritDoc} Computed as one fused multiply-add. */
    @Override
    public Tensor affine(Tensor x, float scale, float shift) {
        return elementwise.affine(x, scale, shift);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor pow(Tensor x, float p) {
        return elementwise.pow(x, p);
    }

    // ------------------------------------------------------------------ reductions

    /** {@inheritDoc} FLOAT32; double accumulation; repeated axes are an error. */
    @Override
    public Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        return reductions.sum(x, axes, keepDims);
    }

    /** {@inheritDoc} FLOAT32; NaN propagates. */
    @Override
    public Tensor max(Tensor x, int axis, boolean keepDims) {
        return reductions.max(x, axis, keepDims);
    }

    // ------------------------------------------------------------------ shape

    /** {@inheritDoc} Always a view sharing the device memory; any dtype. */
    @Override
    public Tensor reshape(Tensor x, Shape shape) {
        return shapes.reshape(x, shape);
    }

    /** {@inheritDoc} Any dtype. */
    @Override
    public Tensor permute(Tensor x, int... perm) {
        return shapes.permute(x, perm);
    }

    /** {@inheritDoc} Needs 0 ≤ start ≤ end ≤ size; any dtype. */
    @Override
    public Tensor slice(Tensor x, int axis, int start, int end) {
        return shapes.slice(x, axis, start, end);
    }

    /** {@inheritDoc} All tensors share one dtype (any). */
    @Override
    public Tensor concat(List<Tensor> xs, int axis) {
        return shapes.concat(xs, axis);
    }

    /** {@inheritDoc} Any dtype; the value is rounded to a half type and must be whole for an integer type. */
    @Override
    public Tensor pad(Tensor x, int[] before, int[] after, float value) {
        return shapes.pad(x, before, after, value);
    }

    /** {@inheritDoc} Any dtype. */
    @Override
    public Tensor expand(Tensor x, Shape shape) {
        return shapes.expand(x, shape);
    }

    // ------------------------------------------------------------------ linear algebra

    /** {@inheritDoc} Both operands need rank ≥ 2; tensor-core GEMM with float accumulation. */
    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transposeA, boolean transposeB) {
        return linear.matmul(a, b, transposeA, transposeB);
    }

    // ------------------------------------------------------------------ neural-network ops

    /** {@inheritDoc} */
    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        return linear.conv2d(x, w, bias, stride, padding);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, int stride, int padding) {
        return linear.conv2dBackwardInput(dy, w, xShape, stride, padding);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape wShape, int stride, int padding) {
        return linear.conv2dBackwardWeight(dy, x, wShape, stride, padding);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return norms.groupNorm(x, groups, gamma, beta, eps);
    }

    /** {@inheritDoc} dβ is always returned; dγ is null when γ is null. */
    @Override
    public NormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, float eps, Tensor dy) {
        return norms.groupNormBackward(x, groups, gamma, eps, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return norms.layerNorm(x, gamma, beta, eps);
    }

    /** {@inheritDoc} dβ is always returned; dγ is null when γ is null. */
    @Override
    public NormGrads layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dy) {
        return norms.layerNormBackward(x, gamma, eps, dy);
    }

    /** {@inheritDoc} A row that is entirely −∞ gives NaN, as in the reference. */
    @Override
    public Tensor softmax(Tensor x) {
        return norms.softmax(x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy) {
        return norms.softmaxBackward(y, dy);
    }

    /**
     * {@inheritDoc} One fused kernel with online softmax; a broadcast mask is materialised to [..., Lq, Lk] first.
     * A fully masked row gives 0 (the reference's softmax gives NaN there).
     */
    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        return linear.attention(q, k, v, mask, causal, scale);
    }

    /** {@inheritDoc} Recomputes the forward's output and log-sum-exp, then runs the fused backward. */
    @Override
    public AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale,
                                            Tensor dy) {
        return linear.attentionBackward(q, k, v, mask, causal, scale, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor geglu(Tensor x) {
        return elementwise.geglu(x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor gegluBackward(Tensor x, Tensor dy) {
        return elementwise.gegluBackward(x, dy);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        return elementwise.upsampleNearest2x(x);
    }

    /** {@inheritDoc} */
    @Override
    public Tensor upsampleNearest2xBackward(Tensor dy) {
        return elementwise.upsampleNearest2xBackward(dy);
    }

    /** {@inheritDoc} FLOAT32 weight; an id outside [0, V) is an {@link IllegalArgumentException} naming it. */
    @Override
    public Tensor embedding(Tensor weight, Tensor ids) {
        return embedding.embedding(weight, ids);
    }

    /** {@inheritDoc} Deterministic: each row's contributions are added in token order, without atomics. */
    @Override
    public Tensor embeddingBackward(Tensor dy, Tensor ids, int vocab) {
        return embedding.embeddingBackward(dy, ids, vocab);
    }

    // randn: the interface's default (HostRandom on the host, then copied) gives every backend the same values

    /** Closes the device: its cached memory, modules, stream and context. Tensors must be closed before. */
    @Override
    public void close() {
        device.close();
    }
}
