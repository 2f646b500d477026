package dev.perfusion.schedulers;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;
import dev.perfusion.testing.GoldenFile;
import java.nio.file.Path;
import java.util.Map;

/**
 * A golden scheduler case file ({@code golden/cases/scheduler_*.safetensors}) read whole into memory. The project's
 * {@link dev.perfusion.io.SafeTensors} rejects F64 tensors, which {@code scheduler_ddpm} holds ({@code betas_f64},
 * {@code alphas_cumprod_f64}), so this helper reads them through the shared test reader {@link GoldenFile}: F32, F64 and I64.
 */
final class GoldenCases {
    static final Path DIR = GoldenFile.CASES;
    /** Single scheduler steps: README §11. */
    static final Tolerance STEP = new Tolerance(1e-4, 1e-4);

    private final GoldenFile file;

    private GoldenCases(GoldenFile file) {
        this.file = file;
    }

    static GoldenCases open(String name) {
        return new GoldenCases(GoldenFile.open(name));
    }

    /**
     * The {@code config} object of the file's {@code __metadata__["golden"]} JSON: the scheduler config diffusers
     * actually used (its class's full {@code scheduler.config}).
     */
    @SuppressWarnings("unchecked")
    Map<String, Object> diffusersConfig() {
        return (Map<String, Object>) file.goldenJson().get("config");
    }

    String dtype(String name) {
        return file.dtype(name);
    }

    Shape shape(String name) {
        return file.shape(name);
    }

    float[] f32(String name) {
        return file.f32(name);
    }

    double[] f64(String name) {
        return file.f64(name);
    }

    long[] i64(String name) {
        return file.i64(name);
    }

    float scalar(String name) {
        return file.scalar(name);
    }

    /** A whole F32 tensor. */
    Tensor tensor(String name, Backend backend) {
        return file.tensor(name, backend);
    }

    /** Item i of a stacked F32 tensor [n, ...] as a tensor of shape [...]. */
    Tensor item(String name, int i, Backend backend) {
        return backend.fromArray(itemValues(name, i), itemShape(name));
    }

    float[] itemValues(String name, int i) {
        Shape s = shape(name);
        int per = (int) (s.numel() / s.dim(0));
        float[] all = f32(name);
        float[] out = new float[per];
        System.arraycopy(all, i * per, out, 0, per);
        return out;
    }

    Shape itemShape(String name) {
        int[] d = shape(name).dims();
        int[] rest = new int[d.length - 1];
        System.arraycopy(d, 1, rest, 0, rest.length);
        return Shape.of(rest);
    }
}
