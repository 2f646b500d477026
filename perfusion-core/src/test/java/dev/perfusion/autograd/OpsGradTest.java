package dev.perfusion.autograd;

import static dev.perfusion.autograd.GradCheck.check;
import static dev.perfusion.autograd.GradCheck.input;
import static dev.perfusion.autograd.GradCheck.positive;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.UnaryOp;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Every differentiable op of {@link Ops} against central finite differences on the reference backend. */
@Tag("unit")
class OpsGradTest {
    private final Backend be = new ReferenceBackend();

    @Test
    void broadcastingArithmetic() {
        Tensor a = input(be, 1, 1f, 2, 3, 4);
        Tensor b = input(be, 2, 1f, 3, 1);
        check("add", x -> Ops.add(x[0], x[1]), a, b);
        check("sub", x -> Ops.sub(x[0], x[1]), a, b);
        check("mul", x -> Ops.mul(x[0], x[1]), a, b);
        Tensor d = positive(be, 3, 0.5f, 2f, 4);
        check("div", x -> Ops.div(x[0], x[1]), a, d);
        check("div rows", x -> Ops.div(x[1], x[0]), positive(be, 4, 0.5f, 2f, 2, 1, 1), input(be, 5, 1f, 3, 4));
    }

    @Test
    void sameTensorTwice() {
        Tensor a = input(be, 6, 1f, 3, 2);
        check("x*x", x -> Ops.mul(x[0], x[0]), a);
        check("x+x", x -> Ops.add(x[0], x[0]), a);
        check("(x+x)*x", x -> Ops.mul(Ops.add(x[0], x[0]), x[0]), a);
    }

    @Test
    void affineAndPow() {
        check("affine", x -> Ops.affine(x[0], -1.5f, 0.25f), input(be, 7, 1f, 5));
        check("pow", x -> Ops.pow(x[0], 2.5f), positive(be, 8, 0.5f, 2f, 2, 3));
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unary(UnaryOp op) {
        boolean positiveOnly = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT;
        Tensor x = positiveOnly ? positive(be, 9, 0.5f, 3f, 3, 4) : input(be, 9, 1.5f, 3, 4);
        check(op.name(), t -> Ops.unary(op, t[0]), x);
    }

    @Test
    void reductions() {
        Tensor x = input(be, 10, 1f, 2, 3, 4);
        check("sum all", t -> Ops.sum(t[0], new int[0], false), x);
        check("sum 1 keep", t -> Ops.sum(t[0], new int[] {1}, true), x);
        check("sum 0,2", t -> Ops.sum(t[0], new int[] {0, 2}, false), x);
        check("mean -1", t -> Ops.mean(t[0], new int[] {-1}, false), x);
        check("mse", t -> Ops.mseLoss(t[0], t[1]), x, input(be, 11, 1f, 2, 3, 4));
    }

    @Test
    void shapeOps() {
        Tensor x = input(be, 12, 1f, 2, 3, 4);
        check("reshape", t -> Ops.reshape(t[0], Shape.of(6, 4)), x);
        check("permute", t -> Ops.permute(t[0], 2, 0, 1), x);
        check("transpose", t -> Ops.transpose(t[0], -1, -2), x);
        check("slice", t -> Ops.slice(t[0], 1, 1, 3), x);
        check("concat", t -> Ops.concat(List.of(t[0], t[1]), 2), x, input(be, 13, 1f, 2, 3, 2));
        check("pad", t -> Ops.pad(t[0], new int[] {0, 1, 2}, new int[] {1, 0, 1}, 0.5f), x);
        check("expand", t -> Ops.expand(t[0], Shape.of(2, 3, 4)), input(be, 14, 1f, 3, 1));
    }

    @ParameterizedTest
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void matmulTransposes(boolean ta, boolean tb) {
        Tensor a = ta ? input(be, 15, 1f, 2, 4, 3) : input(be, 15, 1f, 2, 3, 4);
        Tensor b = tb ? input(be, 16, 1f, 5, 4) : input(be, 16, 1f, 4, 5); // batch axis broadcast
        check("matmul " + ta + "," + tb, t -> Ops.matmul(t[0], t[1], ta, tb), a, b);
    }

    @Test
    void linear() {
        check("linear", t -> Ops.linear(t[0], t[1], t[2]), input(be, 17, 1f, 2, 3, 5), input(be, 18, 0.5f, 4, 5),
                input(be, 19, 1f, 4));
    }

    @ParameterizedTest
    @CsvSource({"1,1", "2,1", "1,0", "2,0"})
    void conv2d(int stride, int padding) {
        Tensor x = input(be, 20, 1f, 2, 3, 5, 6);
        Tensor w = input(be, 21, 0.5f, 4, 3, 3, 3);
        Tensor b = input(be, 22, 1f, 4);
        check("conv2d s" + stride + " p" + padding, t -> Ops.conv2d(t[0], t[1], t[2], stride, padding), x, w, b);
    }

    @Test
    void norms() {
        Tensor x = input(be, 23, 2f, 2, 6, 3, 2);
        check("group_norm", t -> Ops.groupNorm(t[0], 3, t[1], t[2], 1e-5f), x, input(be, 24, 1f, 6),
                input(be, 25, 1f, 6));
        check("layer_norm", t -> Ops.layerNorm(t[0], t[1], t[2], 1e-5f), input(be, 26, 2f, 3, 7), input(be, 27, 1f, 7),
                input(be, 28, 1f, 7));
        check("group_norm no affine", t -> Ops.groupNorm(t[0], 2, null, null, 1e-5f), x);
    }

    @Test
    void softmaxAndAttention() {
        check("softmax", t -> Ops.softmax(t[0]), input(be, 29, 2f, 3, 5));
        Tensor q = input(be, 30, 1f, 1, 2, 5, 3);
        Tensor k = input(be, 31, 1f, 1, 2, 7, 3);
        Tensor v = input(be, 32, 1f, 1, 2, 7, 4);
        check("attention", t -> Ops.attention(t[0], t[1], t[2], null, false, 0.5f), q, k, v);
        Tensor mask = GradCheck.input(be, 33, 1f, 5, 7).requiresGrad(false);
        check("attention mask", t -> Ops.attention(t[0], t[1], t[2], mask, false, 0.5f), q, k, v);
        Tensor kc = input(be, 34, 1f, 1, 2, 5, 3);
        Tensor vc = input(be, 35, 1f, 1, 2, 5, 4);
        check("attention causal", t -> Ops.attention(t[0], t[1], t[2], null, true, 0.5f), q, kc, vc);
    }

    @Test
    void gegluUpsampleEmbedding() {
        check("geglu", t -> Ops.geglu(t[0]), input(be, 36, 1.5f, 2, 3, 8));
        check("upsample", t -> Ops.upsampleNearest2x(t[0]), input(be, 37, 1f, 1, 2, 3, 2));
        Tensor ids = be.fromArray(new long[] {3, 0, 3, 1, 4, 2}, Shape.of(2, 3));
        check("embedding", t -> Ops.embedding(t[0], ids), input(be, 38, 1f, 5, 4));
    }
}
