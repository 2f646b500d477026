package dev.perfusion.tensor;

import java.util.Arrays;

/**
 * How close two tensors must be: element-wise {@code |a − b| ≤ atol + rtol·|ref|}, after their shapes are checked.
 * One place for the defaults of each dtype; a test that widens a tolerance says why next to it.
 *
 * @param atol absolute tolerance
 * @param rtol relative tolerance, against the reference value
 */
public record Tolerance(double atol, double rtol) {
    /** float32 compute compared with a double-accumulating reference. */
    public static final Tolerance FLOAT32 = new Tolerance(1e-5, 1e-4);
    /** fp16 storage with float32 accumulation (10-bit mantissa, ~5e-4 per rounding). */
    public static final Tolerance FLOAT16 = new Tolerance(1e-3, 1e-2);
    /** bf16 storage with float32 accumulation (7-bit mantissa, ~4e-3 per rounding). */
    public static final Tolerance BFLOAT16 = new Tolerance(1e-2, 5e-2);
    /** Exact agreement (integer data, copies, reshapes). */
    public static final Tolerance EXACT = new Tolerance(0, 0);

    /** The default tolerance for results computed in {@code dtype}. */
    public static Tolerance forDType(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> FLOAT32;
            case FLOAT16 -> FLOAT16;
            case BFLOAT16 -> BFLOAT16;
            case INT32, INT64 -> EXACT;
        };
    }

    /** The result of comparing two arrays. */
    public record Comparison(boolean ok, long firstBad, double expected, double actual, double maxAbs, double maxRel,
                             long count) {
    }

    /** Compares element-wise; NaN anywhere in either array fails. */
    public Comparison compare(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new IllegalArgumentException("length " + actual.length + " != expected " + expected.length);
        }
        long firstBad = -1;
        double maxAbs = 0;
        double maxRel = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            double d = Math.abs(a - e);
            boolean bad = Double.isNaN(d) || d > atol + rtol * Math.abs(e);
            if (Double.isNaN(d)) {
                d = Double.POSITIVE_INFINITY;
            }
            maxAbs = Math.max(maxAbs, d);
            if (e != 0) {
                maxRel = Math.max(maxRel, d / Math.abs(e));
            }
            if (bad && firstBad < 0) {
                firstBad = i;
            }
        }
        return firstBad < 0
                ? new Comparison(true, -1, 0, 0, maxAbs, maxRel, expected.length)
                : new Comparison(false, firstBad, expected[(int) firstBad], actual[(int) firstBad], maxAbs, maxRel,
                        expected.length);
    }

    /**
     * Throws an {@link AssertionError} naming {@code what}, the first bad coordinates, the expected and actual
     * values and the largest absolute and relative errors, unless the arrays agree within this tolerance.
     */
    public void assertClose(String what, Shape shape, float[] expected, float[] actual) {
        if (shape.numel() != expected.length) {
            throw new IllegalArgumentException(what + ": shape " + shape + " has " + shape.numel()
                    + " elements, expected array has " + expected.length);
        }
        Comparison c = compare(expected, actual);
        if (!c.ok()) {
            throw new AssertionError(String.format(
                    "%s: mismatch at %s of shape %s: expected %.8g, actual %.8g; max abs err %.3g, max rel err %.3g "
                            + "(atol %.1g, rtol %.1g)",
                    what, Arrays.toString(coordinates(shape, c.firstBad())), shape, c.expected(), c.actual(),
                    c.maxAbs(), c.maxRel(), atol, rtol));
        }
    }

    /** {@link #assertClose(String, Shape, float[], float[])} for two tensors, after checking their shapes. */
    public void assertClose(String what, Tensor expected, Tensor actual) {
        if (!expected.shape().equals(actual.shape())) {
            throw new AssertionError(what + ": shape " + actual.shape() + " != expected " + expected.shape());
        }
        assertClose(what, expected.shape(), expected.toFloatArray(), actual.toFloatArray());
    }

    /** Row-major coordinates of a flat index. */
    public static int[] coordinates(Shape shape, long flat) {
        int[] c = new int[shape.rank()];
        for (int i = shape.rank() - 1; i >= 0; i--) {
            int d = shape.dim(i);
            c[i] = d == 0 ? 0 : (int) (flat % d);
            flat = d == 0 ? 0 : flat / d;
        }
        return c;
    }
}
