package dev.perfusion.perfusion;

import dev.perfusion.nn.Parameter;
import dev.perfusion.optim.AdamW;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.CrossAttentionLayer;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a run changes: trained tensors, frozen targets, i*, optimizer, counters and the loss history.
 * Per mode: PERFUSION has v*, o*_V (trained) and o*_K (frozen); NO_KEY_LOCKING also trains {@code learnedKeys}
 * (and keeps {@code keys} = W_K·ē_super, their start, for the concept file); EMBEDDING_ONLY has v* only.
 */
final class TrainState implements AutoCloseable {
    int step;
    long micro;
    boolean initialized;
    double[] iStar;
    final TrainMode mode;
    final Parameter embedding;           // v* [1, D]
    final List<Parameter> values = new ArrayList<>();      // o*_V per layer [1, d]
    final List<float[]> keys = new ArrayList<>();          // W_K·ē_super per layer [d]: o*_K when key-locked
    final List<Parameter> learnedKeys = new ArrayList<>(); // o*_K per layer [1, d], NO_KEY_LOCKING only
    final List<Double> losses = new ArrayList<>();
    final AdamW opt;
    private final double[] lrs;
    List<BufferedImage> previews;

    private TrainState(Backend be, float[] init, List<CrossAttentionLayer> layers, TrainConfig cfg) {
        mode = cfg.mode();
        embedding = new Parameter(be.fromArray(init, Shape.of(1, init.length))).requiresGrad(true); // [1, D]
        if (mode.editsAttention()) {
            for (CrossAttentionLayer l : layers) {
                values.add(Parameter.zeros(be, Shape.of(1, l.width())).requiresGrad(true)); // [1, d]
                keys.add(new float[l.width()]);
                if (mode == TrainMode.NO_KEY_LOCKING) {
                    learnedKeys.add(Parameter.zeros(be, Shape.of(1, l.width())).requiresGrad(true)); // [1, d]
                }
            }
        }
        iStar = new double[init.length];
        // group order embedding, values, keys: PERFUSION's optimizer (and checkpoints) are as before modes
        List<AdamW.ParamGroup> groups = new ArrayList<>();
        groups.add(new AdamW.ParamGroup("embedding", cfg.lrEmbedding(), List.of(embedding)));
        if (!values.isEmpty()) {
            groups.add(new AdamW.ParamGroup("values", cfg.lrValues(), values));
        }
        if (!learnedKeys.isEmpty()) {
            groups.add(new AdamW.ParamGroup("keys", cfg.lrValues(), learnedKeys));
        }
        opt = new AdamW(groups, cfg.weightDecay());
        lrs = groups.stream().mapToDouble(AdamW.ParamGroup::lr).toArray();
    }

    /** The learning rate of each parameter group: [embedding, values, keys], as far as the mode has them. */
    double[] learningRates() {
        return lrs.clone();
    }

    /** Layer l's key target for the edit [1, d]: learned (requires grad) or the locked keys (a new constant). */
    Tensor keyTarget(Backend be, int l, int width) {
        if (mode == TrainMode.NO_KEY_LOCKING) {
            return learnedKeys.get(l).value();
        }
        return be.fromArray(keys.get(l), Shape.of(1, width));                  // [1, d]
    }

    static TrainState fresh(Backend be, float[] init, List<CrossAttentionLayer> layers, TrainConfig cfg) {
        return new TrainState(be, init, layers, cfg);
    }

    /**
     * First micro-batch: i* = ē_super, o*_K = W_K·ē_super (then frozen, or trained without key-locking),
     * o*_V = W_V·ē_super (then trained); only i* with EMBEDDING_ONLY.
     */
    void initialize(double[] eS, List<CrossAttentionLayer> layers) {
        iStar = eS.clone();
        for (int l = 0; l < values.size(); l++) {
            var attn = layers.get(l).attention();
            keys.set(l, project(attn.toK().weight().compute().toFloatArray(), eS));
            set(values.get(l), project(attn.toV().weight().compute().toFloatArray(), eS), 0);
            if (mode == TrainMode.NO_KEY_LOCKING) {
                set(learnedKeys.get(l), keys.get(l), 0);
            }
        }
        initialized = true;
    }

    /** W·x in double for W [d, D]. */
    private static float[] project(float[] w, double[] x) {
        int d = w.length / x.length;
        float[] y = new float[d];
        for (int r = 0; r < d; r++) {
            double s = 0;
            for (int c = 0; c < x.length; c++) {
                s += w[r * x.length + c] * x[c];
            }
            y[r] = (float) s;
        }
        return y;
    }

    TrainCheckpoint checkpoint(TrainConfig cfg, String baseModel, String covariance) {
        List<float[]> vs = new ArrayList<>();
        for (Parameter p : values) {
            vs.add(p.value().toFloatArray());
        }
        return new TrainCheckpoint(PerfusionTrainer.comparableSettings(cfg), baseModel, covariance, step, micro, initialized,
                iStar.clone(), embedding.value().toFloatArray(), concat(keys), concat(vs),
                losses.stream().mapToDouble(Double::doubleValue).toArray(), opt.state(),
                concat(learnedKeys.stream().map(p -> p.value().toFloatArray()).toList()));
    }

    void restore(TrainCheckpoint ck) {
        step = ck.step();
        micro = ck.micro();
        initialized = ck.initialized();
        iStar = ck.iStar().clone();
        set(embedding, ck.embedding(), 0);
        int total = keys.stream().mapToInt(k -> k.length).sum();
        int learned = mode == TrainMode.NO_KEY_LOCKING ? total : 0;
        if (ck.keys().length != total || ck.values().length != total || ck.learnedKeys().length != learned) {
            throw new IllegalArgumentException("checkpoint holds " + ck.keys().length + " keys, "
                    + ck.values().length + " values and " + ck.learnedKeys().length + " learned keys; a " + mode
                    + " run on this model needs " + total + ", " + total + " and " + learned);
        }
        int off = 0;
        for (int l = 0; l < values.size(); l++) {
            int w = keys.get(l).length;
            keys.set(l, java.util.Arrays.copyOfRange(ck.keys(), off, off + w));
            set(values.get(l), ck.values(), off);
            if (mode == TrainMode.NO_KEY_LOCKING) {
                set(learnedKeys.get(l), ck.learnedKeys(), off);
            }
            off += w;
        }
        losses.clear();
        for (double v : ck.losses()) {
            losses.add(v);
        }
        opt.loadState(ck.optimizer());
    }

    private static void set(Parameter p, float[] src, int off) {
        Tensor old = p.value();
        float[] v = java.util.Arrays.copyOfRange(src, off, off + (int) old.numel());
        p.set(old.backend().fromArray(v, old.shape()));
    }

    Concept concept(TrainConfig cfg, List<CrossAttentionLayer> layers, String baseModel, String covariance) {
        if (!mode.editsAttention()) {
            return Concept.embeddingOnly(cfg.placeholder(), cfg.superclass(), embedding.value().toFloatArray(),
                    PerfusionTrainer.toFloat(iStar), baseModel, covariance, PerfusionTrainer.settingsJson(cfg));
        }
        List<float[]> vs = new ArrayList<>();
        for (Parameter p : values) {
            vs.add(p.value().toFloatArray());
        }
        float[] learned = mode == TrainMode.NO_KEY_LOCKING
                ? concat(learnedKeys.stream().map(p -> p.value().toFloatArray()).toList()) : null;
        return new Concept(cfg.placeholder(), cfg.superclass(), embedding.value().toFloatArray(), PerfusionTrainer.toFloat(iStar),
                concat(keys), concat(vs), KeyLockedEdit.INFER_BETA, KeyLockedEdit.INFER_TAU,
                Concept.layersOf(layers), baseModel, covariance, PerfusionTrainer.settingsJson(cfg), mode, learned);
    }

    private static float[] concat(List<float[]> parts) {
        int n = parts.stream().mapToInt(a -> a.length).sum();
        float[] out = new float[n];
        int off = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, out, off, a.length);
            off += a.length;
        }
        return out;
    }

    @Override
    public void close() {
        embedding.close();
        values.forEach(Parameter::close);
        learnedKeys.forEach(Parameter::close);
    }
}
