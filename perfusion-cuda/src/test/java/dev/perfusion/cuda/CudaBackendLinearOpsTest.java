package dev.perfusion.cuda;

import static dev.perfusion.cuda.CudaTestSupport.REF;
import static dev.perfusion.cuda.CudaTestSupport.check;
import static dev.perfusion.cuda.CudaTestSupport.cuda;
import static dev.perfusion.cuda.CudaTestSupport.randnPair;
import static dev.perfusion.cuda.CudaTestSupport.sumTolerance;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.perfusion.cuda.CudaTestSupport.Pair;
import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * matmul, attention and conv2d (with their gradients) through {@link CudaBackend}, FLOAT32, against the reference:
 * sizes that are not multiples of any tile, transposes, batch broadcasting, masks, and SD v1.5 shapes as far as
 * the reference can afford them (the 4096-token attention is left to the kernel tests, which compare a few rows
 * with a float64 loop). Tier {@code cuda}: skipped with the probe's reason without a GPU.
 */
@Tag("cuda")
class CudaBackendLinearOpsTest {
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

    // ------------------------------------------------------------------ matmul

    private static void checkMatmul(Shape a, Shape b, boolean ta, boolean tb, long seed) {
        Pair x = randnPair(seed, a);
        Pair y = randnPair(seed + 1, b);
        int k = ta ? a.dim(-2) : a.dim(-1);
        String what = "matmul " + a + (ta ? "ᵀ" : "") + " · " + b + (tb ? "ᵀ" : "");
        check(what, REF.matmul(x.ref(), y.ref(), ta, tb), cuda().matmul(x.gpu(), y.gpu(), ta, tb), DType.FLOAT32,
                sumTolerance(DType.FLOAT32, k));
    }

    @Test
    void matmulAtOddSizesAndTransposes() {
        int[][] mnk = {{1, 1, 1}, {7, 33, 129}, {33, 7, 65}, {129, 129, 7}, {1, 4097, 3}, {65, 1, 33}};
        long seed = 1;
        for (int[] s : mnk) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    Shape a = ta ? Shape.of(k, m) : Shape.of(m, k);
                    Shape b = tb ? Shape.of(n, k) : Shape.of(k, n);
                    checkMatmul(a, b, ta, tb, seed += 2);
                }
            }
        }
    }

    @Test
    void matmulBroadcastsBatchAxes() {
        checkMatmul(Shape.of(3, 7, 33), Shape.of(3, 33, 5), false, false, 20);
        checkMatmul(Shape.of(3, 7, 33), Shape.of(33, 5), false, false, 22);          // a Linear on tokens
        checkMatmul(Shape.of(7, 33), Shape.of(4, 33, 5), false, false, 24);
        checkMatmul(Shape.of(2, 1, 7, 33), Shape.of(3, 33, 5), false, false, 26);   // partial: materialised
        checkMatmul(Shape.of(2, 3, 7, 33), Shape.of(2, 1, 5, 33), false, true, 28);
        checkMatmul(Shape.of(1, 1, 7, 33), Shape.of(2, 3, 33, 5), false, false, 30);
        Pair e = randnPair(32, Shape.of(2, 0, 5));
        Pair f = randnPair(33, Shape.of(5, 3));
        check("matmul with an empty batch", REF.matmul(e.ref(), f.ref(), false, false),
                cuda().matmul(e.gpu(), f.gpu(), false, false));
        Pair g = randnPair(34, Shape.of(4, 0));
        Pair h = randnPair(35, Shape.of(0, 3));
        check("matmul with K = 0", REF.matmul(g.ref(), h.ref(), false, false),
                cuda().matmul(g.gpu(), h.gpu(), false, false));
        assertThrows(IllegalArgumentException.class, () -> cuda().matmul(cuda().full(Shape.of(2, 3), 0),
                cuda().full(Shape.of(2, 3), 0), false, false));
    }

    @Test
    void matmulAtSdShapes() {
        checkMatmul(Shape.of(2, 77, 768), Shape.of(320, 768), false, true, 40);   // to_k on the text: [2,77,320]
        checkMatmul(Shape.of(1, 1024, 320), Shape.of(320, 320), false, true, 42); // to_q at 32×32 tokens
        checkMatmul(Shape.of(1, 256, 1280), Shape.of(1280, 1280), false, false, 44);
        checkMatmul(Shape.of(2, 1280), Shape.of(1280, 320), false, false, 46);    // time embedding
    }

    // ------------------------------------------------------------------ attention

    private static void checkAttention(String what, Shape q, Shape k, Shape v, Shape mask, boolean causal, long seed) {
        Pair qq = randnPair(seed, q);
        Pair kk = randnPair(seed + 1, k);
        Pair vv = randnPair(seed + 2, v);
        Pair mm = mask == null ? new Pair(null, null)
                : CudaTestSupport.pair(CudaTestSupport.uniform(seed + 3, mask.numelInt(), -2f, 0f), mask,
                        DType.FLOAT32);
        Shape out = q.with(-1, v.dim(-1));
        Pair dy = randnPair(seed + 4, out);
        float scale = (float) (1 / Math.sqrt(q.dim(-1)));
        Tolerance tol = sumTolerance(DType.FLOAT32, Math.max(k.dim(-2), q.dim(-1)));
        check(what, REF.attention(qq.ref(), kk.ref(), vv.ref(), mm.ref(), causal, scale),
                cuda().attention(qq.gpu(), kk.gpu(), vv.gpu(), mm.gpu(), causal, scale), DType.FLOAT32, tol);
        AttentionGrads r = REF.attentionBackward(qq.ref(), kk.ref(), vv.ref(), mm.ref(), causal, scale, dy.ref());
        AttentionGrads g = cuda().attentionBackward(qq.gpu(), kk.gpu(), vv.gpu(), mm.gpu(), causal, scale, dy.gpu());
        Tolerance bt = sumTolerance(DType.FLOAT32, Math.max(q.dim(-2), k.dim(-2)));
        check(what + " dq", r.dq(), g.dq(), DType.FLOAT32, bt);
        check(what + " dk", r.dk(), g.dk(), DType.FLOAT32, bt);
        check(what + " dv", r.dv(), g.dv(), DType.FLOAT32, bt);
    }

    @Test
    void attentionAtTheSdHeadDims() {
        long seed = 100;
        for (int d : new int[] {40, 64, 80, 160}) {
            checkAttention("self-attention d=" + d, Shape.of(2, 3, 129, d), Shape.of(2, 3, 129, d),
                    Shape.of(2, 3, 129, d), null, false, seed += 5);
            checkAttention("cross-attention d=" + d, Shape.of(2, 8, 64, d), Shape.of(2, 8, 77, d),
                    Shape.of(2, 8, 77, d), null, false, seed += 5);
        }
    }

    @Test
    void attentionAtOddSizesWithMasksAndCausal() {
        checkAttention("tiny", Shape.of(1, 1, 1), Shape.of(1, 1, 1), Shape.of(1, 1, 1), null, false, 200);
        checkAttention("odd", Shape.of(3, 7, 8), Shape.of(3, 33, 8), Shape.of(3, 33, 5), null, false, 205);
        checkAttention("broadcast mask [Lk]", Shape.of(2, 4, 7, 40), Shape.of(2, 4, 33, 40), Shape.of(2, 4, 33, 40),
                Shape.of(33), false, 210);
        checkAttention("mask [1,1,Lq,Lk]", Shape.of(2, 4, 7, 40), Shape.of(2, 4, 33, 40), Shape.of(2, 4, 33, 40),
                Shape.of(1, 1, 7, 33), false, 215);
        checkAttention("full mask", Shape.of(2, 7, 24), Shape.of(2, 7, 24), Shape.of(2, 7, 24),
                Shape.of(2, 7, 7), false, 220);
        // CLIP's causal self-attention: 77 tokens, 12 heads of 64 (here 3 heads of 8 as the tiny golden model, and 64)
        checkAttention("causal 77 d=8", Shape.of(2, 3, 77, 8), Shape.of(2, 3, 77, 8), Shape.of(2, 3, 77, 8), null,
                true, 225);
        checkAttention("causal 77 d=64", Shape.of(1, 12, 77, 64), Shape.of(1, 12, 77, 64), Shape.of(1, 12, 77, 64),
                null, true, 230);
        checkAttention("causal with mask", Shape.of(1, 2, 33, 40), Shape.of(1, 2, 33, 40), Shape.of(1, 2, 33, 40),
                Shape.of(33, 33), true, 235);
    }

    @Test
    void attentionAtASdTokenCount() {
        // the 32×32 level's self-attention (1024 tokens, head dim 80 at 640 channels), one batch entry
        checkAttention("self-attention 1024 tokens d=80", Shape.of(1, 8, 1024, 80), Shape.of(1, 8, 1024, 80),
                Shape.of(1, 8, 1024, 80), null, false, 300);
    }

    // ------------------------------------------------------------------ convolution

    private static void checkConv(Shape x, Shape w, boolean bias, int stride, int pad, long seed) {
        Pair xx = randnPair(seed, x);
        Pair ww = CudaTestSupport.pair(CudaTestSupport.randn(seed + 1, w.numelInt(), 0.1f), w, DType.FLOAT32);
        Pair bb = bias ? randnPair(seed + 2, Shape.of(w.dim(0))) : new Pair(null, null);
        String what = "conv2d x " + x + " w " + w + " stride " + stride + " pad " + pad + (bias ? " bias" : "");
        Tensor yr = REF.conv2d(xx.ref(), ww.ref(), bb.ref(), stride, pad);
        int k = w.dim(1) * w.dim(2) * w.dim(3);
        check(what, yr, cuda().conv2d(xx.gpu(), ww.gpu(), bb.gpu(), stride, pad), DType.FLOAT32,
                sumTolerance(DType.FLOAT32, k));
        Pair dy = randnPair(seed + 3, yr.shape());
        int kIn = w.dim(0) * w.dim(2) * w.dim(3);
        check(what + " dx", REF.conv2dBackwardInput(dy.ref(), ww.ref(), x, stride, pad),
                cuda().conv2dBackwardInput(dy.gpu(), ww.gpu(), x, stride, pad), DType.FLOAT32,
                sumTolerance(DType.FLOAT32, kIn));
        int kW = yr.shape().dim(0) * yr.shape().dim(2) * yr.shape().dim(3);
        check(what + " dw", REF.conv2dBackwardWeight(dy.ref(), xx.ref(), w, stride, pad),
                cuda().conv2dBackwardWeight(dy.gpu(), xx.gpu(), w, stride, pad), DType.FLOAT32,
                sumTolerance(DType.FLOAT32, kW));
    }

    @Test
    void conv2dAtOddSizes() {
        long seed = 400;
        int[][] cases = { // x [n,c,h,w], w [o,c,kh,kw], stride, pad
            {1, 3, 7, 5, 4, 3, 3, 3, 1, 1},
            {2, 5, 9, 9, 7, 5, 3, 3, 2, 1},   // the downsampler: stride 2
            {1, 4, 8, 8, 3, 4, 1, 1, 1, 0},   // 1×1 proj_in / shortcut
            {1, 1, 1, 1, 1, 1, 1, 1, 1, 0},
            {3, 2, 6, 11, 5, 2, 2, 3, 1, 2},
            {1, 3, 5, 5, 2, 3, 5, 5, 1, 0},   // kernel as large as the input
            {2, 3, 10, 10, 4, 3, 3, 3, 3, 0},
        };
        for (int[] c : cases) {
            Shape x = Shape.of(c[0], c[1], c[2], c[3]);
            Shape w = Shape.of(c[4], c[5], c[6], c[7]);
            checkConv(x, w, true, c[8], c[9], seed += 4);
            checkConv(x, w, false, c[8], c[9], seed += 4);
        }
        assertThrows(IllegalArgumentException.class, () -> cuda().conv2d(cuda().full(Shape.of(1, 3, 4, 4), 0),
                cuda().full(Shape.of(2, 4, 3, 3), 0), null, 1, 1));
    }

    @Test
    void conv2dAtSdChannelCounts() {
        // SD's 3×3 convolutions at their channel counts, at small spatial sizes the reference can afford
        checkConv(Shape.of(1, 320, 8, 8), Shape.of(320, 320, 3, 3), true, 1, 1, 500);
        checkConv(Shape.of(1, 320, 16, 16), Shape.of(640, 320, 3, 3), true, 1, 1, 504);
        checkConv(Shape.of(1, 640, 8, 8), Shape.of(640, 640, 3, 3), true, 2, 1, 508);   // downsampler
        checkConv(Shape.of(2, 4, 16, 16), Shape.of(320, 4, 3, 3), true, 1, 1, 512);      // conv_in
        checkConv(Shape.of(1, 1280, 4, 4), Shape.of(1280, 1280, 1, 1), true, 1, 0, 516); // 1×1
    }
}
