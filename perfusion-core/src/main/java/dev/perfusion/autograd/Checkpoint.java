package dev.perfusion.autograd;

import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.function.Function;

/**
 * Gradient checkpointing: runs a segment of the network without recording it, keeping only its inputs, and
 * recomputes it with recording during the backward pass. Activation memory of the segment is traded for one
 * extra forward. Parameters used inside the segment receive their gradients during that recomputation.
 *
 * <p>The segment must be deterministic (same inputs, same output), since it runs twice.
 */
public final class Checkpoint {
    private Checkpoint() {
    }

    /**
     * Applies {@code segment} to {@code inputs} under checkpointing.
     *
     * @param name    a label for error messages
     * @param segment a pure function of its inputs (and of parameters it closes over)
     * @param inputs  the tensors the segment reads; gradients flow back to those that require grad
     * @return the segment's output; tracked when recording is on
     */
    public static Tensor run(String name, Function<Tensor[], Tensor> segment, Tensor... inputs) {
        Tensor y;
        try (AutoCloseable ignored = Autograd.noGrad(); TensorScope scope = TensorScope.open()) {
            y = scope.keep(segment.apply(inputs));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        if (!Autograd.isGradEnabled()) {
            return y;
        }
        // The node is attached unconditionally: parameters inside the segment may need gradients even when
        // no input does. The recomputation finds out.
        y.setGradNode(new GradNode("checkpoint:" + name, inputs, dy -> recompute(name, segment, inputs, dy)));
        return y;
    }

    private static Tensor[] recompute(String name, Function<Tensor[], Tensor> segment, Tensor[] inputs, Tensor dy) {
        Tensor[] grads = new Tensor[inputs.length];
        try (TensorScope scope = TensorScope.open(); AutoCloseable on = Autograd.gradEnabledBlock()) {
            Tensor[] fresh = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                fresh[i] = Ops.detach(inputs[i]);
                if (inputs[i].requiresGrad()) {
                    fresh[i].requiresGrad(true);
                }
            }
            Tensor y = segment.apply(fresh);
            if (y.requiresGrad()) {
                Tensor seed = y.backend().affine(dy, 1f, 0f); // backward consumes its seed; dy belongs to the caller
                Autograd.backward(y, seed);
            }
            for (int i = 0; i < inputs.length; i++) {
                grads[i] = fresh[i].takeGrad(); // out of the leaf copy, which the scope closes
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("checkpoint '" + name + "' failed in backward", e);
        }
        return grads;
    }
}
