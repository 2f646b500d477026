package dev.perfusion.backend.nd4j;

import static dev.perfusion.backend.nd4j.Both.ND;
import static dev.perfusion.backend.nd4j.Both.REF;
import static dev.perfusion.backend.nd4j.Both.check;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.nd4j.Both.Pair;
import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Convolutions, normalisations, softmax, attention, GEGLU, upsampling and embeddings against the reference. */
@Tag("unit")
class Nd4jNnParityTest {
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void closeScope() {
        scope.close();
    }

    static Stream<Arguments> convs() {
        // x dims, w dims, stride, padding, bias
        return Stream.of(
                Arguments.of(new int[] {2, 3, 7, 9}, new int[] {4, 3, 3, 3}, 1, 1, true),
                Arguments.of(new int[] {2, 3, 7, 9}, new int[] {4, 3, 3, 3}, 1, 0, false),
                Arguments.of(new int[] {2, 3, 7, 9}, new int[] {4, 3, 3, 3}, 2, 0, true),
                Arguments.of(new int[] {2, 3, 7, 9}, new int[] {4, 3, 3, 3}, 2, 1, false),
                Arguments.of(new int[] {1, 3, 8, 8}, new int[] {5, 3, 3, 3}, 2, 1, true),
                Arguments.of(new int[] {2, 3, 7, 9}, new int[] {6, 3, 1, 1}, 1, 0, true),
                Arguments.of(new int[] {2, 3, 7, 9}, new int[] {2, 3, 2, 3}, 2, 1, true),
                Arguments.of(new int[] {1, 2, 5, 5}, new int[] {3, 2, 3, 3}, 3, 2, false),
                Arguments.of(new int[] {1, 4, 6, 6}, new int[] {4, 4, 3, 3}, 1, 3, true));
    }

    @ParameterizedTest
    @MethodSource("convs")
    void conv2dAndBackward(int[] xDims, int[] wDims, int stride, int padding, boolean withBias) {
        Pair x = Both.randn(101, xDims);
        Pair w = Both.randn(102, 0.5f, wDims);
        Pair bias = withBias ? Both.randn(103, wDims[0]) : null;
        String what = "conv2d x " + Shape.of(xDims) + " w " + Shape.of(wDims) + " s" + stride + " p" + padding;
        Tensor yr = REF.conv2d(x.ref(), w.ref(), bias == null ? null : bias.ref(), stride, padding);
        Tensor yn = ND.conv2d(x.nd(), w.nd(), bias == null ? null : bias.nd(), stride, padding);
        check(what, yr, yn);
        Pair dy = Both.randn(104, yr.shape().dims());
        check(what + " backward input", REF.conv2dBackwardInput(dy.ref(), w.ref(), x.shape(), stride, padding),
                ND.conv2dBackwardInput(dy.nd(), w.nd(), x.shape(), stride, padding));
        check(what + " backward weight", REF.conv2dBackwardWeight(dy.ref(), x.ref(), w.shape(), stride, padding),
                ND.conv2dBackwardWeight(dy.nd(), x.nd(), w.shape(), stride, padding));
    }

    @Test
    void conv2dSdLike() {
        // 32→32 channels, 3×3, 16×16: K = 288 products per output
        Pair x = Both.randn(111, 1, 32, 16, 16);
        Pair w = Both.randn(112, 0.1f, 32, 32, 3, 3);
        Pair bias = Both.randn(113, 32);
        Tensor yr = REF.conv2d(x.ref(), w.ref(), bias.ref(), 1, 1);
        check("conv2d 32→32 16×16", yr, ND.conv2d(x.nd(), w.nd(), bias.nd(), 1, 1), Tolerance.FLOAT32);
        Pair dy = Both.randn(114, 0.1f, 1, 32, 16, 16);
        check("conv2d 32→32 backward input", REF.conv2dBackwardInput(dy.ref(), w.ref(), x.shape(), 1, 1),
                ND.conv2dBackwardInput(dy.nd(), w.nd(), x.shape(), 1, 1), Tolerance.FLOAT32);
        // 256 products per weight gradient
        check("conv2d 32→32 backward weight", REF.conv2dBackwardWeight(dy.ref(), x.ref(), w.shape(), 1, 1),
                ND.conv2dBackwardWeight(dy.nd(), x.nd(), w.shape(), 1, 1), Tolerance.FLOAT32);
        // the downsampler: stride 2, padding 1
        Tensor dr = REF.conv2d(x.ref(), w.ref(), bias.ref(), 2, 1);
        check("conv2d 32→32 stride 2", dr, ND.conv2d(x.nd(), w.nd(), bias.nd(), 2, 1), Tolerance.FLOAT32);
    }

    @Test
    void conv2dBackwardWeightInBlocks() {
        // x [5, 3, 6, 5], w [4, 3, 3, 3], padding 1: 27·30 column elements per sample. Blocks of 2 samples run as
        // 2 + 2 + 1; a budget below one sample still takes one sample per block.
        Pair x = Both.randn(181, 5, 3, 6, 5);
        Pair dy = Both.randn(182, 5, 4, 6, 5);
        Shape w = Shape.of(4, 3, 3, 3);
        Tensor ref = REF.conv2dBackwardWeight(dy.ref(), x.ref(), w, 1, 1);
        long perSample = 27 * 30;
        for (long budget : new long[] {2 * perSample, perSample - 1, Nd4jNn.CONV_BLOCK_ELEMENTS}) {
            Nd4jNn nn = new Nd4jNn(ND, budget);
            check("conv2d backward weight, block budget " + budget, ref,
                    nn.conv2dBackwardWeight(dy.nd(), x.nd(), w, 1, 1), Tolerance.FLOAT32);
        }
    }

    @Test
    void conv2dRejectsBadShapes() {
        Pair x = Both.randn(121, 1, 3, 5, 5);
        Pair w = Both.randn(122, 2, 4, 3, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ND.conv2d(x.nd(), w.nd(), null, 1, 1));
        assertTrue(e.getMessage().startsWith("conv2d:"), e.getMessage());
        Pair big = Both.randn(123, 2, 3, 7, 7);
        assertThrows(IllegalArgumentException.class, () -> ND.conv2d(x.nd(), big.nd(), null, 1, 0));
    }

    @Test
    void groupNorm() {
        // 4 groups of 3 channels
        Pair x = Both.randn(131, 2f, 2, 12, 5, 3);
        Pair gamma = Both.randn(132, 12);
        Pair beta = Both.randn(133, 12);
        check("groupNorm", REF.groupNorm(x.ref(), 4, gamma.ref(), beta.ref(), 1e-5f),
                ND.groupNorm(x.nd(), 4, gamma.nd(), beta.nd(), 1e-5f));
        check("groupNorm no affine", REF.groupNorm(x.ref(), 4, null, null, 1e-5f),
                ND.groupNorm(x.nd(), 4, null, null, 1e-5f));
        check("groupNorm gamma only", REF.groupNorm(x.ref(), 3, gamma.ref(), null, 1e-3f),
                ND.groupNorm(x.nd(), 3, gamma.nd(), null, 1e-3f));
        // mean 5, spread 0.01: the float32 mean alone is off by ~ulp(5) = 5e-7, i.e. 5e-5 of a normalised value,
        // so this case gets 1e-4 absolute (it guards against a one-pass variance, which would be off by far more)
        Pair shifted = Both.of(affine(Both.randn(134, 2, 6, 7).ref().toFloatArray(), 0.01f, 5f), Shape.of(2, 6, 7));
        check("groupNorm rank 3, offset data", REF.groupNorm(shifted.ref(), 2, null, beta(6), 1e-5f),
                ND.groupNorm(shifted.nd(), 2, null, betaNd(6), 1e-5f), new Tolerance(1e-4, 1e-4));
        Pair dy = Both.randn(135, 2, 12, 5, 3);
        for (boolean withGamma : new boolean[] {true, false}) {
            NormGrads r = REF.groupNormBackward(x.ref(), 4, withGamma ? gamma.ref() : null, 1e-5f, dy.ref());
            NormGrads n = ND.groupNormBackward(x.nd(), 4, withGamma ? gamma.nd() : null, 1e-5f, dy.nd());
            check("groupNormBackward dx gamma=" + withGamma, r.dx(), n.dx());
            check("groupNormBackward dBeta", r.dBeta(), n.dBeta());
            if (withGamma) {
                check("groupNormBackward dGamma", r.dGamma(), n.dGamma());
            } else {
                assertNull(n.dGamma());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> ND.groupNorm(x.nd(), 5, null, null, 1e-5f));
    }

    @Test
    void groupNormSdLike() {
        // GroupNorm(32) on 64 channels of 8×8: 128 values per group
        Pair x = Both.randn(136, 3f, 1, 64, 8, 8);
        Pair gamma = Both.randn(137, 64);
        Pair beta = Both.randn(138, 64);
        check("groupNorm 32 groups", REF.groupNorm(x.ref(), 32, gamma.ref(), beta.ref(), 1e-5f),
                ND.groupNorm(x.nd(), 32, gamma.nd(), beta.nd(), 1e-5f));
        Pair dy = Both.randn(139, 1, 64, 8, 8);
        NormGrads r = REF.groupNormBackward(x.ref(), 32, gamma.ref(), 1e-5f, dy.ref());
        NormGrads n = ND.groupNormBackward(x.nd(), 32, gamma.nd(), 1e-5f, dy.nd());
        check("groupNormBackward 32 groups dx", r.dx(), n.dx());
        check("groupNormBackward 32 groups dGamma", r.dGamma(), n.dGamma());
        check("groupNormBackward 32 groups dBeta", r.dBeta(), n.dBeta());
    }

    private static float[] affine(float[] v, float scale, float shift) {
        for (int i = 0; i < v.length; i++) {
            v[i] = v[i] * scale + shift;
        }
        return v;
    }

    private static Tensor beta(int c) {
        return REF.fromArray(affine(new float[c], 0, 0.25f), Shape.of(c));
    }

    private static Tensor betaNd(int c) {
        return ND.fromArray(affine(new float[c], 0, 0.25f), Shape.of(c));
    }

    @Test
    void layerNorm() {
        Pair x = Both.randn(141, 2f, 3, 5, 7);
        Pair gamma = Both.randn(142, 7);
        Pair beta = Both.randn(143, 7);
        check("layerNorm", REF.layerNorm(x.ref(), gamma.ref(), beta.ref(), 1e-5f),
                ND.layerNorm(x.nd(), gamma.nd(), beta.nd(), 1e-5f));
        check("layerNorm no affine", REF.layerNorm(x.ref(), null, null, 1e-5f), ND.layerNorm(x.nd(), null, null, 1e-5f));
        Pair v = Both.randn(144, 77);
        check("layerNorm of a vector", REF.layerNorm(v.ref(), null, null, 1e-5f), ND.layerNorm(v.nd(), null, null, 1e-5f));
        Pair dy = Both.randn(145, 3, 5, 7);
        for (boolean withGamma : new boolean[] {true, false}) {
            NormGrads r = REF.layerNormBackward(x.ref(), withGamma ? gamma.ref() : null, 1e-5f, dy.ref());
            NormGrads n = ND.layerNormBackward(x.nd(), withGamma ? gamma.nd() : null, 1e-5f, dy.nd());
            check("layerNormBackward dx gamma=" + withGamma, r.dx(), n.dx());
            check("layerNormBackward dBeta", r.dBeta(), n.dBeta());
            if (withGamma) {
                check("layerNormBackward dGamma", r.dGamma(), n.dGamma());
            } else {
                assertNull(n.dGamma());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> ND.layerNorm(x.nd(), Both.randn(1, 5).nd(), null, 1e-5f));
    }

    @Test
    void softmax() {
        Pair x = Both.randn(151, 6f, 3, 5, 7);
        Tensor yr = REF.softmax(x.ref());
        Tensor yn = ND.softmax(x.nd());
        check("softmax", yr, yn);
        Pair v = Both.randn(152, 10f, 77);
        check("softmax of a vector", REF.softmax(v.ref()), ND.softmax(v.nd()));
        Pair dy = Both.randn(153, 3, 5, 7);
        check("softmaxBackward", REF.softmaxBackward(yr, dy.ref()), ND.softmaxBackward(yn, dy.nd()));
    }

    /** One attention configuration, forward and backward. */
    private static void attention(String what, int[] qDims, int[] kDims, int[] vDims, Pair mask, boolean causal,
                                  Nd4jAttention nn, Tolerance tol) {
        Pair q = Both.randn(161, qDims);
        Pair k = Both.randn(162, kDims);
        Pair v = Both.randn(163, vDims);
        float scale = (float) (1 / Math.sqrt(qDims[qDims.length - 1]));
        Tensor mr = mask == null ? null : mask.ref();
        Tensor mn = mask == null ? null : mask.nd();
        Tensor yr = REF.attention(q.ref(), k.ref(), v.ref(), mr, causal, scale);
        check(what, yr, nn.attention(q.nd(), k.nd(), v.nd(), mn, causal, scale), tol);
        Pair dy = Both.randn(164, yr.shape().dims());
        AttentionGrads r = REF.attentionBackward(q.ref(), k.ref(), v.ref(), mr, causal, scale, dy.ref());
        AttentionGrads n = nn.attentionBackward(q.nd(), k.nd(), v.nd(), mn, causal, scale, dy.nd());
        check(what + " dq", r.dq(), n.dq(), tol);
        check(what + " dk", r.dk(), n.dk(), tol);
        check(what + " dv", r.dv(), n.dv(), tol);
    }

    private static Nd4jAttention nn() {
        return new Nd4jAttention(ND);
    }

    @Test
    void attentionOddSizes() {
        int[] q = {2, 3, 5, 3};
        int[] k = {2, 3, 7, 3};
        int[] v = {2, 3, 7, 4};
        attention("attention", q, k, v, null, false, nn(), Tolerance.FLOAT32);
        attention("attention causal", q, k, v, null, true, nn(), Tolerance.FLOAT32);
        attention("attention causal, Lq = Lk", new int[] {2, 5, 3}, new int[] {2, 5, 3}, new int[] {2, 5, 2}, null, true,
                nn(), Tolerance.FLOAT32);
        Pair shared = Both.randn(165, 5, 7);
        attention("attention shared mask", q, k, v, shared, false, nn(), Tolerance.FLOAT32);
        // a padding mask per batch entry: −∞ on some keys, different for each of the 2 samples
        float[] pm = new float[2 * 7];
        pm[5] = Float.NEGATIVE_INFINITY;
        pm[6] = Float.NEGATIVE_INFINITY;
        pm[7 + 1] = Float.NEGATIVE_INFINITY;
        Pair padding = Both.of(pm, Shape.of(2, 1, 1, 7));
        attention("attention per-sample mask + causal", q, k, v, padding, true, nn(), Tolerance.FLOAT32);
        Pair perHead = Both.randn(166, 3, 1, 7);
        attention("attention per-head mask", q, k, v, perHead, false, nn(), Tolerance.FLOAT32);
    }

    @Test
    void attentionInSmallChunks() {
        // a score buffer of 2 heads' worth: 6 batch matrices run as chunks of 2, and 5 as 2 + 2 + 1
        Nd4jAttention small = new Nd4jAttention(ND, 2 * 5 * 7);
        int[] k = {2, 3, 7, 3};
        attention("attention chunked", new int[] {2, 3, 5, 3}, k, new int[] {2, 3, 7, 4}, Both.randn(167, 2, 1, 5, 7),
                true, small, Tolerance.FLOAT32);
        attention("attention chunked, partial", new int[] {5, 5, 3}, new int[] {5, 7, 3}, new int[] {5, 7, 2}, null,
                false, small, Tolerance.FLOAT32);
    }

    @Test
    void attentionSdLike() {
        // cross-attention at the 8×8 level: [1, 2 heads, 64 queries, 40] against 77 text tokens
        attention("cross-attention 64×77×40", new int[] {1, 2, 64, 40}, new int[] {1, 2, 77, 40},
                new int[] {1, 2, 77, 40}, null, false, nn(), Tolerance.FLOAT32);
    }

    @Test
    void attentionRejectsMismatchedShapes() {
        Pair q = Both.randn(1, 2, 5, 3);
        Pair k = Both.randn(2, 3, 7, 3);
        assertThrows(IllegalArgumentException.class, () -> ND.attention(q.nd(), k.nd(), k.nd(), null, false, 1f));
        Pair k2 = Both.randn(3, 2, 7, 3);
        Pair badMask = Both.randn(4, 5, 6);
        assertThrows(IllegalArgumentException.class,
                () -> ND.attention(q.nd(), k2.nd(), k2.nd(), badMask.nd(), false, 1f));
    }

    @Test
    void geglu() {
        Pair x = Both.uniform(171, -6f, 6f, 2, 3, 10);
        Tensor yr = REF.geglu(x.ref());
        check("geglu", yr, ND.geglu(x.nd()));
        Pair dy = Both.randn(172, yr.shape().dims());
        check("gegluBackward", REF.gegluBackward(x.ref(), dy.ref()), ND.gegluBackward(x.nd(), dy.nd()));
        Pair odd = Both.uniform(173, -6f, 6f, 7, 2);
        check("geglu F = 1", REF.geglu(odd.ref()), ND.geglu(odd.nd()));
        assertThrows(IllegalArgumentException.class, () -> ND.geglu(Both.randn(1, 3, 5).nd()));
    }

    @Test
    void upsample() {
        Pair x = Both.randn(181, 2, 3, 4, 5);
        Tensor yr = REF.upsampleNearest2x(x.ref());
        check("upsampleNearest2x", yr, ND.upsampleNearest2x(x.nd()), Tolerance.EXACT);
        Pair dy = Both.randn(182, yr.shape().dims());
        check("upsampleNearest2xBackward", REF.upsampleNearest2xBackward(dy.ref()),
                ND.upsampleNearest2xBackward(dy.nd()));
        assertThrows(IllegalArgumentException.class, () -> ND.upsampleNearest2xBackward(Both.randn(1, 1, 1, 3, 4).nd()));
    }

    @Test
    void embedding() {
        Pair w = Both.randn(191, 11, 6);
        long[] idv = {3, 0, 10, 3, 7, 3};
        Pair ids = Both.ids(idv, 2, 3);
        Tensor yr = REF.embedding(w.ref(), ids.ref());
        check("embedding", yr, ND.embedding(w.nd(), ids.nd()), Tolerance.EXACT);
        int[] id32 = {1, 1, 2};
        check("embedding int32 ids", REF.embedding(w.ref(), REF.fromArray(id32, Shape.of(3))),
                ND.embedding(w.nd(), ND.fromArray(id32, Shape.of(3))), Tolerance.EXACT);
        Pair dy = Both.randn(192, 2, 3, 6);
        check("embeddingBackward with repeated ids", REF.embeddingBackward(dy.ref(), ids.ref(), 11),
                ND.embeddingBackward(dy.nd(), ids.nd(), 11));
        Pair bad = Both.ids(new long[] {11}, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ND.embedding(w.nd(), bad.nd()));
        assertTrue(e.getMessage().contains("id 11"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ND.embedding(w.nd(), w.nd()));
    }
}
