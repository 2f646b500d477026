package dev.perfusion.bench;

import java.util.Locale;

/**
 * The shapes the benchmarks run, by the names used in their {@code shape} parameter, with their FLOP counts.
 * One place, so that the benchmarks and {@link BenchReport} cannot disagree.
 *
 * <p>The Stable Diffusion v1.5 shapes are those of the UNet at 64×64 latents (512² images). The {@code scaled}
 * shapes exist for the reference backend, which is a scalar, single-threaded, double-accumulating oracle and
 * would need minutes per call at the full sizes (4096×1280·1280×5120 is 53.7 GFLOP): they keep the channel
 * counts and head dim but shrink the token / spatial axis by 8 (matmul, attention) or 4 per side (conv). The
 * other backends are run at the scaled shapes too, so that each reference number has a same-shape comparison.
 */
public final class BenchShapes {
    private BenchShapes() {
    }

    /** Shape name shared by every benchmark for its scaled-down variant ({@code -p shape=scaled}). */
    public static final String SCALED = "scaled";

    /** C[M,N] = A[M,K]·B[K,N]. */
    public record Matmul(int m, int k, int n) {
        /** 2·M·N·K: one multiply and one add per term. */
        public long flops() {
            return 2L * m * n * k;
        }

        /** e.g. {@code 4096×320 · 320×320}. */
        public String label() {
            return String.format(Locale.ROOT, "%d×%d · %d×%d", m, k, k, n);
        }
    }

    /** y = conv2d(x [N,C,H,W], w [O,C,k,k]) with the given stride and padding. */
    public record Conv(int n, int c, int h, int w, int o, int k, int stride, int padding) {
        /** Output height. */
        public int outH() {
            return (h + 2 * padding - k) / stride + 1;
        }

        /** Output width. */
        public int outW() {
            return (w + 2 * padding - k) / stride + 1;
        }

        /** 2·N·O·H′·W′·C·k² (the bias add is ignored). */
        public long flops() {
            return 2L * n * o * outH() * outW() * c * k * k;
        }

        /** e.g. {@code 3×3 320→320, 1×320×64×64}. */
        public String label() {
            return String.format(Locale.ROOT, "%d×%d %d→%d, %d×%d×%d×%d, s%d p%d", k, k, c, o, n, c, h, w, stride,
                    padding);
        }
    }

    /** Self-attention softmax(q·kᵀ·scale)·v with q, k, v [B, H, L, D]. */
    public record Attention(int b, int heads, int tokens, int headDim) {
        /** 4·B·H·L²·D: the two matmuls q·kᵀ and p·v (softmax and scaling ignored). */
        public long flops() {
            return 4L * b * heads * tokens * tokens * headDim;
        }

        /** The usual 1/√D. */
        public float scale() {
            return (float) (1.0 / Math.sqrt(headDim));
        }

        /** e.g. {@code 8 heads × 4096 tokens × d40}. */
        public String label() {
            return String.format(Locale.ROOT, "%d×%d heads × %d tokens × d%d", b, heads, tokens, headDim);
        }
    }

    /**
     * Matmul shapes: {@code m4096_k320_n320} (attention projections at 64×64 latents), {@code m4096_k1280_n5120}
     * (a wide feed-forward product), {@code scaled} (512×320·320×320).
     */
    public static Matmul matmul(String name) {
        return switch (name) {
            case "m4096_k320_n320" -> new Matmul(4096, 320, 320);
            case "m4096_k1280_n5120" -> new Matmul(4096, 1280, 5120);
            case SCALED -> new Matmul(512, 320, 320);
            default -> throw new IllegalArgumentException("unknown matmul shape '" + name + "'");
        };
    }

    /** Conv shapes: {@code sd15} (3×3, 320→320 on 1×320×64×64, stride 1, padding 1), {@code scaled} (the same on 16×16). */
    public static Conv conv(String name) {
        return switch (name) {
            case "sd15" -> new Conv(1, 320, 64, 64, 320, 3, 1, 1);
            case SCALED -> new Conv(1, 320, 16, 16, 320, 3, 1, 1);
            default -> throw new IllegalArgumentException("unknown conv shape '" + name + "'");
        };
    }

    /**
     * Attention shapes: {@code sd15} (8 heads × 4096 tokens × 40), {@code scaled} (8 heads × 512 tokens × 40),
     * {@code toy} (16 × 4 heads × 64 tokens × 8: many small heads, where per-call overhead dominates).
     */
    public static Attention attention(String name) {
        return switch (name) {
            case "sd15" -> new Attention(1, 8, 4096, 40);
            case SCALED -> new Attention(1, 8, 512, 40);
            case "toy" -> new Attention(16, 4, 64, 8); // the toy UNet's 8×8 self-attention at training batch 16
            default -> throw new IllegalArgumentException("unknown attention shape '" + name + "'");
        };
    }
}
