package dev.perfusion.tensor;

/**
 * Elementwise functions of one tensor. Each constant carries its scalar definition ({@link #apply}) and its
 * derivative ({@link #derivative}) in double precision: the reference backend computes with these, and every
 * other backend is tested against them.
 */
public enum UnaryOp {
    /** y = −x */
    NEG {
        public double apply(double x) { return -x; }
        public double derivative(double x) { return -1; }
    },
    /** y = x² */
    SQUARE {
        public double apply(double x) { return x * x; }
        public double derivative(double x) { return 2 * x; }
    },
    /** y = eˣ */
    EXP {
        public double apply(double x) { return Math.exp(x); }
        public double derivative(double x) { return Math.exp(x); }
    },
    /** y = ln x */
    LOG {
        public double apply(double x) { return Math.log(x); }
        public double derivative(double x) { return 1 / x; }
    },
    /** y = √x */
    SQRT {
        public double apply(double x) { return Math.sqrt(x); }
        public double derivative(double x) { return 0.5 / Math.sqrt(x); }
    },
    /** y = 1/√x */
    RSQRT {
        public double apply(double x) { return 1 / Math.sqrt(x); }
        public double derivative(double x) { return -0.5 / (x * Math.sqrt(x)); }
    },
    /** y = sin x (sinusoidal timestep embeddings) */
    SIN {
        public double apply(double x) { return Math.sin(x); }
        public double derivative(double x) { return Math.cos(x); }
    },
    /** y = cos x */
    COS {
        public double apply(double x) { return Math.cos(x); }
        public double derivative(double x) { return -Math.sin(x); }
    },
    /** y = tanh x */
    TANH {
        public double apply(double x) { return Math.tanh(x); }
        public double derivative(double x) { double t = Math.tanh(x); return 1 - t * t; }
    },
    /** y = σ(x) = 1/(1+e^(−x)) */
    SIGMOID {
        public double apply(double x) { return sigmoid(x); }
        public double derivative(double x) { double s = sigmoid(x); return s * (1 - s); }
    },
    /** y = x·σ(x) (SiLU / swish) */
    SILU {
        public double apply(double x) { return x * sigmoid(x); }
        public double derivative(double x) { double s = sigmoid(x); return s * (1 + x * (1 - s)); }
    },
    /** y = x·Φ(x) = ½x(1 + erf(x/√2)) (exact GELU, diffusers' GEGLU) */
    GELU {
        public double apply(double x) { return 0.5 * x * (1 + Erf.erf(x / SQRT2)); }
        public double derivative(double x) {
            return 0.5 * (1 + Erf.erf(x / SQRT2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
        }
    },
    /** y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (tanh approximation of GELU) */
    GELU_TANH {
        public double apply(double x) { return 0.5 * x * (1 + Math.tanh(K0 * (x + K1 * x * x * x))); }
        public double derivative(double x) {
            double t = Math.tanh(K0 * (x + K1 * x * x * x));
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K0 * (1 + 3 * K1 * x * x);
        }
    },
    /** y = x·σ(1.702x) (CLIP's quick_gelu) */
    QUICK_GELU {
        public double apply(double x) { return x * sigmoid(1.702 * x); }
        public double derivative(double x) { double s = sigmoid(1.702 * x); return s + 1.702 * x * s * (1 - s); }
    };

    private static final double SQRT2 = Math.sqrt(2);
    private static final double K0 = Math.sqrt(2 / Math.PI);
    private static final double K1 = 0.044715;

    /** The function at {@code x}. */
    public abstract double apply(double x);

    /** dy/dx at {@code x}. */
    public abstract double derivative(double x);

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }
}
