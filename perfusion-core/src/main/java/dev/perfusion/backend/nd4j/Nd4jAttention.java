package dev.perfusion.backend.nd4j;

import static dev.perfusion.backend.nd4j.Nd4jArrays.allocFloat;
import static dev.perfusion.backend.nd4j.Nd4jArrays.batchedGemm;
import static dev.perfusion.backend.nd4j.Nd4jArrays.broadcastOp;
import static dev.perfusion.backend.nd4j.Nd4jArrays.free;
import static dev.perfusion.backend.nd4j.Nd4jArrays.matrix;
import static dev.perfusion.backend.nd4j.Nd4jArrays.view;
import static dev.perfusion.backend.nd4j.Nd4jBackend.fail;

import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Scaled dot-product attention of {@link Nd4jBackend}, composed over blocks of (batch, head) matrices: S =
 * scale·q·kᵀ by one batched GEMM with the scale as alpha, the masks added by broadcasting, softmax over the rank-3
 * block (oneDNN), and P·v by batched GEMM into the preallocated output. A few heads share one reused score buffer, so memory
 * stays at {@link #ATTENTION_CHUNK} floats whatever the batch. libnd4j's {@code dot_product_attention} is never
 * used: it measured 5–15× slower (engine-notes §2).
 */
final class Nd4jAttention {
    /** Score elements per chunk (64 MB): one 4096×4096 head, or many small ones, per softmax call. */
    static final long ATTENTION_CHUNK = 16L << 20;

    private final Nd4jBackend b;
    private final long attentionChunk;

    Nd4jAttention(Nd4jBackend backend) {
        this(backend, ATTENTION_CHUNK);
    }

    /** With a chosen score-buffer size in elements (tests use a small one to exercise partial chunks). */
    Nd4jAttention(Nd4jBackend backend, long attentionChunk) {
        this.b = backend;
        this.attentionChunk = attentionChunk;
    }

    /** Checked attention sizes: B batch·head matrices of q [Lq, D], k [Lk, D], v [Lk, Dv]. */
    private record Attn(Shape batch, int count, int lq, int lk, int d, int dv) {
        Shape out() {
            int[] o = Arrays.copyOf(batch.dims(), batch.rank() + 2);
            o[batch.rank()] = lq;
            o[batch.rank() + 1] = dv;
            return Shape.of(o);
        }
    }

    private Attn attnLayout(String op, Tensor q, Tensor k, Tensor v) {
        int rank = q.rank();
        if (rank < 2 || k.rank() != rank || v.rank() != rank) {
            throw fail(op, "q, k, v must be [..., L, D] of equal rank >= 2, got q " + q.shape() + ", k " + k.shape()
                    + ", v " + v.shape());
        }
        int[] lead = Arrays.copyOf(q.shape().dims(), rank - 2);
        if (!Arrays.equals(Arrays.copyOf(k.shape().dims(), rank - 2), lead)
                || !Arrays.equals(Arrays.copyOf(v.shape().dims(), rank - 2), lead)) {
            throw fail(op, "q " + q.shape() + ", k " + k.shape() + ", v " + v.shape() + " must share their leading axes");
        }
        if (k.dim(-1) != q.dim(-1) || v.dim(-2) != k.dim(-2)) {
            throw fail(op, "need q [..., Lq, D], k [..., Lk, D], v [..., Lk, Dv], got q " + q.shape() + ", k "
                    + k.shape() + ", v " + v.shape());
        }
        return new Attn(Shape.of(lead), Nd4jArrays.product(lead, 0, lead.length), q.dim(-2), k.dim(-2), q.dim(-1),
                v.dim(-1));
    }

    /** The additive mask, checked, addressed per batch matrix (a [mq, mk] view with mq ∈ {1, Lq}, mk ∈ {1, Lk}). */
    private final class Mask {
        final INDArray data;
        final int mq;
        final int mk;
        final int[] index; // mask matrix of each batch entry
        final boolean shared; // one matrix for every batch entry

        Mask(String op, Tensor mask, Attn a) {
            data = b.f32(op, "mask", mask);
            int[] scores = Arrays.copyOf(a.batch().dims(), a.batch().rank() + 2);
            scores[a.batch().rank()] = a.lq();
            scores[a.batch().rank() + 1] = a.lk();
            if (!Nd4jBackend.broadcastsTo(mask.shape(), Shape.of(scores))) {
                throw fail(op, "mask " + mask.shape() + " does not broadcast to the scores " + Shape.of(scores));
            }
            int[] md = new int[scores.length];
            Arrays.fill(md, 1);
            int lead = scores.length - mask.rank();
            for (int i = 0; i < mask.rank(); i++) {
                md[lead + i] = mask.dim(i);
            }
            mq = md[scores.length - 2];
            mk = md[scores.length - 1];
            int[] mb = Arrays.copyOf(md, scores.length - 2);
            index = Nd4jArrays.broadcastIndex(a.batch().dims(), mb);
            shared = Nd4jArrays.product(mb, 0, mb.length) == 1;
        }

        INDArray matrixFor(int batch) {
            return matrix(data, (long) index[batch] * mq * mk, mq, mk);
        }
    }

    /** [Lq, Lk] additive causal mask: 0 where key j ≤ query i, −∞ elsewhere. */
    private static INDArray causalMask(int lq, int lk) {
        float[] m = new float[lq * lk];
        for (int i = 0; i < lq; i++) {
            for (int j = i + 1; j < lk; j++) {
                m[i * lk + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return Nd4j.create(m, new long[] {lq, lk}, 'c');
    }

    private int chunk(Attn a) {
        long per = Math.max(1L, (long) a.lq() * a.lk());
        return (int) Math.max(1, Math.min(a.count(), attentionChunk / per));
    }

    /** P = softmax(scale·q·kᵀ + mask + causal) for batch entries [b0, b0+h) into p [h, Lq, Lk]. */
    private static void probabilities(INDArray qa, INDArray ka, Attn a, Mask mask, INDArray causal, float scale,
                                      int b0, int h, INDArray p) {
        if (a.d() == 0) {
            p.assign(0); // empty dot products
        } else {
            batchedGemm(view(qa, (long) b0 * a.lq() * a.d(), h, a.lq(), a.d()),
                    view(ka, (long) b0 * a.lk() * a.d(), h, a.lk(), a.d()), p, false, true, scale); // [h, Lq, Lk]
        }
        if (mask != null && !mask.shared) {
            long ss = (long) a.lq() * a.lk();
            for (int i = 0; i < h; i++) {
                INDArray si = matrix(p, i * ss, a.lq(), a.lk());
                broadcastOp("add", si, mask.matrixFor(b0 + i), si);
            }
        }
        if (mask != null && mask.shared) {
            broadcastOp("add", p, mask.matrixFor(0), p);
        }
        if (causal != null) {
            broadcastOp("add", p, causal, p);
        }
        Nd4j.exec(new SoftMax(p, p, -1));
    }

    Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        String op = "attention";
        INDArray qa = b.f32(op, "q", q);
        INDArray ka = b.f32(op, "k", k);
        INDArray va = b.f32(op, "v", v);
        Attn a = attnLayout(op, q, k, v);
        Mask m = mask == null ? null : new Mask(op, mask, a);
        INDArray y = allocFloat(a.count(), a.lq(), a.dv());
        if (y.length() == 0) {
            return b.owned(y, DType.FLOAT32, a.out());
        }
        if (a.lk() == 0) {
            y.assign(0); // no keys: an empty weighted sum
            return b.owned(y, DType.FLOAT32, a.out());
        }
        int chunk = chunk(a);
        INDArray c = causal ? causalMask(a.lq(), a.lk()) : null;
        INDArray p = allocFloat(chunk, a.lq(), a.lk());
        try {
            long vs = (long) a.lk() * a.dv();
            long ys = (long) a.lq() * a.dv();
            for (int b0 = 0; b0 < a.count(); b0 += chunk) {
                int h = Math.min(chunk, a.count() - b0);
                INDArray ph = h == chunk ? p : view(p, 0, h, a.lq(), a.lk());
                probabilities(qa, ka, a, m, c, scale, b0, h, ph);
                batchedGemm(ph, view(va, b0 * vs, h, a.lk(), a.dv()), view(y, b0 * ys, h, a.lq(), a.dv()),
                        false, false, 1.0);                                                   // [h, Lq, Dv]
            }
        } catch (RuntimeException e) {
            free(y);
            throw e;
        } finally {
            free(p, c);
        }
        return b.owned(y, DType.FLOAT32, a.out());
    }

    /**
     * dv = Pᵀ·dy; dP = dy·vᵀ; dS = P ⊙ (dP − rowsum(dP ⊙ P)); dq = scale·dS·k; dk = scale·dSᵀ·q, with P recomputed
     * chunk by chunk.
     */
    AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale,
                                     Tensor dy) {
        String op = "attentionBackward";
        INDArray qa = b.f32(op, "q", q);
        INDArray ka = b.f32(op, "k", k);
        INDArray va = b.f32(op, "v", v);
        INDArray dya = b.f32(op, "dy", dy);
        Attn a = attnLayout(op, q, k, v);
        if (!dy.shape().equals(a.out())) {
            throw fail(op, "dy " + dy.shape() + " does not match the attention output " + a.out());
        }
        Mask m = mask == null ? null : new Mask(op, mask, a);
        INDArray dq = Nd4jArrays.zerosFloat(Nd4jArrays.dims(q.shape()));
        INDArray dk = Nd4jArrays.zerosFloat(Nd4jArrays.dims(k.shape()));
        INDArray dv = Nd4jArrays.zerosFloat(Nd4jArrays.dims(v.shape()));
        INDArray c = null;
        INDArray p = null;
        INDArray dp = null;
        try {
            if (a.count() > 0 && a.lq() > 0 && a.lk() > 0) {
                int chunk = chunk(a);
                c = causal ? causalMask(a.lq(), a.lk()) : null;
                p = allocFloat(chunk, a.lq(), a.lk());
                dp = allocFloat(chunk, a.lq(), a.lk());
                long qs = (long) a.lq() * a.d();
                long ks = (long) a.lk() * a.d();
                long vs = (long) a.lk() * a.dv();
                long ys = (long) a.lq() * a.dv();
                for (int b0 = 0; b0 < a.count(); b0 += chunk) {
                    int h = Math.min(chunk, a.count() - b0);
                    INDArray ph = h == chunk ? p : view(p, 0, h, a.lq(), a.lk());
                    INDArray dph = h == chunk ? dp : view(dp, 0, h, a.lq(), a.lk());
                    probabilities(qa, ka, a, m, c, scale, b0, h, ph);
                    if (a.dv() == 0) {
                        dph.assign(0);
                    } else {
                        INDArray dyh = view(dya, b0 * ys, h, a.lq(), a.dv());                // [h, Lq, Dv]
                        batchedGemm(ph, dyh, view(dv, b0 * vs, h, a.lk(), a.dv()), true, false, 1.0); // Pᵀ·dy
                        batchedGemm(dyh, view(va, b0 * vs, h, a.lk(), a.dv()), dph, false, true, 1.0); // dy·vᵀ
                    }
                    // dS = P⊙dP − P⊙rowsum(P⊙dP), left in dph
                    dph.muli(ph);
                    INDArray rows = dph.sum(true, 2);
                    try {
                        broadcastOp("multiply", ph, rows, ph);
                    } finally {
                        free(rows);
                    }
                    dph.subi(ph);
                    if (a.d() > 0) {
                        batchedGemm(dph, view(ka, b0 * ks, h, a.lk(), a.d()), view(dq, b0 * qs, h, a.lq(), a.d()),
                                false, false, scale);                                        // [h, Lq, D]
                        batchedGemm(dph, view(qa, b0 * qs, h, a.lq(), a.d()), view(dk, b0 * ks, h, a.lk(), a.d()),
                                true, false, scale);                                         // [h, Lk, D]
                    }
                }
            }
            AttentionGrads grads = new AttentionGrads(b.owned(dq, DType.FLOAT32, q.shape()),
                    b.owned(dk, DType.FLOAT32, k.shape()), b.owned(dv, DType.FLOAT32, v.shape()));
            dq = null;
            dk = null;
            dv = null;
            return grads;
        } finally {
            free(dq, dk, dv, c, p, dp);
        }
    }
}
