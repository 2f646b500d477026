package dev.perfusion.nn;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Base class of every network block: a tree of named {@link Parameter}s and child modules whose dotted paths
 * are diffusers' checkpoint keys ({@code to_out.0.weight}, {@code net.0.proj.weight}), so a diffusers state
 * dict loads by identity.
 *
 * <p>A subclass creates its parameters and children in its constructor, keeps them in typed final fields, and
 * registers each exactly once under its key:
 * <pre>{@code
 * this.toQ = registerModule("to_q", new Linear(backend, queryDim, inner, false));
 * this.weight = registerParameter("weight", Parameter.zeros(backend, Shape.of(out, in)));
 * }</pre>
 * {@code forward} uses the fields, never string lookups.
 *
 * <p>Parameters start as FLOAT32 zeros or ones and frozen ({@code requiresGrad == false}); values come from
 * {@link #loadStateDict} or {@link #initialize(long)}. Frozen parameters may be stored in half precision
 * ({@link WeightStorage#AS_STORED}); blocks compute in FLOAT32 through {@link Parameter#compute()}. Every module in a tree lives on one {@link Backend}.
 * The module owns its parameter tensors; {@link #close()} frees them.
 */
public abstract class Module implements AutoCloseable {
    private final Backend backend;
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean registered;

    /** @param backend where this module's parameters live and its forward runs */
    protected Module(Backend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend is null");
        }
        this.backend = backend;
    }

    /** The backend of this module's parameters. */
    public final Backend backend() {
        return backend;
    }

    // ------------------------------------------------------------------ registration (constructors only)

    /**
     * Registers a parameter of this module under {@code name} (a key segment such as {@code weight}) and
     * returns it, for assignment to a final field.
     */
    protected final Parameter registerParameter(String name, Parameter p) {
        checkName(name);
        if (p.value().backend() != backend) {
            throw new IllegalArgumentException("parameter '" + name + "' lives on backend '" + p.value().backend().name()
                    + "', module " + getClass().getSimpleName() + " on '" + backend.name() + "'");
        }
        p.bindName(name);
        parameters.put(name, p);
        return p;
    }

    /**
     * Registers a child module under {@code name} and returns it. The name may contain dots where diffusers
     * has a list index ({@code to_out.0}, {@code net.2}, {@code down_blocks.1}).
     */
    protected final <M extends Module> M registerModule(String name, M child) {
        checkName(name);
        Module c = child; // private fields are not reachable through the type variable M
        if (c.registered) {
            throw new IllegalArgumentException("module " + child.getClass().getSimpleName()
                    + " is already registered in another module; cannot register it again as '" + name + "'");
        }
        if (c.backend != backend) {
            throw new IllegalArgumentException("child '" + name + "' lives on backend '" + c.backend.name()
                    + "', module " + getClass().getSimpleName() + " on '" + backend.name() + "'");
        }
        c.registered = true;
        children.put(name, child);
        return child;
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.startsWith(".") || name.endsWith(".") || name.contains("..")) {
            throw new IllegalArgumentException("bad key segment '" + name + "' in " + getClass().getSimpleName());
        }
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("key '" + name + "' registered twice in " + getClass().getSimpleName());
        }
    }

    // ------------------------------------------------------------------ traversal

    /**
     * Every parameter of this module and its descendants under its full dotted key relative to this module, in
     * registration order (own parameters first, then each child's in turn).
     *
     * @throws IllegalStateException if two paths produce the same key
     */
    public final LinkedHashMap<String, Parameter> namedParameters() {
        LinkedHashMap<String, Parameter> out = new LinkedHashMap<>();
        collectParameters("", out);
        return out;
    }

    private void collectParameters(String prefix, Map<String, Parameter> out) {
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            String key = prefix + e.getKey();
            if (out.put(key, e.getValue()) != null) {
                throw new IllegalStateException("two parameters share the key '" + key + "'");
            }
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().collectParameters(prefix + e.getKey() + ".", out);
        }
    }

    /** The parameters of {@link #namedParameters()}, in the same order. */
    public final List<Parameter> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** The direct children under their registered names, in registration order. */
    public final Map<String, Module> namedChildren() {
        return Collections.unmodifiableMap(children);
    }

    /**
     * Every descendant module (not this one) under its dotted path, parents before their children: the way to
     * find, say, every {@code attn2} of a UNet to give it a processor.
     */
    public final LinkedHashMap<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        for (Map.Entry<String, Module> e : children.entrySet()) {
            String path = prefix + e.getKey();
            out.put(path, e.getValue());
            e.getValue().collectModules(path + ".", out);
        }
    }

    /**
     * Bytes the parameter values of this subtree take in their storage dtypes: Σ numel × {@link DType#byteSize()}
     * (an SD v1.5 UNet: about 3.4 GB in FLOAT32, 1.7 GB loaded {@link WeightStorage#AS_STORED} from fp16). This is
     * the logical size; a backend may hold more ({@code ReferenceBackend} keeps half values in float arrays) and
     * gradients are not counted.
     */
    public final long storageBytes() {
        long n = 0;
        for (Parameter p : namedParameters().values()) {
            n += p.storageBytes();
        }
        return n;
    }

    /** {@link #storageBytes()} split by storage dtype, for reports (dtypes with no parameters are absent). */
    public final Map<DType, Long> storageBytesByDType() {
        Map<DType, Long> out = new EnumMap<>(DType.class);
        for (Parameter p : namedParameters().values()) {
            out.merge(p.dtype(), p.storageBytes(), Long::sum);
        }
        return out;
    }

    /** Total number of parameter elements in this subtree. */
    public final long parameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) {
            n += p.shape().numel();
        }
        return n;
    }

    // ------------------------------------------------------------------ training state

    /**
     * Unfreezes ({@code true}) or freezes ({@code false}) every parameter of this subtree. A frozen module still
     * passes gradients to its inputs; it only creates no gradients for its own parameters. Unfreezing widens
     * half-precision parameters to FLOAT32 ({@link Parameter#requiresGrad(boolean)}), doubling their memory.
     */
    public void requiresGrad(boolean value) {
        for (Parameter p : namedParameters().values()) {
            p.requiresGrad(value);
        }
    }

    /** Drops the gradients of every parameter of this subtree. */
    public void zeroGrad() {
        for (Parameter p : namedParameters().values()) {
            p.zeroGrad();
        }
    }

    // ------------------------------------------------------------------ state dicts

    /** The keys a non-strict {@link #loadStateDict} skipped. */
    public record LoadResult(List<String> missingKeys, List<String> unexpectedKeys) {
        public LoadResult {
            missingKeys = List.copyOf(missingKeys);
            unexpectedKeys = List.copyOf(unexpectedKeys);
        }
    }

    /**
     * Loads parameter values from {@code state} (full dotted keys relative to this module), widening half-precision
     * values to FLOAT32: {@link #loadStateDict(Map, boolean, WeightStorage)} with {@link WeightStorage#FLOAT32}.
     *
     * @throws StateDictException listing every problem found
     */
    public LoadResult loadStateDict(Map<String, Tensor> state, boolean strict) {
        return loadStateDict(state, strict, WeightStorage.FLOAT32);
    }

    /**
     * Loads parameter values from {@code state} (full dotted keys relative to this module).
     *
     * <p>All keys are checked before any parameter changes. Shape mismatches and non-floating dtypes are always
     * errors; in strict mode missing and unexpected keys are errors too. All errors are reported together in one
     * {@link StateDictException}, and then nothing has been loaded. In non-strict mode missing parameters keep
     * their values and unexpected keys are ignored; both are returned.
     *
     * <p>dtypes: CPU backends compute in FLOAT32. With {@link WeightStorage#FLOAT32} FLOAT16 and BFLOAT16 values
     * (fp16 checkpoints) are widened to FLOAT32 on load. With {@link WeightStorage#AS_STORED} they keep their
     * dtype (half the memory; each block widens its weights for the length of one forward, see
     * {@link Parameter#compute()}), except for parameters that require grad, which are always widened. A value on
     * another backend is copied to this module's backend.
     *
     * <p>Ownership: the module takes every tensor stored under one of its keys. It keeps the tensor itself
     * (detached from its {@link TensorScope}) when it is on this backend and already in the dtype the parameter
     * will store, and otherwise keeps a converted copy and closes the given tensor. Tensors under unexpected keys
     * stay the caller's. The values the parameters held before are closed. The requires-grad flag of each
     * parameter is kept.
     *
     * @param storage how to store half-precision values; null means {@link WeightStorage#FLOAT32}
     * @throws StateDictException listing every problem found
     */
    public LoadResult loadStateDict(Map<String, Tensor> state, boolean strict, WeightStorage storage) {
        WeightStorage how = storage == null ? WeightStorage.FLOAT32 : storage;
        LinkedHashMap<String, Parameter> own = namedParameters();
        List<String> missing = new ArrayList<>();
        List<String> shapes = new ArrayList<>();
        List<String> dtypes = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : own.entrySet()) {
            String key = e.getKey();
            Tensor t = state.get(key);
            if (t == null) {
                missing.add(key);
                continue;
            }
            if (t.isClosed() || !t.isLeaf()) {
                // programming errors rather than checkpoint problems: reported at once, before anything changes
                throw new IllegalArgumentException("state dict value '" + key + "' is "
                        + (t.isClosed() ? "a closed tensor" : "the output of a tracked op; pass Ops.detach(t)"));
            }
            if (!t.dtype().isFloating()) {
                dtypes.add(key + ": " + t.dtype() + " (parameters are floating point)");
            } else if (!t.shape().equals(e.getValue().shape())) {
                shapes.add(key + ": checkpoint " + t.shape() + " vs module " + e.getValue().shape());
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String key : state.keySet()) {
            if (!own.containsKey(key)) {
                unexpected.add(key);
            }
        }
        boolean keysBad = strict && (!missing.isEmpty() || !unexpected.isEmpty());
        if (keysBad || !shapes.isEmpty() || !dtypes.isEmpty()) {
            throw new StateDictException(getClass().getSimpleName(), strict ? missing : List.of(),
                    strict ? unexpected : List.of(), shapes, dtypes);
        }
        Set<Tensor> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Tensor> converted = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Map.Entry<String, Parameter> e : own.entrySet()) {
            Tensor t = state.get(e.getKey());
            if (t == null) {
                continue;
            }
            Parameter p = e.getValue();
            // trainable parameters are FLOAT32 whatever the storage (Parameter#requiresGrad)
            DType target = how == WeightStorage.AS_STORED && !p.requiresGrad() ? t.dtype() : DType.FLOAT32;
            Tensor value = toModuleDType(t, target);
            (value == t ? kept : converted).add(t);
            p.set(value);
        }
        for (Tensor t : converted) {
            if (!kept.contains(t)) {
                t.close(); // after the loop: the same tensor may have been given under two keys
            }
        }
        return new LoadResult(missing, unexpected);
    }

    /** {@code t} itself when it is {@code dtype} on this backend, else a copy of that dtype on this backend. */
    private Tensor toModuleDType(Tensor t, DType dtype) {
        if (t.backend() != backend) {
            Tensor wide = backend.fromArray(t.toFloatArray(), t.shape()); // toFloatArray widens half types
            if (dtype == DType.FLOAT32) {
                return wide;
            }
            Tensor narrow = backend.cast(wide, dtype); // exact: every value came from this dtype
            wide.close();
            return narrow;
        }
        return t.dtype() == dtype ? t : backend.cast(t, dtype);
    }

    /**
     * The parameter values under their full dotted keys, in {@link #namedParameters()} order, each in its storage
     * dtype (FLOAT16 or BFLOAT16 for half-precision parameters). These are the live tensors, still owned by the
     * module: read or save them, do not close them.
     */
    public final LinkedHashMap<String, Tensor> stateDict() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : namedParameters().entrySet()) {
            out.put(e.getKey(), e.getValue().value());
        }
        return out;
    }

    // ------------------------------------------------------------------ initialisation

    /**
     * Fills every parameter of this subtree with fresh values, deterministically: each parameter gets its own
     * seed, {@link Init#seedFor}(seed, full dotted key), so values depend on the seed and the parameter's key
     * (relative to this module), not on construction or registration order, and not on the backend. The module
     * that registered a parameter chooses the distribution in {@link #initializeParameter}.
     */
    public final void initialize(long seed) {
        initializeTree("", seed);
    }

    private void initializeTree(String prefix, long seed) {
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            initializeParameter(e.getKey(), e.getValue(), Init.seedFor(seed, prefix + e.getKey()));
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().initializeTree(prefix + e.getKey() + ".", seed);
        }
    }

    /**
     * Sets the initial value of this module's own parameter {@code name} from {@code seed}, using the {@link Init}
     * helpers. Every module that registers parameters overrides it; the default throws, so that a parameter
     * without an explicit rule is noticed rather than silently given one.
     *
     * @param name the local key the parameter was registered under
     * @param seed the parameter's own seed (already mixed with its full key)
     */
    protected void initializeParameter(String name, Parameter p, long seed) {
        throw new IllegalStateException(getClass().getSimpleName() + " registers parameter '" + name
                + "' but does not override initializeParameter to say how to initialise it");
    }

    // ------------------------------------------------------------------ lifetime

    /** Frees every parameter (and gradient) of this subtree. Closing twice is harmless. */
    @Override
    public void close() {
        for (Parameter p : parameters.values()) {
            p.close();
        }
        for (Module m : children.values()) {
            m.close();
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + parameters.size() + " parameters, " + children.size() + " children)";
    }
}
