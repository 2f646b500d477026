package dev.perfusion.schedulers;

import dev.perfusion.schedulers.SchedulerConfig.TimestepSpacing;

/**
 * The inference timesteps of each {@link TimestepSpacing}, as diffusers 0.30.3's {@code set_timesteps} computes them
 * with NumPy (N = {@code num_train_timesteps}, n = inference steps; results in the order the steps run):
 * <ul>
 *   <li>{@code linspace}: round(linspace(0, N−1, n)) reversed (Euler keeps the fractional values)</li>
 *   <li>{@code leading}: i·(N // n) + steps_offset for i = n−1 … 0</li>
 *   <li>{@code trailing}: round(N − i·N/n) − 1 for i = 0 … n−1</li>
 * </ul>
 * Rounding is NumPy's half-to-even.
 */
final class TimestepSpacings {
    private TimestepSpacings() {
    }

    /** Checks 1 ≤ n ≤ N, as diffusers' DDPM and DDIM do for every spacing. */
    static void checkSteps(int n, int numTrainTimesteps) {
        if (n <= 0) {
            throw new IllegalArgumentException("number of inference steps must be positive, got " + n);
        }
        if (n > numTrainTimesteps) {
            throw new IllegalArgumentException("number of inference steps " + n
                    + " exceeds num_train_timesteps " + numTrainTimesteps
                    + ": the model was trained with at most that many timesteps");
        }
    }

    /**
     * DDPM/DDIM (and, reversed, PNDM) timesteps, in decreasing order.
     *
     * @throws IllegalArgumentException when one falls outside [0, N−1]
     */
    static long[] discrete(TimestepSpacing spacing, int numTrain, int n, int stepsOffset) {
        return checkRange(unchecked(spacing, numTrain, n, stepsOffset), spacing, numTrain, n, stepsOffset);
    }

    private static long[] unchecked(TimestepSpacing spacing, int numTrain, int n, int stepsOffset) {
        long[] t = new long[n];
        switch (spacing) {
            case LINSPACE -> {
                double[] y = DiffusersNumerics.linspace(0, numTrain - 1, n);
                for (int i = 0; i < n; i++) {
                    t[i] = DiffusersNumerics.round(y[n - 1 - i]);
                }
            }
            case LEADING -> {
                int ratio = numTrain / n;
                for (int i = 0; i < n; i++) {
                    t[i] = (long) (n - 1 - i) * ratio + stepsOffset;
                }
            }
            case TRAILING -> {
                double[] y = DiffusersNumerics.arange(numTrain, -((double) numTrain / n), n);
                for (int i = 0; i < n; i++) {
                    t[i] = DiffusersNumerics.round(y[i]) - 1;
                }
            }
        }
        return t;
    }

    /**
     * Throws when a timestep falls outside the training schedule, which {@code leading} spacing with a
     * {@code steps_offset} does for n close to N (diffusers then fails with an index error at that step).
     */
    private static long[] checkRange(long[] t, TimestepSpacing spacing, int numTrain, int n, int stepsOffset) {
        for (long v : t) {
            if (v < 0 || v >= numTrain) {
                throw new IllegalArgumentException(spacing.key() + " spacing with steps_offset " + stepsOffset
                        + " and " + n + " inference steps gives timestep " + v + ", outside the training schedule [0, "
                        + (numTrain - 1) + "]; use fewer steps or another timestep_spacing");
            }
        }
        return t;
    }

    /**
     * Euler timesteps: {@code linspace} keeps the fractional values of np.linspace(0, N−1, n, dtype=float32)
     * (computed in float64, then rounded to float32); the other spacings are {@link #discrete}'s, unchecked: a
     * timestep of N (leading spacing with an offset) is clamped to σ_{N−1} by the interpolation, as in diffusers.
     */
    static float[] euler(TimestepSpacing spacing, int numTrain, int n, int stepsOffset) {
        float[] t = new float[n];
        if (spacing == TimestepSpacing.LINSPACE) {
            double[] y = DiffusersNumerics.linspace(0, numTrain - 1, n);
            for (int i = 0; i < n; i++) {
                t[i] = (float) y[n - 1 - i];
            }
            return t;
        }
        long[] d = unchecked(spacing, numTrain, n, stepsOffset);
        for (int i = 0; i < n; i++) {
            t[i] = d[i];
        }
        return t;
    }

    /**
     * DPM-Solver timesteps, from n + 1 points of which the last (t = 0 side) is dropped, below
     * {@code lastTimestep} (N unless {@code lambda_min_clipped} removes the noisiest timesteps):
     * linspace: round(linspace(0, last−1, n+1)) reversed without the final 0; leading: i·(last // (n+1)) + offset for
     * i = n … 1 (which can reach N, as in diffusers); trailing: round(last − i·N/n) − 1 while positive.
     */
    static long[] dpmSolver(TimestepSpacing spacing, int numTrain, int lastTimestep, int n, int stepsOffset) {
        switch (spacing) {
            case LINSPACE -> {
                double[] y = DiffusersNumerics.linspace(0, lastTimestep - 1, n + 1);
                long[] t = new long[n];
                for (int i = 0; i < n; i++) {
                    t[i] = DiffusersNumerics.round(y[n - i]);
                }
                return t;
            }
            case LEADING -> {
                int ratio = lastTimestep / (n + 1);
                long[] t = new long[n];
                for (int i = 0; i < n; i++) {
                    t[i] = (long) (n - i) * ratio + stepsOffset;
                }
                // unchecked: 999 steps with offset 1 reach t = 1000, whose σ interpolation clamps to σ_{N−1}
                return t;
            }
            case TRAILING -> {
                double ratio = (double) numTrain / n;
                int count = (int) Math.min(n, Math.ceil(lastTimestep / ratio));
                double[] y = DiffusersNumerics.arange(lastTimestep, -ratio, count);
                long[] t = new long[count];
                for (int i = 0; i < count; i++) {
                    t[i] = Math.max(0, DiffusersNumerics.round(y[i]) - 1);
                }
                return t;
            }
            default -> throw new AssertionError(spacing);
        }
    }
}
