package dev.perfusion.toy;

import dev.perfusion.nn.Parameter;
import java.util.ArrayList;
import java.util.List;

/**
 * An exponential moving average of parameters, θ̄ ← d·θ̄ + (1 − d)·θ after each optimizer step, with the
 * warm-up d_k = min(d, (1 + k) / (10 + k)) so early averages are not dominated by the random initialisation
 * (the schedule diffusers' {@code EMAModel} uses with {@code use_ema_warmup=False}).
 */
final class ExponentialMovingAverage {
    private final List<Parameter> params;
    private final List<float[]> shadow = new ArrayList<>();
    private final double decay;
    private long updates;

    ExponentialMovingAverage(List<Parameter> params, double decay) {
        if (!(decay >= 0 && decay < 1)) {
            throw new IllegalArgumentException("EMA decay must be in [0, 1), got " + decay);
        }
        this.params = List.copyOf(params);
        this.decay = decay;
        for (Parameter p : params) {
            shadow.add(p.value().toFloatArray());
        }
    }

    /** Folds the parameters' current values into the average. */
    void update() {
        double d = Math.min(decay, (1.0 + updates) / (10.0 + updates));
        updates++;
        for (int k = 0; k < params.size(); k++) {
            float[] s = shadow.get(k);
            float[] v = params.get(k).value().toFloatArray();
            for (int i = 0; i < s.length; i++) {
                s[i] = (float) (d * s[i] + (1 - d) * v[i]);
            }
        }
    }

    /** Replaces every parameter's value with its average. */
    void copyInto() {
        for (int k = 0; k < params.size(); k++) {
            Parameter p = params.get(k);
            p.set(p.value().backend().fromArray(shadow.get(k), p.shape()));
        }
    }
}
