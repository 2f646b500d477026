package dev.perfusion.nn;

import static dev.perfusion.nn.NnTesting.normal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The processor seam of {@link Attention}: what a processor receives, and that replacing it changes the result. */
@Tag("unit")
class AttentionProcessorTest {
    private final Backend be = new ReferenceBackend();

    @Test
    void theDefaultProcessorIsAttnProcessor() {
        try (Attention a = new Attention(be, 8, 6, 2, 3)) {
            assertTrue(a.processor() instanceof AttnProcessor);
            assertThrows(IllegalArgumentException.class, () -> a.setProcessor(null));
        }
    }

    @Test
    void aProcessorReceivesTheModuleAndTheEncoderStates() {
        try (TensorScope scope = TensorScope.open(); Attention a = new Attention(be, 8, 6, 2, 3)) {
            a.initialize(1);
            Tensor h = normal(be, 2, 1f, 2, 3, 8);
            Tensor ctx = normal(be, 3, 1f, 2, 4, 6);
            Tensor mask = NnTesting.crossMask(be);
            Tensor expected = a.forward(h, ctx, mask);
            List<Object[]> calls = new ArrayList<>();
            AttnProcessor inner = new AttnProcessor();
            a.setProcessor((attn, hidden, encoder, m) -> {
                calls.add(new Object[] {attn, hidden, encoder, m});
                return inner.apply(attn, hidden, encoder, m);
            });
            Tensor y = a.forward(h, ctx, mask);
            assertEquals(1, calls.size());
            assertSame(a, calls.get(0)[0]);
            assertSame(h, calls.get(0)[1]);
            assertSame(ctx, calls.get(0)[2]);
            assertSame(mask, calls.get(0)[3]);
            Tolerance.EXACT.assertClose("delegating processor", expected, y);

        }
    }

    @Test
    void selfAttentionPassesNullEncoderStates() {
        try (TensorScope scope = TensorScope.open(); Attention a = new Attention(be, 8, null, 2, 3)) {
            a.initialize(1);
            List<Tensor> encoders = new ArrayList<>();
            AttnProcessor inner = new AttnProcessor();
            a.setProcessor((attn, hidden, encoder, m) -> {
                encoders.add(encoder);
                return inner.apply(attn, hidden, encoder, m);
            });
            a.forward(normal(be, 2, 1f, 2, 3, 8));
            assertEquals(1, encoders.size());
            assertNull(encoders.get(0));
        }
    }

    @Test
    void aProcessorCanFormKeysAndValuesItsOwnWay() {
        // The shape of Perfusion's processor: same queries and output projection, edited K and V.
        try (TensorScope scope = TensorScope.open(); Attention a = new Attention(be, 8, 6, 2, 3)) {
            a.initialize(4);
            Tensor h = normal(be, 5, 1f, 2, 3, 8);
            Tensor ctx = normal(be, 6, 1f, 2, 4, 6);
            Tensor doubledCtx = Ops.scale(ctx, 2f);
            Tensor viaDoubledContext = a.forward(h, doubledCtx, null);
            a.setProcessor((attn, hidden, encoder, m) -> {
                Tensor q = attn.splitHeads(attn.toQ().forward(hidden));                    // [B, h, N, d]
                Tensor k = attn.splitHeads(Ops.scale(attn.toK().forward(encoder), 2f));   // [B, h, M, d]
                Tensor v = attn.splitHeads(Ops.scale(attn.toV().forward(encoder), 2f));   // [B, h, M, d]
                Tensor o = Ops.attention(q, k, v, m, false, attn.scale());               // [B, h, N, d]
                return attn.toOut().forward(attn.mergeHeads(o));                         // [B, N, C]
            });
            // to_k, to_v have no bias, so scaling K and V by 2 equals doubling the context
            Tolerance.FLOAT32.assertClose("custom K/V", viaDoubledContext, a.forward(h, ctx, null));
        }
    }

    @Test
    void splitAndMergeHeadsAreInverse() {
        try (TensorScope scope = TensorScope.open(); Attention a = new Attention(be, 8, null, 2, 3)) {
            Tensor x = normal(be, 7, 1f, 2, 5, 6);
            Tensor split = a.splitHeads(x);
            assertEquals(Shape.of(2, 2, 5, 3), split.shape());
            // head 1 of token 4 in sample 0 is features 3..5 of that token
            float[] xs = x.toFloatArray();
            float[] ss = split.toFloatArray();
            for (int t = 0; t < 3; t++) {
                assertEquals(xs[4 * 6 + 3 + t], ss[(1 * 5 + 4) * 3 + t]);
            }
            Tolerance.EXACT.assertClose("merge(split(x))", x, a.mergeHeads(split));
        }
    }

    @Test
    void forwardChecksShapes() {
        try (TensorScope scope = TensorScope.open(); Attention a = new Attention(be, 8, 6, 2, 3)) {
            Tensor h = normal(be, 1, 1f, 2, 3, 8);
            assertThrows(IllegalArgumentException.class, () -> a.forward(normal(be, 1, 1f, 2, 3, 7), null, null));
            assertThrows(IllegalArgumentException.class, () -> a.forward(h, normal(be, 1, 1f, 2, 4, 8), null));
            assertThrows(IllegalArgumentException.class, () -> a.forward(h, normal(be, 1, 1f, 1, 4, 6), null));
            IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> a.forward(h));
            assertTrue(none.getMessage().contains("encoder hidden states"), none.getMessage());
        }
    }
}
