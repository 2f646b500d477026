package dev.perfusion.autograd;

import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode differentiation over the graph of {@link GradNode}s that {@link Ops} records.
 *
 * <p>{@link #backward(Tensor, Tensor)} orders the nodes reachable from the output topologically, then walks them
 * from the output back, handing each node the gradient of its output and accumulating the gradients it
 * returns: into the pending gradient of an intermediate tensor, or into {@link Tensor#grad()} of a leaf that
 * requires grad. Intermediate gradients are closed as soon as they have been used.
 *
 * <p>Recording can be switched off per thread with {@link #noGrad()} (inference, optimizer updates).
 */
public final class Autograd {
    private static final ThreadLocal<int[]> NO_GRAD_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private Autograd() {
    }

    /** True unless a {@link #noGrad()} block is open on this thread. */
    public static boolean isGradEnabled() {
        return NO_GRAD_DEPTH.get()[0] == 0;
    }

    /** A block in which no op is recorded: {@code try (var g = Autograd.noGrad()) { … }}. */
    public static AutoCloseable noGrad() {
        int[] depth = NO_GRAD_DEPTH.get();
        depth[0]++;
        return new NoGrad(depth);
    }

    /**
     * A block in which recording is on even inside an enclosing {@link #noGrad()} or backward pass
     * (used by {@link Checkpoint} to recompute a segment).
     */
    static AutoCloseable gradEnabledBlock() {
        int[] depth = NO_GRAD_DEPTH.get();
        int saved = depth[0];
        depth[0] = 0;
        return () -> depth[0] = saved;
    }

    private record NoGrad(int[] depth) implements AutoCloseable {
        @Override
        public void close() {
            depth[0]--;
        }
    }

    /** True when an op on these inputs must be recorded. */
    static boolean tracks(Tensor... inputs) {
        if (!isGradEnabled()) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    /** Back-propagates from a one-element tensor with seed gradient 1. */
    public static void backward(Tensor loss) {
        if (loss.numel() != 1) {
            throw new IllegalArgumentException("backward() without a seed gradient needs a one-element tensor, got "
                    + loss.shape() + "; pass the gradient of a larger output explicitly");
        }
        backward(loss, loss.backend().full(loss.shape(), 1f));
    }

    /**
     * Back-propagates gradient {@code seed} (shaped like {@code output}) through the graph that produced
     * {@code output}, accumulating into the {@link Tensor#grad()} of every leaf that requires grad.
     * The seed is consumed (closed, or kept as a leaf's gradient).
     */
    public static void backward(Tensor output, Tensor seed) {
        if (!output.requiresGrad()) {
            throw new IllegalStateException("backward() on a tensor that does not require grad: no input of the "
                    + "computation was marked requiresGrad(true), or it ran inside Autograd.noGrad()");
        }
        if (!seed.shape().equals(output.shape())) {
            throw new IllegalArgumentException("seed gradient " + seed.shape() + " does not match output " + output.shape());
        }
        try (AutoCloseable ignored = noGrad()) {
            run(output, seed);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void run(Tensor output, Tensor seed) {
        if (output.isLeaf()) {
            accumulateLeaf(output, seed);
            return;
        }
        List<Tensor> order = topologicalOrder(output);
        Map<Tensor, Tensor> pending = new IdentityHashMap<>();
        pending.put(output, seed);
        for (int n = order.size() - 1; n >= 0; n--) {
            Tensor t = order.get(n);
            Tensor dy = pending.remove(t);
            if (dy == null) {
                continue; // no gradient reached this tensor
            }
            GradNode node = t.gradNode();
            Tensor[] grads = oneOwnerEach(node.backward(dy));
            Tensor[] inputs = node.inputs();
            boolean dyHandedOn = false;
            for (int i = 0; i < inputs.length; i++) {
                Tensor in = inputs[i];
                Tensor g = grads[i];
                if (g == null) {
                    continue;
                }
                if (in == null || !in.requiresGrad()) {
                    if (g != dy) {
                        g.close();
                    }
                    continue;
                }
                if (!g.shape().equals(in.shape())) {
                    throw new IllegalStateException("backward of '" + node.op() + "' gave input " + i + " a gradient of shape "
                            + g.shape() + " for an input of shape " + in.shape());
                }
                dyHandedOn |= g == dy;
                if (in.isLeaf()) {
                    accumulateLeaf(in, g);
                } else {
                    Tensor prev = pending.get(in);
                    if (prev == null) {
                        pending.put(in, g);
                    } else {
                        pending.put(in, g.backend().binary(BinaryOp.ADD, prev, g));
                        prev.close();
                        g.close();
                    }
                }
            }
            if (!dyHandedOn) {
                dy.close();
            }
        }
        for (Tensor left : pending.values()) {
            left.close();
        }
    }

    /**
     * A backward may return the same tensor for two inputs (the gradient of x + x is dy for both). Each
     * gradient gets exactly one owner, which may close it, so repeats are replaced by copies.
     */
    private static Tensor[] oneOwnerEach(Tensor[] grads) {
        for (int i = 1; i < grads.length; i++) {
            for (int j = 0; j < i; j++) {
                if (grads[i] != null && grads[i] == grads[j]) {
                    grads[i] = grads[i].backend().affine(grads[i], 1f, 0f);
                    break;
                }
            }
        }
        return grads;
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g) {
        Tensor prev = leaf.grad();
        if (prev == null) {
            leaf.setGrad(g);
        } else {
            Tensor sum = g.backend().binary(BinaryOp.ADD, prev, g);
            leaf.setGrad(sum); // closes prev
            g.close();
        }
    }

    /** Tensors with a grad node reachable from {@code output}, each after all tensors it depends on. */
    private static List<Tensor> topologicalOrder(Tensor output) {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object[]> stack = new ArrayDeque<>(); // {tensor, next input index}
        stack.push(new Object[] {output, 0});
        visited.add(output);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Tensor t = (Tensor) top[0];
            Tensor[] inputs = t.gradNode().inputs();
            int i = (Integer) top[1];
            if (i < inputs.length) {
                top[1] = i + 1;
                Tensor in = inputs[i];
                if (in != null && !in.isLeaf() && in.requiresGrad() && visited.add(in)) {
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }
}
