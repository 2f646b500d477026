package dev.perfusion.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Gradients through the frozen VAE to its input, on the reference backend with the tiny golden weights: the
 * analytic gradient of L = Σ w ⊙ f(x) against central differences at a few elements. f is decode (latent → image,
 * what guidance and img2img losses need) and encode (image → μ and clamped logvar).
 *
 * <p>float32 storage puts ~1e-7·|L| of rounding noise into each probed loss, amplified by 1/(2h) = 50, plus the
 * O(h²) truncation error through GroupNorm, softmax and SiLU: hence atol 2e-3, rtol 2e-2 (as the autograd tests).
 */
@Tag("unit")
class AutoencoderKLGradientTest {
    private static final double H = 1e-2;
    private static final double ATOL = 2e-3;
    private static final double RTOL = 2e-2;

    private static Backend be;
    private static AutoencoderKL vae;

    @BeforeAll
    static void load() throws Exception {
        be = new ReferenceBackend();
        vae = AutoencoderKL.load(VaeGolden.VAE_DIR, be);
    }

    @AfterAll
    static void release() {
        vae.close();
        be.close();
    }

    @Test
    void decodeBackPropagatesToTheLatentAndLeavesWeightsFrozen() {
        Shape s = Shape.of(1, 4, 2, 2); // 2×2 latent → 16×16 image: small enough for the scalar backend
        checkGradient("decode", s, HostRandom.normal(31, s.numelInt()), vae::decode, new int[] {0, 5, 10, 15});
        for (Parameter p : vae.namedParameters().values()) {
            assertFalse(p.requiresGrad());
            assertEquals(null, p.grad(), "frozen weights get no gradient");
        }
    }

    @Test
    void encodeBackPropagatesToTheImageThroughMeanAndClampedLogvar() {
        // 16×16 image → 2×2 latent; at 8×8 the deepest GroupNorm groups hold 2 elements and are too curved for h = 1e-2
        Shape s = Shape.of(1, 3, 16, 16);
        Function<Tensor, Tensor> f = x -> {
            LatentDistribution d = vae.encode(x); // freed by the caller's scope: the tape may still hold it
            return Ops.concat(List.of(d.mean(), d.logvar()), 1); // [1, 2L, 1, 1]
        };
        checkGradient("encode", s, HostRandom.uniform(32, s.numelInt(), -1f, 1f), f, new int[] {0, 300, 517, 767});
    }

    @Test
    void clampedLogvarPassesGradientOnlyInsideTheRange() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = be.fromArray(new float[] {-40f, -30f, 0f, 19.5f, 25f}, Shape.of(5)).requiresGrad(true);
            Tensor y = AutoencoderKL.clamp(x, LatentDistribution.LOGVAR_MIN, LatentDistribution.LOGVAR_MAX);
            assertArrayEquals(new float[] {-30f, -30f, 0f, 19.5f, 20f}, y.toFloatArray());
            Ops.sum(y, new int[0], false).backward();
            assertArrayEquals(new float[] {0f, 1f, 1f, 1f, 0f}, x.grad().toFloatArray()); // as torch.clamp
            try (AutoCloseable ng = Autograd.noGrad()) {
                Tensor u = AutoencoderKL.clamp(be.fromArray(new float[] {-40f, 1f, 25f}, Shape.of(3)), -30f, 20f);
                assertArrayEquals(new float[] {-30f, 1f, 20f}, u.toFloatArray());
            }
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    private static void checkGradient(String what, Shape s, float[] base, Function<Tensor, Tensor> f, int[] probes) {
        float[] analytic;
        float[] w;
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = be.fromArray(base, s).requiresGrad(true);
            Tensor y = f.apply(x);
            w = HostRandom.normal(77, y.shape().numelInt());
            Ops.sum(Ops.mul(y, be.fromArray(w, y.shape())), new int[0], false).backward();
            assertNotNull(x.grad(), what + ": the input got no gradient");
            analytic = x.grad().toFloatArray();
        }
        for (int e : probes) {
            double numeric = (loss(f, s, base, e, H, w) - loss(f, s, base, e, -H, w)) / (2 * H);
            double a = analytic[e];
            if (!(Math.abs(a - numeric) <= ATOL + RTOL * Math.abs(numeric))) {
                throw new AssertionError(String.format("%s: d/dx element %d: analytic %.6g, finite difference %.6g",
                        what, e, a, numeric));
            }
            System.out.printf("[vae gradient] %s element %d: analytic %.6g, finite difference %.6g%n", what, e, a, numeric);
        }
    }

    private static double loss(Function<Tensor, Tensor> f, Shape s, float[] base, int e, double h, float[] w) {
        float[] v = base.clone();
        v[e] = (float) (v[e] + h);
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            float[] y = f.apply(be.fromArray(v, s)).toFloatArray();
            double l = 0;
            for (int k = 0; k < y.length; k++) {
                l += (double) y[k] * w[k];
            }
            return l;
        } catch (Exception ex) {
            throw ex instanceof RuntimeException r ? r : new IllegalStateException(ex);
        }
    }
}
