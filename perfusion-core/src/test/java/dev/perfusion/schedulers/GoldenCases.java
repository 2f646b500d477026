package dev.perfusion.schedulers;

import dev.perfusion.io.JsonReader;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.Tolerance;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A golden scheduler case file ({@code golden/cases/scheduler_*.safetensors}) read whole into memory. The project's
 * {@link dev.perfusion.io.SafeTensors} rejects F64 tensors, which {@code scheduler_ddpm} holds ({@code betas_f64},
 * {@code alphas_cumprod_f64}), so this test helper reads the (trusted, tiny) files itself: F32, F64 and I64.
 */
final class GoldenCases {
    static final Path DIR = Path.of("src/test/resources/golden/cases");
    /** Single scheduler steps: README §11. */
    static final Tolerance STEP = new Tolerance(1e-4, 1e-4);

    private final String file;
    private final Map<String, Object> header;
    private final ByteBuffer data;

    private GoldenCases(String file, Map<String, Object> header, ByteBuffer data) {
        this.file = file;
        this.header = header;
        this.data = data;
    }

    @SuppressWarnings("unchecked")
    static GoldenCases open(String name) {
        Path p = DIR.resolve(name);
        try {
            byte[] all = Files.readAllBytes(p);
            ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            int n = (int) b.getLong(0);
            Map<String, Object> header = (Map<String, Object>) JsonReader.parse(
                    new String(all, 8, n, StandardCharsets.UTF_8));
            ByteBuffer data = ByteBuffer.wrap(all, 8 + n, all.length - 8 - n).slice().order(ByteOrder.LITTLE_ENDIAN);
            return new GoldenCases(name, header, data);
        } catch (IOException e) {
            throw new AssertionError("cannot read golden file " + p.toAbsolutePath(), e);
        }
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> entry(String name) {
        Object e = header.get(name);
        if (e == null) {
            throw new AssertionError(file + " has no tensor '" + name + "'");
        }
        return (Map<String, Object>) e;
    }

    /**
     * The {@code config} object of the file's {@code __metadata__["golden"]} JSON: the scheduler config diffusers
     * actually used (its class's full {@code scheduler.config}).
     */
    @SuppressWarnings("unchecked")
    Map<String, Object> diffusersConfig() {
        Map<String, Object> meta = (Map<String, Object>) header.get("__metadata__");
        Map<String, Object> golden = (Map<String, Object>) JsonReader.parse((String) meta.get("golden"));
        return (Map<String, Object>) golden.get("config");
    }

    String dtype(String name) {
        return (String) entry(name).get("dtype");
    }

    Shape shape(String name) {
        List<?> dims = (List<?>) entry(name).get("shape");
        int[] d = new int[dims.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = ((Long) dims.get(i)).intValue();
        }
        return Shape.of(d);
    }

    private ByteBuffer bytes(String name) {
        List<?> off = (List<?>) entry(name).get("data_offsets");
        int begin = ((Long) off.get(0)).intValue();
        int end = ((Long) off.get(1)).intValue();
        return data.duplicate().position(begin).limit(end).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    float[] f32(String name) {
        expect(name, "F32");
        ByteBuffer b = bytes(name);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    double[] f64(String name) {
        expect(name, "F64");
        ByteBuffer b = bytes(name);
        double[] out = new double[b.remaining() / 8];
        b.asDoubleBuffer().get(out);
        return out;
    }

    long[] i64(String name) {
        expect(name, "I64");
        ByteBuffer b = bytes(name);
        long[] out = new long[b.remaining() / 8];
        b.asLongBuffer().get(out);
        return out;
    }

    float scalar(String name) {
        float[] v = f32(name);
        if (v.length != 1) {
            throw new AssertionError(name + " is not a scalar");
        }
        return v[0];
    }

    /** A whole F32 tensor. */
    Tensor tensor(String name, Backend backend) {
        return backend.fromArray(f32(name), shape(name));
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

    private void expect(String name, String dtype) {
        if (!dtype.equals(dtype(name))) {
            throw new AssertionError(file + ": " + name + " is " + dtype(name) + ", not " + dtype);
        }
    }
}
