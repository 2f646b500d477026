package dev.perfusion.backend.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.tensor.UnaryOp;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Attention, GEGLU and embedding of the reference backend. */
@Tag("unit")
class ReferenceAttentionTest {
    private final ReferenceBackend be = new ReferenceBackend();

    @Test
    void handComputedSingleQuery() {
        // q = (1, 0), k = [(1, 0), (0, 1)]: scores (1, 0), p = (e, 1)/(e + 1); y = p0·(1, 2) + p1·(3, 4)
        Tensor q = be.fromArray(new float[] {1, 0}, Shape.of(1, 2));
        Tensor k = be.fromArray(new float[] {1, 0, 0, 1}, Shape.of(2, 2));
        Tensor v = be.fromArray(new float[] {1, 2, 3, 4}, Shape.of(2, 2));
        double p0 = Math.E / (Math.E + 1);
        double p1 = 1 / (Math.E + 1);
        float[] y = be.attention(q, k, v, null, false, 1f).toFloatArray();
        assertArrayEquals(new float[] {(float) (p0 + 3 * p1), (float) (2 * p0 + 4 * p1)}, y, 1e-7f);
        // causal: query 0 sees key 0 only
        assertArrayEquals(new float[] {1, 2}, be.attention(q, k, v, null, true, 1f).toFloatArray());
    }

    @Test
    void equalsTheExplicitComposition() {
        Tensor q = t(1, 2, 3, 4);
        Tensor k = t(2, 2, 5, 4);
        Tensor v = t(3, 2, 5, 6);
        Tensor y = be.attention(q, k, v, null, false, 0.5f);
        assertEquals(Shape.of(2, 3, 6), y.shape());
        Tolerance.FLOAT32.assertClose("attention", composed(q, k, v, null, 0.5f), y);
    }

    @Test
    void causalEqualsAnExplicitTriangularMask() {
        float scale = (float) (1 / Math.sqrt(3));
        // Lq = Lk, with two leading axes (batch, heads)
        Tensor q = t(4, 2, 2, 4, 3);
        Tensor k = t(5, 2, 2, 4, 3);
        Tensor v = t(6, 2, 2, 4, 5);
        Tolerance.FLOAT32.assertClose("causal attention", composed(q, k, v, causalMask(4, 4), scale),
                be.attention(q, k, v, null, true, scale));
        // Lq ≠ Lk: key j is masked when j > i (top-left aligned, as torch's is_causal)
        Tensor q3 = t(7, 2, 3, 3);
        Tensor k5 = t(8, 2, 5, 3);
        Tensor v5 = t(9, 2, 5, 2);
        Tolerance.FLOAT32.assertClose("causal attention Lq<Lk", composed(q3, k5, v5, causalMask(3, 5), scale),
                be.attention(q3, k5, v5, null, true, scale));
    }

    @Test
    void additiveMaskBroadcasts() {
        // q [2, 3, Lq=4, D=2], mask [3, 1, Lk=5]: one row of key biases per head, shared by every query and sample
        Tensor q = t(10, 2, 3, 4, 2);
        Tensor k = t(11, 2, 3, 5, 2);
        Tensor v = t(12, 2, 3, 5, 3);
        float[] m = TestData.normal(13, Shape.of(3, 1, 5));
        m[2] = Float.NEGATIVE_INFINITY; // head 0 ignores key 2 entirely
        Tensor mask = be.fromArray(m, Shape.of(3, 1, 5));
        Tensor y = be.attention(q, k, v, mask, false, 0.7f);
        Tolerance.FLOAT32.assertClose("masked attention", composed(q, k, v, mask, 0.7f), y);
        // mask and causal together: both apply
        Tensor q5 = t(14, 2, 3, 5, 2);
        Tensor both = be.binary(BinaryOp.ADD, mask, causalMask(5, 5));
        Tolerance.FLOAT32.assertClose("masked causal attention", composed(q5, k, v, both, 0.7f),
                be.attention(q5, k, v, mask, true, 0.7f));
    }

    @Test
    void rejectsMismatchedShapes() {
        Tensor q = t(1, 2, 3, 4);
        Tensor k = t(2, 2, 5, 3);
        Tensor v = t(3, 2, 5, 6);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.attention(q, k, v, null, false, 1f));
        assertTrue(e.getMessage().contains("attention") && e.getMessage().contains("[2, 5, 3]"), e.getMessage());
        Tensor k4 = t(2, 2, 5, 4);
        Tensor badMask = be.fromArray(new float[4], Shape.of(4));
        e = assertThrows(IllegalArgumentException.class, () -> be.attention(q, k4, v, badMask, false, 1f));
        assertTrue(e.getMessage().contains("mask"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> be.attention(q, k4, t(4, 1, 5, 6), null, false, 1f));
    }

    @Test
    void gegluIsHiddenTimesGeluOfGate() {
        // x = (h0, h1, g0, g1) = (2, −1, 1, 0.5): y = (2·GELU(1), −1·GELU(0.5)); GELU(x) = x·Φ(x)
        // Φ(1) = 0.8413447460685429, Φ(0.5) = 0.6914624612740131
        Tensor x = be.fromArray(new float[] {2, -1, 1, 0.5f}, Shape.of(1, 4));
        Tensor y = be.geglu(x);
        assertEquals(Shape.of(1, 2), y.shape());
        assertArrayEquals(new float[] {(float) (2 * 0.8413447460685429), (float) (-0.5 * 0.6914624612740131)},
                y.toFloatArray(), 1e-7f);

        // as diffusers' GEGLU: hidden_states, gate = proj.chunk(2, dim=-1); hidden_states * gelu(gate)
        Shape s = Shape.of(2, 3, 8);
        Tensor r = be.fromArray(TestData.normal(20, s), s);
        Tensor expected = be.binary(BinaryOp.MUL, be.slice(r, -1, 0, 4), be.unary(UnaryOp.GELU, be.slice(r, -1, 4, 8)));
        Tolerance.FLOAT32.assertClose("geglu", expected, be.geglu(r));
        assertThrows(IllegalArgumentException.class, () -> be.geglu(be.fromArray(new float[3], Shape.of(3))));
    }

    @Test
    void embeddingGathersRows() {
        Tensor w = be.fromArray(TestData.arange(12), Shape.of(4, 3)); // row r = (3r, 3r+1, 3r+2)
        Tensor ids = be.fromArray(new long[] {3, 0, 1, 3}, Shape.of(2, 2));
        Tensor y = be.embedding(w, ids);
        assertEquals(Shape.of(2, 2, 3), y.shape());
        assertArrayEquals(new float[] {9, 10, 11, 0, 1, 2, 3, 4, 5, 9, 10, 11}, y.toFloatArray());
        Tensor one = be.embedding(w, be.fromArray(new int[] {2}, Shape.of()));
        assertEquals(Shape.of(3), one.shape());
        assertArrayEquals(new float[] {6, 7, 8}, one.toFloatArray());
    }

    @Test
    void embeddingRejectsOutOfRangeIdsNamingThem() {
        Tensor w = be.fromArray(new float[12], Shape.of(4, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.embedding(w, be.fromArray(new long[] {1, 4}, Shape.of(2))));
        assertTrue(e.getMessage().contains("embedding") && e.getMessage().contains("id 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> be.embedding(w, be.fromArray(new int[] {-1}, Shape.of(1))));
        assertTrue(e.getMessage().contains("id -1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> be.embedding(w, be.fromArray(new float[] {1}, Shape.of(1))));
        assertTrue(e.getMessage().contains("FLOAT32"), e.getMessage());
    }

    @Test
    void embeddingBackwardScatterAddsRows() {
        Tensor ids = be.fromArray(new int[] {1, 0, 1}, Shape.of(3));
        Tensor dy = be.fromArray(new float[] {1, 2, 3, 4, 5, 6}, Shape.of(3, 2));
        Tensor dw = be.embeddingBackward(dy, ids, 3);
        assertEquals(Shape.of(3, 2), dw.shape());
        assertArrayEquals(new float[] {3, 4, 6, 8, 0, 0}, dw.toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> be.embeddingBackward(dy, ids, 1));
        assertThrows(IllegalArgumentException.class,
                () -> be.embeddingBackward(be.fromArray(new float[4], Shape.of(2, 2)), ids, 3));
    }

    /** softmax(scale·q·kᵀ + mask)·v from the backend's own matmul, affine, add and softmax. */
    private Tensor composed(Tensor q, Tensor k, Tensor v, Tensor mask, float scale) {
        Tensor s = be.affine(be.matmul(q, k, false, true), scale, 0f);
        if (mask != null) {
            s = be.binary(BinaryOp.ADD, s, mask);
        }
        return be.matmul(be.softmax(s), v, false, false);
    }

    /** An additive [Lq, Lk] mask with −∞ where key j &gt; query i. */
    private Tensor causalMask(int lq, int lk) {
        float[] m = new float[lq * lk];
        for (int i = 0; i < lq; i++) {
            for (int j = i + 1; j < lk; j++) {
                m[i * lk + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return be.fromArray(m, Shape.of(lq, lk));
    }

    private Tensor t(long seed, int... dims) {
        Shape s = Shape.of(dims);
        return be.fromArray(TestData.normal(seed, s), s);
    }
}
