package dev.perfusion.autograd;

import dev.perfusion.tensor.Tensor;
import java.util.function.Function;

/**
 * One recorded op on the tape: its inputs and a backward function that maps the gradient of its output to
 * the gradients of its inputs. The backward function captures exactly the tensors it needs (saved inputs or
 * outputs) and nothing else.
 */
public final class GradNode {
    private final String op;
    private final Tensor[] inputs;
    private final Function<Tensor, Tensor[]> backward;

    /**
     * @param op       the op's name, for error messages
     * @param inputs   the op's tensor inputs, in order
     * @param backward dL/dy → dL/dx_i for each input (null entries where an input needs no gradient)
     */
    public GradNode(String op, Tensor[] inputs, Function<Tensor, Tensor[]> backward) {
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
    }

    public String op() {
        return op;
    }

    /** The inputs (not copied). */
    Tensor[] inputs() {
        return inputs;
    }

    /** Gradients of the inputs for output gradient {@code dy}. */
    Tensor[] backward(Tensor dy) {
        Tensor[] g = backward.apply(dy);
        if (g.length != inputs.length) {
            throw new IllegalStateException("backward of '" + op + "' returned " + g.length + " gradients for "
                    + inputs.length + " inputs");
        }
        return g;
    }

    @Override
    public String toString() {
        return "GradNode[" + op + "]";
    }
}
