package dev.perfusion.autograd;

import dev.perfusion.tensor.AttentionGrads;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.NormGrads;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The differentiable ops that model code calls (the analogue of {@code torch.nn.functional}). Each method runs
 * the forward on the inputs' backend and, when an input requires grad and recording is on, attaches a
 * {@link GradNode} whose backward function captures only what it needs.
 *
 * <p>Gradients of broadcasting ops are summed back to each input's shape ({@link #sumTo}).
 */
public final class Ops {
    private Ops() {
    }

    private static Tensor record(Tensor y, String op, Tensor[] inputs, Function<Tensor, Tensor[]> backward) {
        if (Autograd.tracks(inputs)) {
            y.setGradNode(new GradNode(op, inputs, backward));
        }
        return y;
    }

    private static boolean needs(Tensor t) {
        return t != null && t.requiresGrad();
    }

    // ------------------------------------------------------------------ broadcasting arithmetic

    /** a + b (broadcasting). */
    public static Tensor add(Tensor a, Tensor b) {
        Tensor y = a.backend().binary(BinaryOp.ADD, a, b);
        Shape sa = a.shape();
        Shape sb = b.shape();
        return record(y, "add", new Tensor[] {a, b}, dy -> new Tensor[] {
            needs(a) ? sumTo(dy, sa) : null,
            needs(b) ? sumTo(dy, sb) : null});
    }

    /** a − b (broadcasting). */
    public static Tensor sub(Tensor a, Tensor b) {
        Tensor y = a.backend().binary(BinaryOp.SUB, a, b);
        Shape sa = a.shape();
        Shape sb = b.shape();
        return record(y, "sub", new Tensor[] {a, b}, dy -> {
            Tensor db = null;
            if (needs(b)) {
                Tensor neg = dy.backend().affine(dy, -1f, 0f);
                db = sumTo(neg, sb);
                if (db != neg) {
                    neg.close();
                }
            }
            return new Tensor[] {needs(a) ? sumTo(dy, sa) : null, db};
        });
    }

    /** a ⊙ b (broadcasting). */
    public static Tensor mul(Tensor a, Tensor b) {
        Backend be = a.backend();
        Tensor y = be.binary(BinaryOp.MUL, a, b);
        return record(y, "mul", new Tensor[] {a, b}, dy -> new Tensor[] {
            needs(a) ? productSumTo(dy, b, a.shape()) : null,
            needs(b) ? productSumTo(dy, a, b.shape()) : null});
    }

    /** a / b (broadcasting). */
    public static Tensor div(Tensor a, Tensor b) {
        Backend be = a.backend();
        Tensor y = be.binary(BinaryOp.DIV, a, b);
        return record(y, "div", new Tensor[] {a, b}, dy -> {
            Tensor da = null;
            Tensor db = null;
            if (needs(a)) {
                Tensor q = be.binary(BinaryOp.DIV, dy, b); // dy / b
                da = sumTo(q, a.shape());
                if (da != q) {
                    q.close();
                }
            }
            if (needs(b)) {
                // d(a/b)/db = −a/b² = −y/b
                try (Tensor yb = be.binary(BinaryOp.DIV, y, b); Tensor t = be.binary(BinaryOp.MUL, dy, yb)) {
                    Tensor neg = be.affine(t, -1f, 0f);
                    db = sumTo(neg, b.shape());
                    if (db != neg) {
                        neg.close();
                    }
                }
            }
            return new Tensor[] {da, db};
        });
    }

    /** dy ⊙ other, summed back to {@code shape}. */
    private static Tensor productSumTo(Tensor dy, Tensor other, Shape shape) {
        Tensor p = dy.backend().binary(BinaryOp.MUL, dy, other);
        Tensor s = sumTo(p, shape);
        if (s != p) {
            p.close();
        }
        return s;
    }

    /**
     * Sums {@code g} over the axes that broadcasting added or stretched, giving a tensor of {@code shape}.
     * Returns {@code g} itself when the shapes already agree.
     */
    public static Tensor sumTo(Tensor g, Shape shape) {
        if (g.shape().equals(shape)) {
            return g;
        }
        int lead = g.rank() - shape.rank();
        if (lead < 0) {
            throw new IllegalArgumentException("cannot sum gradient " + g.shape() + " to larger shape " + shape);
        }
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < g.rank(); i++) {
            if (i < lead || (shape.dim(i - lead) == 1 && g.dim(i) != 1)) {
                axes.add(i);
            }
        }
        Backend be = g.backend();
        try (Tensor s = be.sum(g, axes.stream().mapToInt(Integer::intValue).toArray(), true)) {
            return be.reshape(s, shape);
        }
    }

    /** scale·x + shift. */
    public static Tensor affine(Tensor x, float scale, float shift) {
        Tensor y = x.backend().affine(x, scale, shift);
        return record(y, "affine", new Tensor[] {x}, dy -> new Tensor[] {dy.backend().affine(dy, scale, 0f)});
    }

    /** s·x. */
    public static Tensor scale(Tensor x, float s) {
        return affine(x, s, 0f);
    }

    /** x^p for a constant p. */
    public static Tensor pow(Tensor x, float p) {
        Backend be = x.backend();
        Tensor y = be.pow(x, p);
        return record(y, "pow", new Tensor[] {x}, dy -> {
            try (Tensor d = be.pow(x, p - 1f); Tensor pd = be.affine(d, p, 0f)) {
                return new Tensor[] {be.binary(BinaryOp.MUL, dy, pd)};
            }
        });
    }

    // ------------------------------------------------------------------ elementwise functions

    /** f(x) for one of the {@link UnaryOp}s. */
    public static Tensor unary(UnaryOp op, Tensor x) {
        Backend be = x.backend();
        Tensor y = be.unary(op, x);
        return record(y, op.name().toLowerCase(), new Tensor[] {x}, dy -> new Tensor[] {be.unaryBackward(op, x, dy)});
    }

    /** −x */
    public static Tensor neg(Tensor x) {
        return affine(x, -1f, 0f);
    }

    /** x² */
    public static Tensor square(Tensor x) {
        return unary(UnaryOp.SQUARE, x);
    }

    /** eˣ */
    public static Tensor exp(Tensor x) {
        return unary(UnaryOp.EXP, x);
    }

    /** ln x */
    public static Tensor log(Tensor x) {
        return unary(UnaryOp.LOG, x);
    }

    /** √x */
    public static Tensor sqrt(Tensor x) {
        return unary(UnaryOp.SQRT, x);
    }

    /** sin x */
    public static Tensor sin(Tensor x) {
        return unary(UnaryOp.SIN, x);
    }

    /** cos x */
    public static Tensor cos(Tensor x) {
        return unary(UnaryOp.COS, x);
    }

    /** σ(x) */
    public static Tensor sigmoid(Tensor x) {
        return unary(UnaryOp.SIGMOID, x);
    }

    /** x·σ(x) */
    public static Tensor silu(Tensor x) {
        return unary(UnaryOp.SILU, x);
    }

    /** exact (erf) GELU */
    public static Tensor gelu(Tensor x) {
        return unary(UnaryOp.GELU, x);
    }

    /** x·σ(1.702x), CLIP's activation */
    public static Tensor quickGelu(Tensor x) {
        return unary(UnaryOp.QUICK_GELU, x);
    }

    // ------------------------------------------------------------------ reductions

    /** Σ x over {@code axes} (empty: all). */
    public static Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        Backend be = x.backend();
        Tensor y = be.sum(x, axes, keepDims);
        Shape xs = x.shape();
        Shape kept = keptShape(xs, axes);
        return record(y, "sum", new Tensor[] {x}, dy -> {
            try (Tensor r = be.reshape(dy, kept)) {
                return new Tensor[] {be.expand(r, xs)};
            }
        });
    }

    /** Mean of x over {@code axes} (empty: all). */
    public static Tensor mean(Tensor x, int[] axes, boolean keepDims) {
        Shape kept = keptShape(x.shape(), axes);
        long n = x.numel() / Math.max(1, kept.numel());
        Tensor s = sum(x, axes, keepDims);
        Tensor m = scale(s, (float) (1.0 / n));
        if (!s.requiresGrad()) {
            s.close();
        }
        return m;
    }

    /** The shape of {@code x} with the reduced axes set to 1. */
    private static Shape keptShape(Shape x, int[] axes) {
        int[] d = x.dims();
        if (axes.length == 0) {
            Arrays.fill(d, 1);
        } else {
            for (int a : axes) {
                d[x.axis(a)] = 1;
            }
        }
        return Shape.of(d);
    }

    /** Mean squared error mean((a − b)²) over all elements: a one-element tensor of shape []. */
    public static Tensor mseLoss(Tensor a, Tensor b) {
        Tensor d = sub(a, b);
        Tensor sq = square(d);
        Tensor m = mean(sq, new int[0], false);
        if (!m.requiresGrad()) {
            d.close();
            sq.close();
        }
        return m;
    }

    // ------------------------------------------------------------------ shape

    /** x with a new shape (same element count). */
    public static Tensor reshape(Tensor x, Shape shape) {
        Backend be = x.backend();
        Tensor y = be.reshape(x, shape);
        Shape xs = x.shape();
        return record(y, "reshape", new Tensor[] {x}, dy -> new Tensor[] {be.reshape(dy, xs)});
    }

    /** x with reordered axes: output axis k is input axis {@code perm[k]}. */
    public static Tensor permute(Tensor x, int... perm) {
        Backend be = x.backend();
        Tensor y = be.permute(x, perm);
        int[] inverse = new int[perm.length];
        for (int k = 0; k < perm.length; k++) {
            inverse[perm[k]] = k;
        }
        return record(y, "permute", new Tensor[] {x}, dy -> new Tensor[] {be.permute(dy, inverse)});
    }

    /** x with axes a and b swapped. */
    public static Tensor transpose(Tensor x, int a, int b) {
        int[] perm = new int[x.rank()];
        for (int i = 0; i < perm.length; i++) {
            perm[i] = i;
        }
        int aa = x.shape().axis(a);
        int bb = x.shape().axis(b);
        perm[aa] = bb;
        perm[bb] = aa;
        return permute(x, perm);
    }

    /** x[…, start:end, …] along {@code axis}. */
    public static Tensor slice(Tensor x, int axis, int start, int end) {
        Backend be = x.backend();
        int ax = x.shape().axis(axis);
        Tensor y = be.slice(x, ax, start, end);
        int size = x.dim(ax);
        return record(y, "slice", new Tensor[] {x}, dy -> {
            int[] before = new int[dy.rank()];
            int[] after = new int[dy.rank()];
            before[ax] = start;
            after[ax] = size - end;
            return new Tensor[] {be.pad(dy, before, after, 0f)};
        });
    }

    /** The tensors joined along {@code axis}. */
    public static Tensor concat(List<Tensor> xs, int axis) {
        Backend be = xs.get(0).backend();
        int ax = xs.get(0).shape().axis(axis);
        Tensor y = be.concat(xs, ax);
        Tensor[] inputs = xs.toArray(new Tensor[0]);
        return record(y, "concat", inputs, dy -> {
            Tensor[] g = new Tensor[inputs.length];
            int offset = 0;
            for (int i = 0; i < inputs.length; i++) {
                int n = inputs[i].dim(ax);
                g[i] = needs(inputs[i]) ? be.slice(dy, ax, offset, offset + n) : null;
                offset += n;
            }
            return g;
        });
    }

    /** x padded with {@code value}: {@code before[i]}, {@code after[i]} elements on axis i. */
    public static Tensor pad(Tensor x, int[] before, int[] after, float value) {
        Backend be = x.backend();
        Tensor y = be.pad(x, before, after, value);
        Shape xs = x.shape();
        return record(y, "pad", new Tensor[] {x}, dy -> {
            Tensor g = dy;
            for (int i = 0; i < xs.rank(); i++) {
                if (before[i] != 0 || after[i] != 0) {
                    Tensor s = be.slice(g, i, before[i], before[i] + xs.dim(i));
                    if (g != dy) {
                        g.close();
                    }
                    g = s;
                }
            }
            return new Tensor[] {g == dy ? be.reshape(dy, xs) : g};
        });
    }

    /** x broadcast to {@code shape}. */
    public static Tensor expand(Tensor x, Shape shape) {
        Tensor y = x.backend().expand(x, shape);
        Shape xs = x.shape();
        return record(y, "expand", new Tensor[] {x}, dy -> new Tensor[] {sumTo(dy, xs)});
    }

    /** A tensor sharing x's values that is not tracked: gradients stop here. */
    public static Tensor detach(Tensor x) {
        return x.backend().reshape(x, x.shape());
    }

    // ------------------------------------------------------------------ linear algebra

    /** a·b over the last two axes, batch axes broadcast. */
    public static Tensor matmul(Tensor a, Tensor b) {
        return matmul(a, b, false, false);
    }

    /** op(a)·op(b), op transposing the last two axes when its flag is set. */
    public static Tensor matmul(Tensor a, Tensor b, boolean transposeA, boolean transposeB) {
        Backend be = a.backend();
        Tensor y = be.matmul(a, b, transposeA, transposeB);
        return record(y, "matmul", new Tensor[] {a, b}, dy -> {
            Tensor da = null;
            Tensor db = null;
            if (needs(a)) {
                Tensor full = transposeA
                        ? be.matmul(b, dy, transposeB, true)     // dA = op(B)·dYᵀ
                        : be.matmul(dy, b, false, !transposeB);  // dA = dY·op(B)ᵀ
                da = sumTo(full, a.shape());
                if (da != full) {
                    full.close();
                }
            }
            if (needs(b) && b.rank() == 2 && a.rank() > 2 && !transposeA) {
                db = foldedWeightGrad(a, b, dy, transposeB);
            } else if (needs(b)) {
                Tensor full = transposeB
                        ? be.matmul(dy, a, true, transposeA)     // dB = dYᵀ·op(A)
                        : be.matmul(a, dy, !transposeA, false);  // dB = op(A)ᵀ·dY
                db = sumTo(full, b.shape());
                if (db != full) {
                    full.close();
                }
            }
            return new Tensor[] {da, db};
        });
    }

    /**
     * dB of a [..., M, K]·op(B) product whose B is one matrix shared by every batch entry (a Linear weight): the
     * batch axes folded into the rows, Σ_batch A_iᵀ·dY_i is one GEMM of A [rows, K] and dY [rows, N], instead of a
     * GEMM per batch entry and a sum over their [batch, K, N] results.
     */
    private static Tensor foldedWeightGrad(Tensor a, Tensor b, Tensor dy, boolean transposeB) {
        Backend be = a.backend();
        int rows = Math.toIntExact(a.numel() / a.dim(-1));
        try (Tensor a2 = be.reshape(a, Shape.of(rows, a.dim(-1)));                     // [rows, K]
             Tensor dy2 = be.reshape(dy, Shape.of(rows, dy.dim(-1)))) {                // [rows, N]
            Tensor db = transposeB
                    ? be.matmul(dy2, a2, true, false)                                  // [N, K] = dYᵀ·A
                    : be.matmul(a2, dy2, true, false);                                 // [K, N] = Aᵀ·dY
            if (!db.shape().equals(b.shape())) {
                db.close();
                throw new IllegalStateException("weight gradient " + db.shape() + " does not match " + b.shape());
            }
            return db;
        }
    }

    /** y = x·wᵀ + bias: x [..., in], w [out, in] (PyTorch Linear layout), bias [out] or null. */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Tensor y = matmul(x, w, false, true);
        if (bias == null) {
            return y;
        }
        Tensor out = add(y, bias);
        if (!out.requiresGrad()) {
            y.close();
        }
        return out;
    }

    // ------------------------------------------------------------------ neural-network ops

    /** 2-D convolution, NCHW input, OIHW weight, optional bias [O]. */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        Backend be = x.backend();
        Tensor y = be.conv2d(x, w, bias, stride, padding);
        Shape xs = x.shape();
        Shape ws = w.shape();
        Tensor[] inputs = bias == null ? new Tensor[] {x, w} : new Tensor[] {x, w, bias};
        return record(y, "conv2d", inputs, dy -> {
            Tensor[] g = new Tensor[inputs.length];
            g[0] = needs(x) ? be.conv2dBackwardInput(dy, w, xs, stride, padding) : null;
            g[1] = needs(w) ? be.conv2dBackwardWeight(dy, x, ws, stride, padding) : null;
            if (bias != null && needs(bias)) {
                g[2] = be.sum(dy, new int[] {0, 2, 3}, false);
            }
            return g;
        });
    }

    /** Group normalisation of x [N, C, *] with optional affine γ, β [C]. */
    public static Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        Backend be = x.backend();
        Tensor y = be.groupNorm(x, groups, gamma, beta, eps);
        return record(y, "group_norm", new Tensor[] {x, gamma, beta}, dy -> {
            NormGrads g = be.groupNormBackward(x, groups, gamma, eps, dy);
            return normGrads(g, x, gamma, beta);
        });
    }

    /** Layer normalisation over the last axis with optional affine γ, β. */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        Backend be = x.backend();
        Tensor y = be.layerNorm(x, gamma, beta, eps);
        return record(y, "layer_norm", new Tensor[] {x, gamma, beta}, dy -> {
            NormGrads g = be.layerNormBackward(x, gamma, eps, dy);
            return normGrads(g, x, gamma, beta);
        });
    }

    private static Tensor[] normGrads(NormGrads g, Tensor x, Tensor gamma, Tensor beta) {
        Tensor[] out = {g.dx(), g.dGamma(), g.dBeta()};
        Tensor[] in = {x, gamma, beta};
        for (int i = 0; i < 3; i++) {
            if (out[i] != null && !needs(in[i])) {
                out[i].close();
                out[i] = null;
            }
        }
        return out;
    }

    /** Softmax over the last axis. */
    public static Tensor softmax(Tensor x) {
        Backend be = x.backend();
        Tensor y = be.softmax(x);
        return record(y, "softmax", new Tensor[] {x}, dy -> new Tensor[] {be.softmaxBackward(y, dy)});
    }

    /**
     * Scaled dot-product attention softmax(scale·q·kᵀ + mask)·v over [..., L, D] tensors; the mask (additive,
     * or null) is not differentiated.
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, float scale) {
        Backend be = q.backend();
        Tensor y = be.attention(q, k, v, mask, causal, scale);
        return record(y, "attention", new Tensor[] {q, k, v}, dy -> {
            AttentionGrads g = be.attentionBackward(q, k, v, mask, causal, scale, dy);
            Tensor[] out = {g.dq(), g.dk(), g.dv()};
            Tensor[] in = {q, k, v};
            for (int i = 0; i < 3; i++) {
                if (!needs(in[i])) {
                    out[i].close();
                    out[i] = null;
                }
            }
            return out;
        });
    }

    /** GEGLU: x [..., 2F] → h·GELU(g) [..., F] with (h, g) the two halves of the last axis. */
    public static Tensor geglu(Tensor x) {
        Backend be = x.backend();
        Tensor y = be.geglu(x);
        return record(y, "geglu", new Tensor[] {x}, dy -> new Tensor[] {be.gegluBackward(x, dy)});
    }

    /** Nearest-neighbour ×2 upsampling of [N, C, H, W]. */
    public static Tensor upsampleNearest2x(Tensor x) {
        Backend be = x.backend();
        Tensor y = be.upsampleNearest2x(x);
        return record(y, "upsample_nearest2x", new Tensor[] {x}, dy -> new Tensor[] {be.upsampleNearest2xBackward(dy)});
    }

    /** Rows of {@code weight} [V, D] gathered at integer {@code ids} → [..., D]. */
    public static Tensor embedding(Tensor weight, Tensor ids) {
        Backend be = weight.backend();
        Tensor y = be.embedding(weight, ids);
        int vocab = weight.dim(0);
        return record(y, "embedding", new Tensor[] {weight, ids}, dy -> new Tensor[] {
            be.embeddingBackward(dy, ids, vocab), null});
    }
}
