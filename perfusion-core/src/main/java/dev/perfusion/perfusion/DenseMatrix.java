package dev.perfusion.perfusion;

/**
 * Small dense linear algebra in double precision on row-major {@code double[]} matrices, for the host-side parts of
 * Perfusion: the n×n Gram matrix of the concepts' i* (n = number of concepts) and the D×D covariance of the text
 * encoder's outputs (D = 768 for SD v1.x). Nothing here is on a hot path.
 */
final class DenseMatrix {
    private DenseMatrix() {
    }

    /**
     * The inverse of the n×n matrix {@code a} by Gauss–Jordan elimination with partial pivoting, in double.
     *
     * @param what names the matrix in the error
     * @throws IllegalArgumentException when a pivot is zero or not finite relative to the matrix's scale
     *                                  (singular to double precision)
     */
    static double[] invert(double[] a, int n, String what) {
        if (a.length != (long) n * n) {
            throw new IllegalArgumentException(what + ": expected " + n + "×" + n + " values, got " + a.length);
        }
        double[] m = a.clone();
        double[] inv = identity(n);
        double scale = 0;
        for (double v : a) {
            scale = Math.max(scale, Math.abs(v));
        }
        if (!(scale > 0) || !Double.isFinite(scale)) {
            throw new IllegalArgumentException(what + " is zero or not finite: cannot invert it");
        }
        for (int col = 0; col < n; col++) {
            int piv = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(m[r * n + col]) > Math.abs(m[piv * n + col])) {
                    piv = r;
                }
            }
            double p = m[piv * n + col];
            if (!(Math.abs(p) > scale * 1e-15) || !Double.isFinite(p)) {
                throw new IllegalArgumentException(what + " is singular to double precision (pivot " + p
                        + " at column " + col + " of " + n + ")");
            }
            if (piv != col) {
                swapRows(m, n, piv, col);
                swapRows(inv, n, piv, col);
            }
            double ip = 1.0 / p;
            for (int j = 0; j < n; j++) {
                m[col * n + j] *= ip;
                inv[col * n + j] *= ip;
            }
            for (int r = 0; r < n; r++) {
                double f = m[r * n + col];
                if (r == col || f == 0) {
                    continue;
                }
                for (int j = 0; j < n; j++) {
                    m[r * n + j] -= f * m[col * n + j];
                    inv[r * n + j] -= f * inv[col * n + j];
                }
            }
        }
        return inv;
    }

    /** c = a·b for a [n, k], b [k, m]. */
    static double[] multiply(double[] a, double[] b, int n, int k, int m) {
        double[] c = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < k; p++) {
                double v = a[i * k + p];
                if (v == 0) {
                    continue;
                }
                for (int j = 0; j < m; j++) {
                    c[i * m + j] += v * b[p * m + j];
                }
            }
        }
        return c;
    }

    /** ‖a‖₁ = max column sum of |a_ij| of an n×n matrix. */
    static double norm1(double[] a, int n) {
        double best = 0;
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                s += Math.abs(a[i * n + j]);
            }
            best = Math.max(best, s);
        }
        return best;
    }

    /** The n×n identity. */
    static double[] identity(int n) {
        double[] id = new double[n * n];
        for (int i = 0; i < n; i++) {
            id[i * n + i] = 1;
        }
        return id;
    }

    private static void swapRows(double[] m, int n, int a, int b) {
        for (int j = 0; j < n; j++) {
            double t = m[a * n + j];
            m[a * n + j] = m[b * n + j];
            m[b * n + j] = t;
        }
    }
}
