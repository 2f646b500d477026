package dev.perfusion.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Frees native memory deterministically: every tensor created on this thread while a scope is open
 * belongs to the innermost open scope, and closing the scope closes them all, except those handed on
 * with {@link #keep(Tensor)} (which move to the enclosing scope, or to nobody when there is none).
 *
 * <pre>{@code
 * try (TensorScope scope = TensorScope.open()) {
 *     Tensor h = Ops.silu(Ops.add(x, y));   // intermediates freed at the end
 *     return scope.keep(Ops.mul(h, z));     // survives the scope
 * }
 * }</pre>
 *
 * Scopes are per thread and must be closed in the reverse order of opening (try-with-resources does this).
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<Deque<TensorScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final Set<Tensor> owned = new LinkedHashSet<>();
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private TensorScope() {
    }

    /** Opens a scope nested in the current thread's innermost one. */
    public static TensorScope open() {
        TensorScope s = new TensorScope();
        STACK.get().push(s);
        return s;
    }

    /** The innermost open scope of this thread, or null. */
    static TensorScope current() {
        Deque<TensorScope> d = STACK.get();
        return d.isEmpty() ? null : d.peek();
    }

    /** Called by the Tensor constructor. */
    static void register(Tensor t) {
        TensorScope s = current();
        if (s != null) {
            s.owned.add(t);
            t.scope = s;
        }
    }

    /**
     * Takes a tensor out of whatever scope owns it, so that no scope will close it: the caller now owns it.
     * Used for model weights, optimizer state and gradients that outlive a step.
     */
    public static <T extends Tensor> T detach(T t) {
        if (t.scope != null) {
            t.scope.owned.remove(t);
            t.scope = null;
        }
        return t;
    }

    /** Moves {@code t} from this scope to the enclosing one (or detaches it when there is none) and returns it. */
    public <T extends Tensor> T keep(T t) {
        if (t.scope != this) {
            return t; // made outside this scope: not ours to hand on
        }
        owned.remove(t);
        t.scope = null;
        Deque<TensorScope> d = STACK.get();
        boolean seenSelf = false;
        for (TensorScope s : d) {
            if (seenSelf) {
                s.owned.add(t);
                t.scope = s;
                break;
            }
            seenSelf = s == this;
        }
        return t;
    }

    /** Number of tensors this scope will close. */
    public int size() {
        return owned.size();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("a TensorScope must be closed on the thread that opened it");
        }
        Deque<TensorScope> d = STACK.get();
        if (d.peek() != this) {
            throw new IllegalStateException("TensorScopes closed out of order");
        }
        d.pop();
        closed = true;
        List<Tensor> ts = new ArrayList<>(owned);
        owned.clear();
        for (Tensor t : ts) {
            t.scope = null;
            t.close();
        }
    }
}
