package dev.perfusion.backend.nd4j;

import static dev.perfusion.backend.nd4j.Nd4jArrays.allocFloat;
import static dev.perfusion.backend.nd4j.Nd4jArrays.free;

import dev.perfusion.tensor.UnaryOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.floating.RSqrt;
import org.nd4j.linalg.api.ops.impl.transforms.floating.Sqrt;
import org.nd4j.linalg.api.ops.impl.transforms.same.Negative;
import org.nd4j.linalg.api.ops.impl.transforms.same.Square;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Cos;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erfc;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.GELU;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Log;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sin;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Swish;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Tanh;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The elementwise functions of {@link UnaryOp} and their derivatives on ND4J arrays, each written into a
 * preallocated output so that no input is touched (ND4J's {@code Nd4j.nn().gelu/swish} work in place).
 *
 * <p>GELU: ND4J 1.0.0-M2.1's {@code gelu} op is the sigmoid approximation x·σ(1.702x) (used here for
 * QUICK_GELU, where it is exact), and its {@code precise_gelu} is neither the erf form nor the tanh form (it
 * drops the cubic term). The exact GELU is composed as ½·x·erfc(−x/√2), which stays accurate for large negative
 * x where 1 + erf(x/√2) would cancel.
 */
final class Nd4jMath {
    private static final double INV_SQRT2 = 1 / Math.sqrt(2);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
    private static final double K0 = Math.sqrt(2 / Math.PI);
    private static final double K1 = 0.044715;
    private static final double QUICK = 1.702;

    private Nd4jMath() {
    }

    /** y = f(x); {@code y} is a fresh c-order array shaped like {@code x} ({@code x} may be a strided view). */
    static void apply(UnaryOp op, INDArray x, INDArray y) {
        switch (op) {
            case NEG -> Nd4j.exec(new Negative(x, y));
            case SQUARE -> Nd4j.exec(new Square(x, y));
            case EXP -> Nd4j.exec(new Exp(x, y));
            case LOG -> Nd4j.exec(new Log(x, y));
            case SQRT -> Nd4j.exec(new Sqrt(x, y));
            case RSQRT -> Nd4j.exec(new RSqrt(x, y));
            case SIN -> Nd4j.exec(new Sin(x, y));
            case COS -> Nd4j.exec(new Cos(x, y));
            case TANH -> Nd4j.exec(new Tanh(x, y));
            case SIGMOID -> Nd4j.exec(new Sigmoid(x, y));
            case SILU -> Nd4j.exec(new Swish(x, y));
            case GELU -> gelu(x, y);
            case GELU_TANH -> {
                // ½x(1 + tanh(k0(x + k1x³)))
                Nd4j.exec(new Square(x, y));
                y.muli(K1).addi(1).muli(x).muli(K0);
                Nd4j.exec(new Tanh(y, y));
                y.addi(1).muli(x).muli(0.5);
            }
            case QUICK_GELU -> Nd4j.exec(new GELU(x, y)); // libnd4j's gelu is exactly x·σ(1.702x)
        }
    }

    /** y = ½·x·erfc(−x/√2), the exact (erf) GELU. */
    static void gelu(INDArray x, INDArray y) {
        y.assign(x).muli(-INV_SQRT2);
        Nd4j.exec(new Erfc(y, y));
        y.muli(x).muli(0.5);
    }

    /** d = f′(x) (the caller multiplies by dy); {@code d} is a fresh array shaped like {@code x}. */
    static void derivative(UnaryOp op, INDArray x, INDArray d) {
        switch (op) {
            case NEG -> d.assign(-1);
            case SQUARE -> d.assign(x).muli(2);
            case EXP -> Nd4j.exec(new Exp(x, d));
            case LOG -> d.assign(x).rdivi(1);
            case SQRT -> {
                Nd4j.exec(new RSqrt(x, d));
                d.muli(0.5);
            }
            case RSQRT -> {
                // −½·x^(−3/2) = −½·rsqrt(x)/x
                Nd4j.exec(new RSqrt(x, d));
                d.divi(x).muli(-0.5);
            }
            case SIN -> Nd4j.exec(new Cos(x, d));
            case COS -> {
                Nd4j.exec(new Sin(x, d));
                d.negi();
            }
            case TANH -> {
                Nd4j.exec(new Tanh(x, d));
                d.muli(d).rsubi(1);
            }
            case SIGMOID -> {
                Nd4j.exec(new Sigmoid(x, d));
                INDArray t = d.rsub(1);
                try {
                    d.muli(t);
                } finally {
                    free(t);
                }
            }
            case SILU -> {
                // σ(x)·(1 + x(1 − σ(x)))
                Nd4j.exec(new Sigmoid(x, d));
                INDArray t = d.rsub(1);
                try {
                    t.muli(x).addi(1);
                    d.muli(t);
                } finally {
                    free(t);
                }
            }
            case GELU -> geluDerivative(x, d);
            case GELU_TANH -> {
                // ½(1 + t) + ½x(1 − t²)·k0(1 + 3k1x²), t = tanh(k0(x + k1x³))
                INDArray sq = allocFloat(x.shape());
                INDArray t = allocFloat(x.shape());
                try {
                    Nd4j.exec(new Square(x, sq));
                    t.assign(sq).muli(K1).addi(1).muli(x).muli(K0);
                    Nd4j.exec(new Tanh(t, t));
                    d.assign(t).muli(t).rsubi(1).muli(x).muli(0.5 * K0);
                    sq.muli(3 * K1).addi(1);
                    d.muli(sq);
                    t.addi(1).muli(0.5);
                    d.addi(t);
                } finally {
                    free(sq, t);
                }
            }
            case QUICK_GELU -> {
                // s + 1.702·x·s(1 − s), s = σ(1.702x)
                d.assign(x).muli(QUICK);
                Nd4j.exec(new Sigmoid(d, d));
                INDArray t = d.rsub(1);
                try {
                    t.muli(x).muli(QUICK).addi(1);
                    d.muli(t);
                } finally {
                    free(t);
                }
            }
        }
    }

    /** d = Φ(x) + x·φ(x) = ½·erfc(−x/√2) + x·e^(−x²/2)/√(2π). */
    static void geluDerivative(INDArray x, INDArray d) {
        INDArray t = allocFloat(x.shape());
        try {
            d.assign(x).muli(-INV_SQRT2);
            Nd4j.exec(new Erfc(d, d));
            d.muli(0.5);
            Nd4j.exec(new Square(x, t));
            t.muli(-0.5);
            Nd4j.exec(new Exp(t, t));
            t.muli(x).muli(INV_SQRT_2PI);
            d.addi(t);
        } finally {
            free(t);
        }
    }
}
