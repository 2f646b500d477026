package dev.perfusion.backend.nd4j;

import static dev.perfusion.backend.nd4j.Both.ND;
import static dev.perfusion.backend.nd4j.Both.REF;
import static dev.perfusion.backend.nd4j.Both.check;
import static dev.perfusion.backend.nd4j.Both.checkWithNaN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.perfusion.backend.nd4j.Both.Pair;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.tensor.UnaryOp;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Elementwise ops, reductions and matmul of {@link Nd4jBackend} against the reference backend. */
@Tag("unit")
class Nd4jElementwiseParityTest {
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void closeScope() {
        scope.close();
    }

    /** Inputs inside each function's domain, with a wide range (GELU's tails, saturating sigmoids). */
    private static Pair input(UnaryOp op, long seed, int... dims) {
        return switch (op) {
            case LOG, SQRT, RSQRT -> Both.uniform(seed, 0.05f, 9f, dims);
            case EXP -> Both.uniform(seed, -8f, 8f, dims);
            default -> Both.uniform(seed, -10f, 10f, dims);
        };
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unary(UnaryOp op) {
        for (int[] dims : new int[][] {{3, 5, 7}, {1001}, {}}) {
            Pair x = input(op, 11 + dims.length, dims);
            check("unary " + op + " " + Shape.of(dims), REF.unary(op, x.ref()), ND.unary(op, x.nd()));
        }
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryBackward(UnaryOp op) {
        for (int[] dims : new int[][] {{3, 5, 7}, {1001}}) {
            Pair x = input(op, 21, dims);
            Pair dy = Both.randn(22, dims);
            check("unaryBackward " + op, REF.unaryBackward(op, x.ref(), dy.ref()),
                    ND.unaryBackward(op, x.nd(), dy.nd()));
        }
    }

    @Test
    void unaryDoesNotTouchItsInput() {
        Pair x = Both.uniform(3, -4f, 4f, 64);
        float[] before = x.nd().toFloatArray();
        for (UnaryOp op : UnaryOp.values()) {
            ND.unary(op, x.nd());
            ND.unaryBackward(op, x.nd(), x.nd());
        }
        assertArrayEquals(before, x.nd().toFloatArray());
    }

    static Stream<Arguments> broadcastShapes() {
        return Stream.of(
                Arguments.of(new int[] {2, 1, 3}, new int[] {4, 1}),
                Arguments.of(new int[] {3, 4}, new int[] {3, 4}),
                Arguments.of(new int[] {2, 3, 4}, new int[] {4}),
                Arguments.of(new int[] {2, 3, 4}, new int[] {3, 1}),
                Arguments.of(new int[] {3, 1}, new int[] {2, 3, 4}),
                Arguments.of(new int[] {}, new int[] {2, 3}),
                Arguments.of(new int[] {5, 1, 1, 3}, new int[] {1, 7, 2, 1}),
                Arguments.of(new int[] {2, 32, 5, 5}, new int[] {1, 32, 1, 1}),
                Arguments.of(new int[] {1}, new int[] {6}),
                Arguments.of(new int[] {}, new int[] {}));
    }

    @ParameterizedTest
    @MethodSource("broadcastShapes")
    void binaryBroadcasts(int[] aDims, int[] bDims) {
        for (BinaryOp op : BinaryOp.values()) {
            Pair a = Both.randn(31, 2f, aDims);
            // divisors kept away from zero so relative errors stay meaningful
            Pair b = op == BinaryOp.DIV ? Both.uniform(32, 0.5f, 3f, bDims) : Both.randn(32, 2f, bDims);
            String what = "binary " + op + " " + Shape.of(aDims) + " vs " + Shape.of(bDims);
            check(what, REF.binary(op, a.ref(), b.ref()), ND.binary(op, a.nd(), b.nd()));
        }
    }

    @Test
    void maximumAndMinimumPropagateNaN() {
        float nan = Float.NaN;
        Pair a = Both.of(new float[] {nan, 1, 2, 3, -1, nan}, Shape.of(2, 3));
        Pair b = Both.of(new float[] {0, nan, 1}, Shape.of(3));
        for (BinaryOp op : new BinaryOp[] {BinaryOp.MAXIMUM, BinaryOp.MINIMUM}) {
            checkWithNaN("binary " + op + " with NaN", REF.binary(op, a.ref(), b.ref()), ND.binary(op, a.nd(), b.nd()));
            checkWithNaN("binary " + op + " with NaN, swapped", REF.binary(op, b.ref(), a.ref()),
                    ND.binary(op, b.nd(), a.nd()));
        }
    }

    @Test
    void affineAndPow() {
        Pair x = Both.randn(41, 3f, 4, 5, 6);
        check("affine", REF.affine(x.ref(), -1.75f, 0.3f), ND.affine(x.nd(), -1.75f, 0.3f));
        check("affine identity", REF.affine(x.ref(), 1f, 0f), ND.affine(x.nd(), 1f, 0f));
        for (float p : new float[] {2f, 3f, 1f, 0f, -1f}) {
            check("pow " + p, REF.pow(x.ref(), p), ND.pow(x.nd(), p));
        }
        Pair pos = Both.uniform(42, 0.1f, 5f, 4, 5, 6);
        for (float p : new float[] {0.5f, -0.5f, 1.7f, -2.3f}) {
            check("pow " + p, REF.pow(pos.ref(), p), ND.pow(pos.nd(), p));
        }
    }

    static Stream<Arguments> sumAxes() {
        return Stream.of(new int[] {}, new int[] {0}, new int[] {1}, new int[] {2}, new int[] {-1}, new int[] {0, 2},
                new int[] {2, 0}, new int[] {1, 2}, new int[] {0, 1, 2}).map(Arguments::of);
    }

    @ParameterizedTest
    @MethodSource("sumAxes")
    void sum(int[] axes) {
        Pair x = Both.randn(51, 3, 5, 7);
        for (boolean keep : new boolean[] {false, true}) {
            check("sum " + java.util.Arrays.toString(axes) + " keepDims " + keep, REF.sum(x.ref(), axes, keep),
                    ND.sum(x.nd(), axes, keep));
        }
    }

    @Test
    void sumOfScalarAndLongRows() {
        Pair s = Both.of(new float[] {2.5f}, Shape.of());
        check("sum of a scalar", REF.sum(s.ref(), new int[0], false), ND.sum(s.nd(), new int[0], false));
        // 100,000 terms in float32 pairwise/blocked order vs double: a few ulps of the total, within FLOAT32
        Pair big = Both.uniform(52, -1f, 3f, 3, 100_000);
        check("sum of long rows", REF.sum(big.ref(), new int[] {1}, true), ND.sum(big.nd(), new int[] {1}, true));
    }

    @Test
    void max() {
        Pair x = Both.randn(61, 4, 5, 6);
        for (int axis : new int[] {0, 1, 2, -1, -3}) {
            for (boolean keep : new boolean[] {false, true}) {
                check("max axis " + axis + " keepDims " + keep, REF.max(x.ref(), axis, keep), ND.max(x.nd(), axis, keep));
            }
        }
        Pair v = Both.randn(62, 9);
        check("max of a vector", REF.max(v.ref(), 0, false), ND.max(v.nd(), 0, false));
    }

    @Test
    void maxPropagatesNaN() {
        Pair x = Both.of(new float[] {1, Float.NaN, 3, 4, 5, 6}, Shape.of(2, 3));
        for (int axis : new int[] {0, 1}) {
            checkWithNaN("max with NaN axis " + axis, REF.max(x.ref(), axis, false), ND.max(x.nd(), axis, false));
        }
    }

    static Stream<Arguments> matmuls() {
        // a dims, b dims, transposeA, transposeB
        return Stream.of(
                Arguments.of(new int[] {3, 5}, new int[] {5, 7}, false, false),
                Arguments.of(new int[] {5, 3}, new int[] {5, 7}, true, false),
                Arguments.of(new int[] {3, 5}, new int[] {7, 5}, false, true),
                Arguments.of(new int[] {5, 3}, new int[] {7, 5}, true, true),
                Arguments.of(new int[] {1, 5}, new int[] {5, 1}, false, false),
                Arguments.of(new int[] {2, 3, 5}, new int[] {5, 7}, false, false),
                Arguments.of(new int[] {2, 3, 5}, new int[] {7, 5}, false, true),
                Arguments.of(new int[] {2, 5, 3}, new int[] {5, 7}, true, false),
                Arguments.of(new int[] {2, 1, 3, 5}, new int[] {4, 5, 7}, false, false),
                Arguments.of(new int[] {1, 3, 5}, new int[] {4, 7, 5}, false, true),
                Arguments.of(new int[] {4, 5, 3}, new int[] {1, 5, 2}, true, false),
                Arguments.of(new int[] {3, 1, 5}, new int[] {3, 5, 1}, false, false),
                Arguments.of(new int[] {2, 4, 77, 40}, new int[] {2, 4, 77, 40}, false, true),
                Arguments.of(new int[] {3, 5, 2}, new int[] {3, 5, 4}, true, false),
                Arguments.of(new int[] {3, 2, 5}, new int[] {3, 4, 2}, true, true),
                Arguments.of(new int[] {2, 64, 320}, new int[] {96, 320}, false, true));
    }

    @ParameterizedTest
    @MethodSource("matmuls")
    void matmul(int[] aDims, int[] bDims, boolean ta, boolean tb) {
        Pair a = Both.randn(71, aDims);
        Pair b = Both.randn(72, bDims);
        String what = "matmul " + Shape.of(aDims) + (ta ? "ᵀ" : "") + " · " + Shape.of(bDims) + (tb ? "ᵀ" : "");
        check(what, REF.matmul(a.ref(), b.ref(), ta, tb), ND.matmul(a.nd(), b.nd(), ta, tb));
    }

    @Test
    void randnMatchesTheReferenceExactly() {
        Tensor r = REF.randn(Shape.of(3, 7), 99);
        Tensor n = ND.randn(Shape.of(3, 7), 99);
        check("randn", r, n, Tolerance.EXACT);
    }

    @Test
    void full() {
        check("full", REF.full(Shape.of(2, 3), 1.5f), ND.full(Shape.of(2, 3), 1.5f), Tolerance.EXACT);
        check("full scalar", REF.full(Shape.of(), -2f), ND.full(Shape.of(), -2f), Tolerance.EXACT);
    }
}
