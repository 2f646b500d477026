package dev.perfusion.schedulers;

/**
 * The few NumPy and PyTorch routines diffusers builds its schedules from, reproduced with their exact rounding so
 * that timesteps, β and σ come out as diffusers 0.30.3 computes them (bit for bit where the golden files show it).
 * Scalar arithmetic elsewhere in this package follows the same rule: {@code float} where diffusers works on float32
 * torch tensors, {@code double} where it works on NumPy float64 arrays or Python floats.
 */
final class DiffusersNumerics {
    /** Lanes of torch's {@code Vectorized<float>} on AVX2 CPUs (the golden files' build). */
    private static final int TORCH_FLOAT_LANES = 8;

    private DiffusersNumerics() {
    }

    /**
     * {@code torch.linspace(start, end, n, dtype=torch.float32)} as torch 1.13's CPU kernel computes it: in float32,
     * step = (end − start)/(n − 1); the first half counts up from start, the second half down from end (so both
     * ends are exact); on AVX2 the kernel fills blocks of 8 lanes as base + k·step, where base = start + step·i
     * (an FMA) at the block's first index. This reproduces SD's β schedule bit for bit; a plain
     * start + i·step differs by up to 2e-9 in β.
     */
    static float[] torchLinspaceFloat32(double startValue, double endValue, int n) {
        float start = (float) startValue;
        float end = (float) endValue;
        float[] out = new float[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (n - 1);
        int half = n / 2;
        // the vectorised loop handles two vectors per iteration; the rest goes through the scalar lambda
        int vectorEnd = n / (2 * TORCH_FLOAT_LANES) * (2 * TORCH_FLOAT_LANES);
        for (int i = 0; i < vectorEnd; i += TORCH_FLOAT_LANES) {
            float base = linspaceElement(start, end, step, half, n, i);
            for (int k = 0; k < TORCH_FLOAT_LANES; k++) {
                out[i + k] = base + k * step;
            }
        }
        for (int i = vectorEnd; i < n; i++) {
            out[i] = linspaceElement(start, end, step, half, n, i);
        }
        return out;
    }

    private static float linspaceElement(float start, float end, float step, int half, int n, int i) {
        // start + step·i and end − step·(n−1−i), contracted to FMAs by the compiler in torch's AVX2 build
        return i < half ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (n - i - 1), end);
    }

    /**
     * {@code np.linspace(start, stop, num)} (float64): start + i·step with step = (stop − start)/(num − 1), and
     * the last value exactly stop.
     */
    static double[] linspace(double start, double stop, int num) {
        double[] y = new double[num];
        if (num == 1) {
            y[0] = start;
            return y;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) {
            y[i] = i * step + start;
        }
        y[num - 1] = stop;
        return y;
    }

    /**
     * The first {@code count} values of {@code np.arange(start, stop, step)} (float64): NumPy fills start + i·δ with
     * δ = (start + step) − start, which can differ from step in the last bit. (For some step counts NumPy's length
     * rule, ⌈(stop − start)/step⌉, yields one value more than diffusers intends; callers take exactly the count
     * they need, which equals NumPy's whenever NumPy's is right.)
     */
    static double[] arange(double start, double step, int count) {
        double[] y = new double[count];
        double delta = (start + step) - start;
        for (int i = 0; i < count; i++) {
            y[i] = i == 0 ? start : start + i * delta;
        }
        return y;
    }

    /** {@code np.round} (round half to even), as a long. */
    static long round(double x) {
        return (long) Math.rint(x);
    }

    /**
     * {@code np.interp(x, np.arange(len(fp)), fp)} in float64: linear interpolation at x between the points
     * (i, fp[i]), clamped to the end values outside [0, len − 1], exactly fp[j] at integer x.
     */
    static double interp(double x, float[] fp) {
        int last = fp.length - 1;
        if (x >= last) {
            return fp[last];
        }
        if (x <= 0) {
            return fp[0];
        }
        int j = (int) Math.floor(x);
        if (j == x) {
            return fp[j];
        }
        double slope = ((double) fp[j + 1] - fp[j]) / 1.0; // xp[j+1] − xp[j] = 1
        return slope * (x - j) + fp[j];
    }
}
