package dev.perfusion.perfusion;

import dev.perfusion.tensor.HostRandom;

/** Host-side helpers for the Perfusion tests: random SPD matrices and double-precision reference maths. */
final class PerfusionTesting {
    private PerfusionTesting() {
    }

    /** A random symmetric positive definite D×D matrix A·Aᵀ/D + 0.5·I (well conditioned), as float32 values. */
    static float[] randomSpd(long seed, int d) {
        float[] a = HostRandom.normal(seed, d * d);
        float[] out = new float[d * d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int k = 0; k < d; k++) {
                    s += (double) a[i * d + k] * a[j * d + k];
                }
                s /= d;
                if (i == j) {
                    s += 0.5;
                }
                out[i * d + j] = (float) s;
                out[j * d + i] = (float) s;
            }
        }
        return out;
    }

    static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    /** x·M for a row vector x [n] and M [n, m]. */
    static double[] rowTimes(double[] x, double[] m, int n, int cols) {
        double[] y = new double[cols];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < cols; j++) {
                y[j] += x[i] * m[i * cols + j];
            }
        }
        return y;
    }

    /** M·x for M [rows, n] and x [n]. */
    static double[] times(double[] m, double[] x, int rows, int n) {
        double[] y = new double[rows];
        for (int i = 0; i < rows; i++) {
            double s = 0;
            for (int j = 0; j < n; j++) {
                s += m[i * n + j] * x[j];
            }
            y[i] = s;
        }
        return y;
    }

    /**
     * The exact projector P = I(IᵀC⁻¹I)⁻¹IᵀC⁻¹ [D, D] in double, written as the formula reads (method §3), for a
     * symmetric C⁻¹.
     */
    static double[] projector(double[] cInv, double[][] iStars, int d) {
        int n = iStars.length;
        double[] iMat = new double[d * n];
        for (int c = 0; c < n; c++) {
            for (int k = 0; k < d; k++) {
                iMat[k * n + c] = iStars[c][k];
            }
        }
        double[] iT = transpose(iMat, d, n);                                 // [n, D]
        double[] iTcInv = DenseMatrix.multiply(iT, cInv, n, d, d);           // [n, D]
        double[] gram = DenseMatrix.multiply(iTcInv, iMat, n, d, n);         // [n, n]
        double[] gInv = DenseMatrix.invert(gram, n, "gram");
        double[] left = DenseMatrix.multiply(iMat, gInv, d, n, n);           // [D, n]
        return DenseMatrix.multiply(left, iTcInv, d, n, d);                  // [D, D]
    }

    static double[] transpose(double[] m, int rows, int cols) {
        double[] t = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = m[i * cols + j];
            }
        }
        return t;
    }

    /** max |a − b| / max |b|. */
    static double relToMax(float[] a, double[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num = Math.max(num, Math.abs(a[i] - b[i]));
            den = Math.max(den, Math.abs(b[i]));
        }
        return num / den;
    }

    static double[] toDoubleArr(float[] a) {
        return toDouble(a);
    }
}
