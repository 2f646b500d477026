package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaTestSupport.REF;
import static dev.perfusion.cuda.CudaTestSupport.check;
import static dev.perfusion.cuda.CudaTestSupport.cuda;
import static dev.perfusion.cuda.CudaTestSupport.randnPair;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.cuda.CudaTestSupport.Pair;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The neural-network ops of {@link CudaBackend} other than products (group norm, layer norm, softmax, GEGLU,
 * upsampling, embedding), forward and backward, FLOAT32, against the reference at odd sizes and at the SD v1.5
 * shapes (64×64×320, 32×32×640, 16×16×1280, 8×8×1280 activations; 77×768 text), plus determinism. Tier
 * {@code cuda}: skipped with the probe's reason without a GPU.
 */
@Tag("cuda")
class CudaBackendNnOpsTest {
    /** SD v1.5 UNet activations at batch 2 (the classifier-free guidance pair). */
    static final Shape[] SD_ACTIVATIONS = {
        Shape.of(2, 320, 64, 64), Shape.of(2, 640, 32, 32), Shape.of(2, 1280, 16, 16), Shape.of(2, 1280, 8, 8)};
    /** Statistics over 40 960 elements: float rounding of the normalised values, not of the sums, dominates. */
    private static final Tolerance NORM = new Tolerance(2e-5, 2e-4);
    private TensorScope scope;

    @BeforeEach
    void open() {
        CudaTestSupport.needsAGpu();
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        if (scope != null) {
            scope.close();
        }
    }

    private static void checkGroupNorm(String what, Shape shape, int groups, boolean affine, long seed) {
        int c = shape.dim(1);
        Pair x = randnPair(seed, shape);
        Pair gamma = affine ? CudaTestSupport.pair(CudaTestSupport.uniform(seed + 1, c, 0.5f, 1.5f), Shape.of(c),
                DType.FLOAT32) : new Pair(null, null);
        Pair beta = affine ? randnPair(seed + 2, Shape.of(c)) : new Pair(null, null);
        Pair dy = randnPair(seed + 3, shape);
        check(what + " forward", REF.groupNorm(x.ref(), groups, gamma.ref(), beta.ref(), 1e-5f),
                cuda().groupNorm(x.gpu(), groups, gamma.gpu(), beta.gpu(), 1e-5f), DType.FLOAT32, NORM);
        NormGrads r = REF.groupNormBackward(x.ref(), groups, gamma.ref(), 1e-5f, dy.ref());
        NormGrads g = cuda().groupNormBackward(x.gpu(), groups, gamma.gpu(), 1e-5f, dy.gpu());
        check(what + " dx", r.dx(), g.dx(), DType.FLOAT32, NORM);
        int k = (int) (shape.numel() / c);
        check(what + " dbeta", r.dBeta(), g.dBeta(), DType.FLOAT32, CudaTestSupport.sumTolerance(DType.FLOAT32, k));
        if (affine) {
            check(what + " dgamma", r.dGamma(), g.dGamma(), DType.FLOAT32,
                    CudaTestSupport.sumTolerance(DType.FLOAT32, k));
        } else {
            assertNull(g.dGamma());
        }
    }

    @Test
    void groupNormAtOddSizes() {
        checkGroupNorm("groupNorm [3,6,5,7] g3", Shape.of(3, 6, 5, 7), 3, true, 1);
        checkGroupNorm("groupNorm [3,6,5,7] g3 no affine", Shape.of(3, 6, 5, 7), 3, false, 2);
        checkGroupNorm("groupNorm [2,4] g2", Shape.of(2, 4), 2, true, 3);
        checkGroupNorm("groupNorm [1,33,129] g1", Shape.of(1, 33, 129), 1, true, 4);
        checkGroupNorm("groupNorm [2,32,1,1] g32", Shape.of(2, 32, 1, 1), 32, true, 5);
        assertThrows(IllegalArgumentException.class,
                () -> cuda().groupNorm(cuda().full(Shape.of(2, 6, 3), 0), 4, null, null, 1e-5f));
    }

    @Test
    void groupNormAtTheSdShapes() {
        long seed = 10;
        for (Shape s : SD_ACTIVATIONS) {
            checkGroupNorm("groupNorm " + s + " g32", s, 32, true, seed += 4);
        }
    }

    private static void checkLayerNorm(String what, Shape shape, boolean affine, long seed) {
        int d = shape.dim(-1);
        Pair x = randnPair(seed, shape);
        Pair gamma = affine ? CudaTestSupport.pair(CudaTestSupport.uniform(seed + 1, d, 0.5f, 1.5f), Shape.of(d),
                DType.FLOAT32) : new Pair(null, null);
        Pair beta = affine ? randnPair(seed + 2, Shape.of(d)) : new Pair(null, null);
        Pair dy = randnPair(seed + 3, shape);
        check(what + " forward", REF.layerNorm(x.ref(), gamma.ref(), beta.ref(), 1e-5f),
                cuda().layerNorm(x.gpu(), gamma.gpu(), beta.gpu(), 1e-5f), DType.FLOAT32, NORM);
        NormGrads r = REF.layerNormBackward(x.ref(), gamma.ref(), 1e-5f, dy.ref());
        NormGrads g = cuda().layerNormBackward(x.gpu(), gamma.gpu(), 1e-5f, dy.gpu());
        check(what + " dx", r.dx(), g.dx(), DType.FLOAT32, NORM);
        int rows = (int) (shape.numel() / d);
        check(what + " dbeta", r.dBeta(), g.dBeta(), DType.FLOAT32, CudaTestSupport.sumTolerance(DType.FLOAT32, rows));
        if (affine) {
            check(what + " dgamma", r.dGamma(), g.dGamma(), DType.FLOAT32,
                    CudaTestSupport.sumTolerance(DType.FLOAT32, rows));
        } else {
            assertNull(g.dGamma());
        }
    }

    @Test
    void layerNormAtOddAndSdSizes() {
        checkLayerNorm("layerNorm [3,5,7]", Shape.of(3, 5, 7), true, 30);
        checkLayerNorm("layerNorm [7] no affine", Shape.of(7), false, 31);
        checkLayerNorm("layerNorm [1,1]", Shape.of(1, 1), true, 32);
        checkLayerNorm("layerNorm text [2,77,768]", Shape.of(2, 77, 768), true, 33);
        checkLayerNorm("layerNorm tokens [2,4096,320]", Shape.of(2, 4096, 320), true, 34);
        checkLayerNorm("layerNorm tokens [2,64,1280]", Shape.of(2, 64, 1280), true, 35);
        checkLayerNorm("layerNorm [129,4097]", Shape.of(129, 4097), true, 36);
    }

    @Test
    void softmaxAndItsBackward() {
        Shape[] shapes = {Shape.of(7), Shape.of(3, 1), Shape.of(5, 4097), Shape.of(2, 8, 77, 77),
            Shape.of(1, 8, 1024, 77), Shape.of(1, 2, 1024, 1024), Shape.of(33, 129)};
        long seed = 40;
        for (Shape s : shapes) {
            Pair x = CudaTestSupport.pair(CudaTestSupport.randn(seed++, s.numelInt(), 4f), s, DType.FLOAT32);
            Pair dy = randnPair(seed++, s);
            Tensor yr = REF.softmax(x.ref());
            Tensor yg = cuda().softmax(x.gpu());
            check("softmax " + s, yr, yg);
            // both backwards get the same y (the reference's), so only the backward itself is compared
            check("softmaxBackward " + s, REF.softmaxBackward(yr, dy.ref()),
                    cuda().softmaxBackward(cuda().fromArray(yr.toFloatArray(), s), dy.gpu()));
        }
        // a row of -inf gives NaN, as the reference
        Tensor ninf = cuda().full(Shape.of(2, 3), Float.NEGATIVE_INFINITY);
        assertTrue(Float.isNaN(cuda().softmax(ninf).toFloatArray()[0]));
        // large logits do not overflow
        Pair big = CudaTestSupport.pair(new float[] {1000f, 999f, -1000f, 88f}, Shape.of(1, 4), DType.FLOAT32);
        check("softmax of large logits", REF.softmax(big.ref()), cuda().softmax(big.gpu()));
    }

    @Test
    void gegluAndItsBackward() {
        Shape[] shapes = {Shape.of(2), Shape.of(3, 7, 66), Shape.of(2, 77, 2 * 1280), Shape.of(1, 1024, 2 * 1280)};
        long seed = 60;
        for (Shape s : shapes) {
            Pair x = CudaTestSupport.pair(CudaTestSupport.randn(seed++, s.numelInt(), 2f), s, DType.FLOAT32);
            Shape out = s.with(-1, s.dim(-1) / 2);
            Pair dy = randnPair(seed++, out);
            check("geglu " + s, REF.geglu(x.ref()), cuda().geglu(x.gpu()));
            check("gegluBackward " + s, REF.gegluBackward(x.ref(), dy.ref()), cuda().gegluBackward(x.gpu(), dy.gpu()));
        }
        assertThrows(IllegalArgumentException.class, () -> cuda().geglu(cuda().full(Shape.of(3, 5), 0)));
    }

    @Test
    void upsampleAndItsBackward() {
        Shape[] shapes = {Shape.of(1, 3, 7, 5), Shape.of(1, 1, 1, 1), Shape.of(2, 1280, 8, 8), Shape.of(2, 640, 32, 32)};
        long seed = 70;
        for (Shape s : shapes) {
            Pair x = randnPair(seed++, s);
            Pair dy = randnPair(seed++, Shape.of(s.dim(0), s.dim(1), 2 * s.dim(2), 2 * s.dim(3)));
            check("upsample " + s, REF.upsampleNearest2x(x.ref()), cuda().upsampleNearest2x(x.gpu()), DType.FLOAT32,
                    Tolerance.EXACT);
            check("upsampleBackward " + s, REF.upsampleNearest2xBackward(dy.ref()),
                    cuda().upsampleNearest2xBackward(dy.gpu()));
        }
        assertThrows(IllegalArgumentException.class,
                () -> cuda().upsampleNearest2xBackward(cuda().full(Shape.of(1, 1, 3, 4), 0)));
    }

    @Test
    void embeddingAndItsDeterministicBackward() {
        int vocab = 1000;
        int d = 33;
        Pair w = randnPair(80, Shape.of(vocab, d));
        long[] ids = new long[2 * 77];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 37L + (i % 5) * 101) % vocab; // repeats, so rows get several contributions
        }
        ids[3] = 999;
        ids[4] = 0;
        Shape idShape = Shape.of(2, 77);
        Pair dy = randnPair(81, Shape.of(2, 77, d));
        for (DType it : new DType[] {DType.INT64, DType.INT32}) {
            Tensor ri = REF.cast(REF.fromArray(ids, idShape), it);
            Tensor gi = cuda().cast(cuda().fromArray(ids, idShape), it);
            check("embedding " + it, REF.embedding(w.ref(), ri), cuda().embedding(w.gpu(), gi), DType.FLOAT32,
                    Tolerance.EXACT);
            Tensor rb = REF.embeddingBackward(dy.ref(), ri, vocab);
            Tensor gb = cuda().embeddingBackward(dy.gpu(), gi, vocab);
            check("embeddingBackward " + it, rb, gb);
            assertArrayEquals(gb.toFloatArray(), cuda().embeddingBackward(dy.gpu(), gi, vocab).toFloatArray(),
                    "embeddingBackward is deterministic");
        }
        Tensor bad = cuda().fromArray(new long[] {1, vocab}, Shape.of(2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cuda().embedding(w.gpu(), bad));
        assertTrue(e.getMessage().contains("id " + vocab + " at position [1]"), e.getMessage());
    }

    @Test
    void normGradientsAreBitForBitDeterministic() {
        Pair x = randnPair(90, Shape.of(2, 320, 32, 32));
        Pair dy = randnPair(91, Shape.of(2, 320, 32, 32));
        Pair gamma = randnPair(92, Shape.of(320));
        NormGrads a = cuda().groupNormBackward(x.gpu(), 32, gamma.gpu(), 1e-5f, dy.gpu());
        NormGrads b = cuda().groupNormBackward(x.gpu(), 32, gamma.gpu(), 1e-5f, dy.gpu());
        assertArrayEquals(a.dx().toFloatArray(), b.dx().toFloatArray());
        assertArrayEquals(a.dGamma().toFloatArray(), b.dGamma().toFloatArray());
        assertArrayEquals(a.dBeta().toFloatArray(), b.dBeta().toFloatArray());
        Tensor s1 = cuda().sum(x.gpu(), new int[0], false);
        Tensor s2 = cuda().sum(x.gpu(), new int[0], false);
        assertArrayEquals(s1.toFloatArray(), s2.toFloatArray());
    }
}
