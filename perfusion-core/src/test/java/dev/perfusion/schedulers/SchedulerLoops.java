package dev.perfusion.schedulers;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;

/**
 * Runs a sampling loop on a golden case's stored model outputs (and noise) and compares every step, in two ways:
 * <ul>
 *   <li><b>step by step</b>: each step gets the golden input sample (the stored previous step's output), so each
 *       step is held to the single-step tolerance |a − b| ≤ 1e-4 + 1e-4·|ref|;</li>
 *   <li><b>free running</b>: each step gets this port's own previous output, as in real sampling, held to the
 *       loop tolerance, 1e-4 relative to the largest |value| of the reference step tensor.</li>
 * </ul>
 * Golden names: {@code <prefix>initial_sample}, {@code model_outputs}, {@code prev_samples}, optionally
 * {@code pred_original_samples}, {@code scaled_model_inputs} and a noise tensor.
 */
final class SchedulerLoops {
    private SchedulerLoops() {
    }

    /** Largest errors seen: absolute, and relative to each reference tensor's max |value|. */
    static final class Errors {
        double prevAbs;
        double prevRelToMax;
        double x0Abs;
        double x0RelToMax;
        double scaledAbs;
        int steps;
        boolean checkedX0;
        boolean checkedScaled;

        @Override
        public String toString() {
            String s = String.format("%d steps: prev_sample max abs %.2e (rel to max %.2e)", steps, prevAbs,
                    prevRelToMax);
            if (checkedX0) {
                s += String.format("; pred_original_sample max abs %.2e (rel to max %.2e)", x0Abs, x0RelToMax);
            }
            if (checkedScaled) {
                s += String.format("; scaled_model_input max abs %.2e", scaledAbs);
            }
            return s;
        }
    }

    /**
     * @param noiseName  golden noise tensor name (without prefix) or null
     * @param forced     step-by-step mode (golden inputs) instead of free running
     */
    static Errors run(Backend be, Scheduler scheduler, int numInferenceSteps, GoldenCases g, String prefix,
                      String noiseName, boolean forced) {
        boolean hasX0 = has(g, prefix + "pred_original_samples");
        boolean hasScaled = has(g, prefix + "scaled_model_inputs");
        Errors e = new Errors();
        e.checkedX0 = hasX0;
        e.checkedScaled = hasScaled;
        try (TensorScope scope = TensorScope.open(); SamplingRun run = scheduler.newRun(numInferenceSteps)) {
            int steps = g.shape(prefix + "model_outputs").dim(0);
            if (run.size() != steps) {
                throw new AssertionError(prefix + ": run has " + run.size() + " steps, golden " + steps);
            }
            e.steps = steps;
            Tensor x = g.tensor(prefix + "initial_sample", be);
            for (int i = 0; i < steps; i++) {
                try (TensorScope step = TensorScope.open()) {
                    Tensor input = forced && i > 0 ? g.item(prefix + "prev_samples", i - 1, be) : x;
                    if (hasScaled) {
                        Tensor scaled = run.scaleModelInput(input, i);
                        e.scaledAbs = Math.max(e.scaledAbs,
                                compare(prefix + "scaled_model_inputs", i, g, scaled, forced).abs);
                    }
                    Tensor noise = noiseName == null ? null : g.item(prefix + noiseName, i, be);
                    StepOutput out = run.step(g.item(prefix + "model_outputs", i, be), i, input, noise);
                    Diff d = compare(prefix + "prev_samples", i, g, out.prevSample(), forced);
                    e.prevAbs = Math.max(e.prevAbs, d.abs);
                    e.prevRelToMax = Math.max(e.prevRelToMax, d.relToMax);
                    if (hasX0) {
                        Diff dx = compare(prefix + "pred_original_samples", i, g, out.predOriginalSample(), forced);
                        e.x0Abs = Math.max(e.x0Abs, dx.abs);
                        e.x0RelToMax = Math.max(e.x0RelToMax, dx.relToMax);
                    }
                    x = step.keep(out.prevSample());
                }
            }
        }
        return e;
    }

    private record Diff(double abs, double relToMax) {
    }

    private static Diff compare(String name, int i, GoldenCases g, Tensor actual, boolean forced) {
        float[] ref = g.itemValues(name, i);
        float[] got = actual.toFloatArray();
        double max = 0;
        for (float r : ref) {
            max = Math.max(max, Math.abs(r));
        }
        // single step: README §11's 1e-4 + 1e-4·|ref|; whole loop: 1e-4 relative to the tensor's max |value|
        Tolerance tol = forced ? GoldenCases.STEP : new Tolerance(1e-4 * max, 0);
        String what = name + "[" + i + "] (" + (forced ? "step by step" : "free-running loop") + ")";
        if (!actual.shape().equals(g.itemShape(name))) {
            throw new AssertionError(what + ": shape " + actual.shape() + " != " + g.itemShape(name));
        }
        tol.assertClose(what, actual.shape(), ref, got);
        double abs = 0;
        for (int k = 0; k < ref.length; k++) {
            abs = Math.max(abs, Math.abs((double) ref[k] - got[k]));
        }
        return new Diff(abs, max == 0 ? abs : abs / max);
    }

    private static boolean has(GoldenCases g, String name) {
        try {
            g.shape(name);
            return true;
        } catch (AssertionError missing) {
            return false;
        }
    }
}
