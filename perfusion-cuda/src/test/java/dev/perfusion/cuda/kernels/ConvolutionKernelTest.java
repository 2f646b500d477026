package dev.perfusion.cuda.kernels;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.perfusion.cuda.CudaProbe;
import dev.perfusion.cuda.driver.CudaDevice;
import dev.perfusion.cuda.driver.DeviceBuffer;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tolerance;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Convolution} forward, input gradient and weight gradient on a GPU against float64 loops over the same
 * (storage-rounded) inputs: odd sizes, non-square kernels, strides 1–3, padding 0–2, the 1×1 shortcut, bias or
 * none, the chunked paths (a tiny scratch budget), and the SD v1.5 UNet shapes (3×3 padding 1 at 64²×320,
 * 32²×640, 16²×1280, 8²×1280, and the stride-2 downsampler) on seeded subsets of elements. Outputs start as NaN.
 */
@Tag("cuda")
class ConvolutionKernelTest {
    private static CudaDevice dev;

    @BeforeEach
    void needsAGpu() {
        assumeTrue(CudaProbe.available(), DeviceData::noGpu);
        if (dev == null) {
            dev = CudaDevice.open(0, true);
        }
    }

    @AfterAll
    static void closeDevice() {
        if (dev != null) {
            dev.close();
            dev = null;
        }
    }

    /**
     * A multiple of the tensor's largest magnitude plus rtol: the half types round the column matrix of the input
     * gradient before col2im sums up to kh·kw terms, and the forward rounds before and after the bias add.
     */
    static Tolerance tolerance(DType dt, float[] expected) {
        double max = DeviceData.maxAbs(expected, 1e-3);
        return switch (dt) {
            case FLOAT32 -> new Tolerance(2e-5 * max, 1e-4);
            case FLOAT16 -> new Tolerance(4e-3 * max, 1e-2);
            default -> new Tolerance(3e-2 * max, 5e-2);
        };
    }

    static void run(DType dt, int n, int c, int h, int w, int o, int kh, int kw, int stride, int pad, boolean bias,
                    int samples) {
        Convolution.Geometry g = Convolution.Geometry.of("test", n, c, h, w, o, kh, kw, stride, pad);
        int oh = g.oh();
        int ow = g.ow();
        long seed = 1000L * c + 10L * h + kh + stride + pad;
        float[] x = DeviceData.normal(seed, n * c * h * w, 1.0, dt);
        float[] wt = DeviceData.normal(seed + 1, o * c * kh * kw, 1.0 / Math.sqrt(c * kh * kw), dt);
        float[] b = bias ? DeviceData.normal(seed + 2, o, 0.5, dt) : null;
        float[] dy = DeviceData.normal(seed + 3, n * o * oh * ow, 1.0, dt);
        float[] y;
        float[] dx;
        float[] dw;
        try (DeviceBuffer xb = DeviceData.upload(dev, dt, x);
             DeviceBuffer wb = DeviceData.upload(dev, dt, wt);
             DeviceBuffer bb = bias ? DeviceData.upload(dev, dt, b) : null;
             DeviceBuffer dyb = DeviceData.upload(dev, dt, dy);
             DeviceBuffer yb = DeviceData.poisoned(dev, dt, (long) n * o * oh * ow);
             DeviceBuffer dxb = DeviceData.poisoned(dev, dt, (long) n * c * h * w);
             DeviceBuffer dwb = DeviceData.poisoned(dev, dt, (long) o * c * kh * kw)) {
            Convolution.forward(dev, dt, xb.pointer(), wb.pointer(), bias ? bb.pointer() : null, yb.pointer(), n, c, h,
                    w, o, kh, kw, stride, pad);
            Convolution.backwardInput(dev, dt, dyb.pointer(), wb.pointer(), dxb.pointer(), n, c, h, w, o, kh, kw,
                    stride, pad);
            Convolution.backwardWeight(dev, dt, dyb.pointer(), xb.pointer(), dwb.pointer(), n, c, h, w, o, kh, kw,
                    stride, pad);
            y = DeviceData.download(dev, dt, yb, n * o * oh * ow);
            dx = DeviceData.download(dev, dt, dxb, n * c * h * w);
            dw = DeviceData.download(dev, dt, dwb, o * c * kh * kw);
        }
        String what = DeviceData.label("conv", dt, "n", n, "c", c, "h", h, "w", w, "o", o, "k", kh + "x" + kw, "s",
                stride, "p", pad, bias ? "bias" : "");

        int[] ys = DeviceData.sample(seed + 4, y.length, samples);
        float[] exp = new float[ys.length];
        float[] act = new float[ys.length];
        for (int si = 0; si < ys.length; si++) {
            int idx = ys[si];
            int j = idx % ow;
            int i = (idx / ow) % oh;
            int oc = (idx / (ow * oh)) % o;
            int ni = idx / (ow * oh * o);
            double acc = bias ? b[oc] : 0;
            for (int ci = 0; ci < c; ci++) {
                for (int p = 0; p < kh; p++) {
                    for (int q = 0; q < kw; q++) {
                        int yy = i * stride + p - pad;
                        int xx = j * stride + q - pad;
                        if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                            acc += (double) wt[((oc * c + ci) * kh + p) * kw + q] * x[((ni * c + ci) * h + yy) * w + xx];
                        }
                    }
                }
            }
            exp[si] = (float) acc;
            act[si] = y[idx];
        }
        tolerance(dt, exp).assertClose(what + " forward", Shape.of(ys.length), exp, act);

        int[] xs = DeviceData.sample(seed + 5, dx.length, samples);
        exp = new float[xs.length];
        act = new float[xs.length];
        for (int si = 0; si < xs.length; si++) {
            int idx = xs[si];
            int xx = idx % w;
            int yy = (idx / w) % h;
            int ci = (idx / (w * h)) % c;
            int ni = idx / (w * h * c);
            double acc = 0;
            for (int oc = 0; oc < o; oc++) {
                for (int p = 0; p < kh; p++) {
                    for (int q = 0; q < kw; q++) {
                        int ty = yy + pad - p;
                        int tx = xx + pad - q;
                        if (ty < 0 || tx < 0 || ty % stride != 0 || tx % stride != 0) {
                            continue;
                        }
                        int i = ty / stride;
                        int j = tx / stride;
                        if (i < oh && j < ow) {
                            acc += (double) wt[((oc * c + ci) * kh + p) * kw + q] * dy[((ni * o + oc) * oh + i) * ow + j];
                        }
                    }
                }
            }
            exp[si] = (float) acc;
            act[si] = dx[idx];
        }
        tolerance(dt, exp).assertClose(what + " backwardInput", Shape.of(xs.length), exp, act);

        int[] ws = DeviceData.sample(seed + 6, dw.length, samples);
        exp = new float[ws.length];
        act = new float[ws.length];
        for (int si = 0; si < ws.length; si++) {
            int idx = ws[si];
            int q = idx % kw;
            int p = (idx / kw) % kh;
            int ci = (idx / (kw * kh)) % c;
            int oc = idx / (kw * kh * c);
            double acc = 0;
            for (int ni = 0; ni < n; ni++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        int yy = i * stride + p - pad;
                        int xx = j * stride + q - pad;
                        if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                            acc += (double) dy[((ni * o + oc) * oh + i) * ow + j] * x[((ni * c + ci) * h + yy) * w + xx];
                        }
                    }
                }
            }
            exp[si] = (float) acc;
            act[si] = dw[idx];
        }
        tolerance(dt, exp).assertClose(what + " backwardWeight", Shape.of(ws.length), exp, act);
    }

    private static final DType[] DTYPES = {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16};

    static Stream<Arguments> oddShapes() {
        // c, h, w, o, kh, kw, stride, pad
        int[][] shapes = {{3, 7, 9, 5, 3, 3, 1, 1}, {3, 7, 9, 5, 3, 3, 2, 1}, {3, 7, 9, 5, 1, 1, 1, 0},
                {3, 7, 9, 5, 1, 1, 2, 0}, {3, 7, 9, 5, 3, 5, 2, 0}, {4, 8, 8, 7, 3, 3, 1, 0}, {2, 9, 7, 3, 3, 3, 3, 2},
                {33, 5, 5, 17, 3, 3, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 0}, {5, 6, 6, 129, 2, 2, 2, 1}};
        List<Arguments> out = new ArrayList<>();
        for (DType dt : DTYPES) {
            for (int[] s : shapes) {
                out.add(Arguments.of(dt, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} c={1} {2}x{3} o={4} k={5}x{6} s={7} p={8}")
    @MethodSource("oddShapes")
    void oddShapes(DType dt, int c, int h, int w, int o, int kh, int kw, int stride, int pad) {
        run(dt, 2, c, h, w, o, kh, kw, stride, pad, true, 1 << 20);
        run(dt, 1, c, h, w, o, kh, kw, stride, pad, false, 1 << 20);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT16", "BFLOAT16"})
    void chunkedBatches(DType dt) {
        long saved = Convolution.columnBudgetBytes;
        try {
            Convolution.columnBudgetBytes = 1; // one image per chunk: several products, the partial sums of dW
            run(dt, 3, 5, 9, 7, 6, 3, 3, 1, 1, true, 1 << 20);
            run(dt, 3, 5, 9, 7, 6, 3, 3, 2, 1, false, 1 << 20);
            Convolution.columnBudgetBytes = 2L * (5 * 9 + 6) * 9 * 7 * dt.byteSize(); // two images, then one
            run(dt, 3, 5, 9, 7, 6, 3, 3, 1, 1, true, 1 << 20);
        } finally {
            Convolution.columnBudgetBytes = saved;
        }
    }

    static Stream<Arguments> sdShapes() {
        // n, c, h, w, o, stride: the UNet's 3×3 padding-1 convolutions at batch 2, and the first downsampler
        int[][] shapes = {{2, 320, 64, 64, 320, 1}, {2, 640, 32, 32, 640, 1}, {2, 1280, 16, 16, 1280, 1},
                {2, 1280, 8, 8, 1280, 1}, {2, 320, 64, 64, 320, 2}, {2, 4, 64, 64, 320, 1}};
        List<Arguments> out = new ArrayList<>();
        for (DType dt : DTYPES) {
            for (int[] s : shapes) {
                out.add(Arguments.of(dt, s[0], s[1], s[2], s[3], s[4], s[5]));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}x{2}x{3}x{4} -> {5} s={6}")
    @MethodSource("sdShapes")
    void stableDiffusionShapes(DType dt, int n, int c, int h, int w, int o, int stride) {
        run(dt, n, c, h, w, o, 3, 3, stride, 1, true, 48);
    }
}
