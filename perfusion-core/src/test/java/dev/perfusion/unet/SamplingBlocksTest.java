package dev.perfusion.unet;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.tensor.Tolerance;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The blocks the VAE shares with the UNet — {@link ResnetBlock2D}, {@link Downsample2D}, {@link Upsample2D} — in
 * the configurations the UNet goldens do not reach: keys without a time embedding or shortcut, the VAE encoder's
 * asymmetric (0, 1, 0, 1) downsampling padding, and a block without time embedding. Reference backend.
 */
@Tag("unit")
class SamplingBlocksTest {
    private final Backend be = new ReferenceBackend();

    @Test
    void resnetKeys() throws Exception {
        try (ResnetBlock2D vae = new ResnetBlock2D(be, 32, 64, null, 32, 1e-6f);
             ResnetBlock2D unet = new ResnetBlock2D(be, 64, 64, 128, 32, 1e-5f)) {
            assertEquals(Set.of("norm1.weight", "norm1.bias", "conv1.weight", "conv1.bias", "norm2.weight", "norm2.bias",
                    "conv2.weight", "conv2.bias", "conv_shortcut.weight", "conv_shortcut.bias"), vae.namedParameters().keySet());
            assertEquals(Shape.of(64, 32, 1, 1), vae.namedParameters().get("conv_shortcut.weight").shape());
            assertEquals(Set.of("norm1.weight", "norm1.bias", "conv1.weight", "conv1.bias", "time_emb_proj.weight",
                    "time_emb_proj.bias", "norm2.weight", "norm2.bias", "conv2.weight", "conv2.bias"),
                    unet.namedParameters().keySet());
        }
        try (Downsample2D d = new Downsample2D(be, 32, 32, 0); Upsample2D u = new Upsample2D(be, 64, 64)) {
            assertEquals(Set.of("conv.weight", "conv.bias"), d.namedParameters().keySet());
            assertEquals(Shape.of(64, 64, 3, 3), u.namedParameters().get("conv.weight").shape());
        }
    }

    @Test
    void resnetWithoutTimeEmbeddingEqualsAZeroTimeProjection() throws Exception {
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             ResnetBlock2D plain = new ResnetBlock2D(be, 32, 64, null, 32, 1e-6f);
             ResnetBlock2D timed = new ResnetBlock2D(be, 32, 64, 16, 32, 1e-6f)) {
            plain.initialize(3);
            timed.initialize(3); // same keys → same values; time_emb_proj is then zeroed
            for (Map.Entry<String, Parameter> e : timed.namedParameters().entrySet()) {
                if (e.getKey().startsWith("time_emb_proj")) {
                    e.getValue().set(be.full(e.getValue().shape(), 0f));
                }
            }
            Tensor x = be.fromArray(HostRandom.normal(1, 2 * 32 * 5 * 4), Shape.of(2, 32, 5, 4));
            Tensor temb = be.fromArray(HostRandom.normal(2, 2 * 16), Shape.of(2, 16));
            Tensor a = plain.forward(x, null);
            Tensor b = timed.forward(x, temb);
            assertEquals(Shape.of(2, 64, 5, 4), a.shape());
            Tolerance.FLOAT32.assertClose("resnet without temb", b, a);
            assertThrows(IllegalArgumentException.class, () -> plain.forward(x, temb));
            assertThrows(IllegalArgumentException.class, () -> timed.forward(x, null));
        }
    }

    @Test
    void downsamplePaddingZeroPadsRightAndBottom() throws Exception {
        int c = 3;
        int o = 2;
        int h = 5;
        int w = 6;
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             Downsample2D down = new Downsample2D(be, c, o, 0); Downsample2D sym = new Downsample2D(be, c, o, 1)) {
            down.initialize(11);
            sym.initialize(11);
            float[] xv = HostRandom.normal(4, c * h * w);
            Tensor x = be.fromArray(xv, Shape.of(1, c, h, w));
            Tensor y = down.forward(x);
            // diffusers: F.pad(x, (0, 1, 0, 1)) then a 3×3 stride-2 conv without padding → ⌊(H+1−3)/2⌋+1
            assertEquals(Shape.of(1, o, 2, 3), y.shape());
            float[] wv = down.namedParameters().get("conv.weight").value().toFloatArray();
            float[] bv = down.namedParameters().get("conv.bias").value().toFloatArray();
            float[] expected = new float[o * 2 * 3];
            for (int oc = 0; oc < o; oc++) {
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 3; j++) {
                        double acc = bv[oc];
                        for (int ic = 0; ic < c; ic++) {
                            for (int p = 0; p < 3; p++) {
                                for (int q = 0; q < 3; q++) {
                                    int yy = 2 * i + p; // no padding before: row 0 is the input's row 0
                                    int xx = 2 * j + q;
                                    if (yy < h && xx < w) { // the padded row/column (index h, w) is zero
                                        acc += wv[((oc * c + ic) * 3 + p) * 3 + q] * xv[(ic * h + yy) * w + xx];
                                    }
                                }
                            }
                        }
                        expected[(oc * 2 + i) * 3 + j] = (float) acc;
                    }
                }
            }
            Tolerance.FLOAT32.assertClose("Downsample2D padding 0", y.shape(), expected, y.toFloatArray());
            assertEquals(Shape.of(1, o, 3, 3), sym.forward(x).shape()); // symmetric padding 1: ⌈H/2⌉, ⌈W/2⌉
            assertThrows(IllegalArgumentException.class, () -> new Downsample2D(be, c, o, 2));
        }
    }

    @Test
    void upsampleDoublesTheGrid() throws Exception {
        try (TensorScope scope = TensorScope.open(); AutoCloseable ng = Autograd.noGrad();
             Upsample2D up = new Upsample2D(be, 4, 2)) {
            up.initialize(5);
            Tensor x = be.fromArray(HostRandom.normal(6, 4 * 3 * 2), Shape.of(1, 4, 3, 2));
            assertEquals(Shape.of(1, 2, 6, 4), up.forward(x).shape());
        }
    }
}
