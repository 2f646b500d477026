package dev.perfusion.tensor;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * The primitive ops every compute backend provides. Models never call a backend directly; they go through
 * {@link dev.perfusion.autograd.Ops}, which adds gradient tracking. Conventions:
 * <ul>
 *   <li>Every op returns a new tensor on this backend; inputs are not modified.</li>
 *   <li>Arithmetic is on {@link DType#FLOAT32} tensors (half types are storage formats: {@link #cast} first);
 *       index inputs are {@link DType#INT64} or {@link DType#INT32}. A wrong dtype, a shape mismatch or a
 *       tensor from another backend is an {@link IllegalArgumentException} naming the op.</li>
 *   <li>Images are NCHW; conv weights OIHW (PyTorch layout); attention tensors [..., L, D].</li>
 *   <li>An op a backend cannot run throws {@link UnsupportedOperationException} naming op and backend:
 *       there is no silent fallback to another backend.</li>
 * </ul>
 */
public interface Backend extends AutoCloseable {

    /** Short name: {@code reference}, {@code nd4j}, {@code cuda}. */
    String name();

    // ------------------------------------------------------------------ memory

    /** A FLOAT32 tensor holding a copy of {@code data} (row-major) with the given shape. */
    Tensor fromArray(float[] data, Shape shape);

    /** An INT64 tensor holding a copy of {@code data}. */
    Tensor fromArray(long[] data, Shape shape);

    /** An INT32 tensor holding a copy of {@code data}. */
    Tensor fromArray(int[] data, Shape shape);

    /**
     * A tensor over little-endian raw bytes of {@code dtype} (safetensors data), {@code data.remaining()} bytes
     * from its position. The backend may copy or wrap the buffer; a wrapped buffer is kept reachable for as
     * long as the tensor lives, and is never written to.
     */
    Tensor fromBytes(ByteBuffer data, DType dtype, Shape shape);

    /** The values widened to float, row-major (any dtype). */
    float[] toFloatArray(Tensor x);

    /** The values of an integer tensor, row-major. */
    long[] toLongArray(Tensor x);

    /** y = x converted to {@code dtype} (round to nearest even for half types). */
    Tensor cast(Tensor x, DType dtype);

    /** y = a FLOAT32 tensor of {@code shape} filled with {@code value}. */
    Tensor full(Shape shape, float value);

    // ------------------------------------------------------------------ elementwise

    /** y = f(x) elementwise. */
    Tensor unary(UnaryOp op, Tensor x);

    /** dx = dy · f′(x) elementwise (the backward of {@link #unary}). */
    Tensor unaryBackward(UnaryOp op, Tensor x, Tensor dy);

    /** y = f(a, b) elementwise with NumPy broadcasting of the shapes. */
    Tensor binary(BinaryOp op, Tensor a, Tensor b);

    /** y = scale·x + shift elementwise. */
    Tensor affine(Tensor x, float scale, float shift);

    /** y = x^p elementwise (p a constant). */
    Tensor pow(Tensor x, float p);

    // ------------------------------------------------------------------ reductions

    /** y = Σ x over {@code axes} (empty: all axes); reduced axes kept as size 1 when {@code keepDims}. */
    Tensor sum(Tensor x, int[] axes, boolean keepDims);

    /** y = max x along {@code axis}. */
    Tensor max(Tensor x, int axis, boolean keepDims);

    // ------------------------------------------------------------------ shape

    /** y = x with a new shape of the same element count (row-major order unchanged; may share memory). */
    Tensor reshape(Tensor x, Shape shape);

    /** y[i_{p0}, i_{p1}, …] = x[i0, i1, …]: axes reordered so that output axis k is input axis {@code perm[k]}. */
    Tensor permute(Tensor x, int... perm);

    /** y = x[…, start:end, …] along {@code axis} (step 1). */
    Tensor slice(Tensor x, int axis, int start, int end);

    /** y = the tensors joined along {@code axis}; all other axes equal. */
    Tensor concat(List<Tensor> xs, int axis);

    /** y = x padded with {@code value}: {@code before[i]} and {@code after[i]} elements on axis i. */
    Tensor pad(Tensor x, int[] before, int[] after, float value);

    /** y = x broadcast (NumPy rules) to {@code shape}, materialised. */
    Tensor expand(Tensor x, Shape shape);

    // ------------------------------------------------------------------ linear algebra

    /**
     * y = op(a)·op(b) with op = transpose of the last two axes when the flag is set:
     * [..., M, K]·[..., K, N] → [..., M, N]; leading (batch) axes broadcast.
     */
    Tensor matmul(Tensor a, Tensor b, boolean transposeA, boolean transposeB);

    // ------------------------------------------------------------------ neural-network ops

    /**
     * y[n,o,i,j] = bias[o] + Σ_{c,p,q} w[o,c,p,q] · x[n,c, i·s+p−pad, j·s+q−pad] (zero outside):
     * x [N,C,H,W], w [O,C,kH,kW], bias [O] or null → [N,O,(H+2pad−kH)/s+1,(W+2pad−kW)/s+1].
     */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding);

    /** dx of {@link #conv2d} (a transposed convolution of dy by w), shaped like the input {@code xShape}. */
    Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape xShape, int stride, int padding);

    /** dw[o,c,p,q] = Σ_{n,i,j} dy[n,o,i,j] · x[n,c,i·s+p−pad, j·s+q−pad], shaped {@code wShape}. */
    Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape wShape, int stride, int padding);

    /**
     * y = (x − μ_g)/√(σ²_g + eps)·γ[c] + β[c], μ and σ² (biased) over each group of C/groups channels and all
     * spatial positions of one sample: x [N,C,*], γ and β [C] (either may be null: 1 and 0).
     */
    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps);

    /** Gradients of {@link #groupNorm} with respect to x, γ and β (dγ null when γ is null; dβ always given). */
    NormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, float eps, Tensor dy);

    /** y = (x − μ)/√(σ² + eps)·γ + β over the last axis: x [..., D], γ and β [D] (either may be null). */
    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps);

    /** Gradients of {@link #layerNorm} with respect to x, γ and β (dγ null when γ is null; dβ always given). */
    NormGrads layerNormBackward(Tensor x, Tensor gamma, float eps, Tensor dy);

    /** y = e^(x − max x) / Σ e^(x − max x) over the last axis. */
    Tensor softmax(Tensor x);

    /** dx = y ⊙ (dy − Σ(dy ⊙ y)) over the last axis, from the softmax output y. */
    Tensor softmaxBackward(Tensor y, Tensor dy);

    /**
     * Scaled dot-product attention y = softmax(scale·q·kᵀ + mask)·v: q [..., Lq, D], k [..., Lk, D],
     * v [..., Lk, Dv] → [..., Lq, Dv]. {@code mask} is additive, broadcastable to [..., Lq, Lk], or null;
     * {@code causal} masks key j &gt; query i.
     */
    Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale);

    /** Gradients of {@link #attention} with respect to q, k and v. */
    AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale, Tensor dy);

    /** GEGLU: x [..., 2F] split into (h, g) along the last axis; y = h · GELU(g) → [..., F] (erf GELU). */
    Tensor geglu(Tensor x);

    /** dx of {@link #geglu}: [..., 2F]. */
    Tensor gegluBackward(Tensor x, Tensor dy);

    /** Nearest-neighbour ×2 upsampling: y[n,c,i,j] = x[n,c,⌊i/2⌋,⌊j/2⌋], [N,C,H,W] → [N,C,2H,2W]. */
    Tensor upsampleNearest2x(Tensor x);

    /** dx[n,c,i,j] = Σ of dy over the 2×2 block (2i..2i+1, 2j..2j+1). */
    Tensor upsampleNearest2xBackward(Tensor dy);

    /** Embedding gather: y[..., :] = weight[ids[...], :]; weight [V,D], ids integer [...] → [..., D]. */
    Tensor embedding(Tensor weight, Tensor ids);

    /** dW = scatter-add of dy rows into a zero [vocab, D] at rows ids. */
    Tensor embeddingBackward(Tensor dy, Tensor ids, int vocab);

    // ------------------------------------------------------------------ random

    /** Standard normal noise from a host seed: the same values on every backend ({@link HostRandom}). */
    default Tensor randn(Shape shape, long seed) {
        return fromArray(HostRandom.normal(seed, shape.numelInt()), shape);
    }

    /** Releases backend-wide resources (none for CPU backends). Tensors must be closed before. */
    @Override
    default void close() {
    }
}
