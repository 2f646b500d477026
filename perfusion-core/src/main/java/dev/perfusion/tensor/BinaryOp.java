package dev.perfusion.tensor;

/** Elementwise functions of two tensors, applied with NumPy broadcasting. */
public enum BinaryOp {
    /** y = a + b */
    ADD {
        public double apply(double a, double b) { return a + b; }
    },
    /** y = a − b */
    SUB {
        public double apply(double a, double b) { return a - b; }
    },
    /** y = a·b */
    MUL {
        public double apply(double a, double b) { return a * b; }
    },
    /** y = a / b */
    DIV {
        public double apply(double a, double b) { return a / b; }
    },
    /** y = max(a, b) */
    MAXIMUM {
        public double apply(double a, double b) { return Math.max(a, b); }
    },
    /** y = min(a, b) */
    MINIMUM {
        public double apply(double a, double b) { return Math.min(a, b); }
    };

    /** The function at (a, b). */
    public abstract double apply(double a, double b);
}
