package dev.perfusion.unet;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.nd4j.Nd4jBackend;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.io.IOException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradient checkpointing of the UNet's blocks changes memory, not results: on {@code unet-tiny-2level} (ND4J) the
 * output and the gradient of L = Σ w ⊙ unet(x, t, c) with respect to the encoder hidden states c are the same with
 * and without {@link UNet2DConditionModel#setGradientCheckpointing}.
 */
@Tag("unit")
class UNetCheckpointTest {
    private record Run(float[] out, float[] grad, java.util.List<String> blockOps) {
    }

    @Test
    void checkpointingGivesTheSameGradients() throws IOException {
        Backend be = new Nd4jBackend();
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(UNetGoldens.TINY_UNET, be)) {
            Run plain = run(unet, be, false);
            Run checkpointed = run(unet, be, true);
            // the recomputation replays the same ops on the same values: equal up to float32 summation noise
            Tolerance tight = new Tolerance(1e-6, 1e-5);
            tight.assertClose("out_sample", dev.perfusion.tensor.Shape.of(plain.out.length), plain.out, checkpointed.out);
            tight.assertClose("dL/dc", dev.perfusion.tensor.Shape.of(plain.grad.length), plain.grad, checkpointed.grad);
            // the blocks' outputs come from checkpoint nodes only when checkpointing is on
            assertTrue(plain.blockOps.stream().noneMatch(op -> op.startsWith("checkpoint:")), plain.blockOps.toString());
            assertTrue(checkpointed.blockOps.stream().allMatch(op -> op.startsWith("checkpoint:")),
                    checkpointed.blockOps.toString());
            double norm = 0;
            for (float g : plain.grad) {
                norm += g * g;
            }
            assertTrue(norm > 0, "the gradient must not vanish");
            assertFalse(unet.isGradientCheckpointing());
        }
    }

    private static Run run(UNet2DConditionModel unet, Backend be, boolean checkpoint) throws IOException {
        unet.setGradientCheckpointing(checkpoint);
        try (SafeTensors st = SafeTensors.open(UNetGoldens.TINY_CASES); TensorScope scope = TensorScope.open()) {
            Tensor x = st.tensor("b1_16x8_t999.in_sample", be);
            Tensor t = st.tensor("b1_16x8_t999.in_timestep", be);
            Tensor c = st.tensor("b1_16x8_t999.in_encoder_hidden_states", be).requiresGrad(true);
            java.util.List<String> ops = new java.util.ArrayList<>();
            Tensor out = unet.forward(x, t, c, ForwardHooks.of((path, v) -> {
                if (path.matches("(down_blocks\\.\\d+\\.res\\d+|mid_block|up_blocks\\.\\d+)")) {
                    ops.add(v.gradNode() == null ? "none" : v.gradNode().op());
                }
            }));                                                                   // [1, 4, 16, 8]
            assertTrue(out.requiresGrad());
            Tensor w = be.fromArray(HostRandom.normal(99, (int) out.numel()), out.shape());
            Tensor loss = Ops.sum(Ops.mul(out, w), new int[] {0, 1, 2, 3}, false); // []
            Autograd.backward(loss);
            assertNotNull(c.grad(), "encoder hidden states got no gradient");
            return new Run(out.toFloatArray(), c.grad().toFloatArray(), ops);
        } finally {
            unet.setGradientCheckpointing(false);
        }
    }
}
