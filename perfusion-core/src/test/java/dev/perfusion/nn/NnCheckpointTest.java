package dev.perfusion.nn;

import static dev.perfusion.nn.NnTesting.normal;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.perfusion.autograd.Checkpoint;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A stack of blocks under {@link Checkpoint#run} gives the same gradients as without checkpointing. */
@Tag("unit")
class NnCheckpointTest {
    private final Backend be = new ReferenceBackend();

    /** Linear → GEGLU feed-forward → self-attention → cross-attention, as in a transformer block. */
    private static final class Stack extends Module {
        private final Linear proj;
        private final FeedForward ff;
        private final Attention attn1;
        private final Attention attn2;

        Stack(Backend be) {
            super(be);
            proj = registerModule("proj", new Linear(be, 5, 8, true));
            ff = registerModule("ff", new FeedForward(be, 8));
            attn1 = registerModule("attn1", new Attention(be, 8, null, 2, 4));
            attn2 = registerModule("attn2", new Attention(be, 8, 6, 2, 4));
        }

        Tensor forward(Tensor x, Tensor ctx) {
            Tensor h = proj.forward(x);       // [B, N, 8]
            Tensor f = ff.forward(h);         // [B, N, 8]
            Tensor a = attn1.forward(f);      // [B, N, 8]
            Tensor y = attn2.forward(a, ctx, null); // [B, N, 8]
            return Intermediates.release(y, h, f, a);
        }
    }

    /** Gradients of L = Σ w ⊙ stack(x, ctx), for x and every parameter (null where none). */
    private Map<String, float[]> gradients(Stack s, Tensor x, Tensor ctx, boolean checkpointed) {
        s.zeroGrad();
        x.zeroGrad();
        try (TensorScope scope = TensorScope.open()) {
            Tensor y = checkpointed
                    ? Checkpoint.run("stack", in -> s.forward(in[0], in[1]), x, ctx)
                    : s.forward(x, ctx);
            Tensor w = be.fromArray(HostRandom.normal(3, y.shape().numelInt()), y.shape());
            Ops.sum(Ops.mul(y, w), new int[0], false).backward();
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        out.put("input", x.grad() == null ? null : x.grad().toFloatArray());
        s.namedParameters().forEach((k, p) -> out.put(k, p.grad() == null ? null : p.grad().toFloatArray()));
        return out;
    }

    private void assertSameGradients(Map<String, float[]> expected, Map<String, float[]> actual) {
        for (String k : expected.keySet()) {
            if (expected.get(k) == null) {
                assertNull(actual.get(k), k);
                continue;
            }
            assertNotNull(actual.get(k), k + " got no gradient under checkpointing");
            // the recomputation runs the same ops in the same order, so only float32 noise is allowed
            Tolerance.FLOAT32.assertClose(k, Shape.of(expected.get(k).length), expected.get(k), actual.get(k));
        }
    }

    @Test
    void trainableStack() {
        try (TensorScope scope = TensorScope.open(); Stack s = new Stack(be)) {
            s.initialize(1);
            s.requiresGrad(true);
            Tensor x = normal(be, 2, 1f, 2, 3, 5).requiresGrad(true);
            Tensor ctx = normal(be, 3, 1f, 2, 4, 6);
            Map<String, float[]> plain = gradients(s, x, ctx, false);
            Map<String, float[]> checkpointed = gradients(s, x, ctx, true);
            assertNotNull(plain.get("attn2.to_k.weight"));
            assertSameGradients(plain, checkpointed);
        }
    }

    @Test
    void frozenStackStillGivesTheInputGradient() {
        try (TensorScope scope = TensorScope.open(); Stack s = new Stack(be)) {
            s.initialize(4);
            Tensor x = normal(be, 5, 1f, 1, 3, 5).requiresGrad(true);
            Tensor ctx = normal(be, 6, 1f, 1, 4, 6);
            Map<String, float[]> plain = gradients(s, x, ctx, false);
            Map<String, float[]> checkpointed = gradients(s, x, ctx, true);
            assertNull(plain.get("proj.weight"));
            assertSameGradients(plain, checkpointed);
        }
    }

    @Test
    void parametersGetGradientsWhenTheInputNeedsNone() {
        // Perfusion's case: data in, only some weights trainable
        try (TensorScope scope = TensorScope.open(); Stack s = new Stack(be)) {
            s.initialize(7);
            s.attn2.toV().requiresGrad(true);
            Tensor x = normal(be, 8, 1f, 2, 3, 5);
            Tensor ctx = normal(be, 9, 1f, 2, 4, 6);
            Map<String, float[]> plain = gradients(s, x, ctx, false);
            Map<String, float[]> checkpointed = gradients(s, x, ctx, true);
            assertNotNull(plain.get("attn2.to_v.weight"));
            assertNull(plain.get("attn2.to_k.weight"));
            assertSameGradients(plain, checkpointed);
        }
    }
}
