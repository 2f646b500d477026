package dev.perfusion.testing;

import dev.perfusion.io.JsonReader;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A trusted golden safetensors file ({@code src/test/resources/golden/cases/*.safetensors}) read whole into memory.
 * The project's {@link dev.perfusion.io.SafeTensors} rejects F64 tensors by design (F64 is not a Tensor dtype), and
 * several goldens carry float64 references ({@code *_f64}), so tests read them here: F32, F64 and I64 as
 * {@code float[]}, {@code double[]}, {@code long[]} plus the shape. No validation beyond what a test needs: the files
 * are ours and small.
 */
public final class GoldenFile {
    /** The golden case folder, relative to the perfusion-core module (surefire's working directory). */
    public static final Path CASES = Path.of("src/test/resources/golden/cases");

    private final String file;
    private final Map<String, Object> header;
    private final ByteBuffer data;

    private GoldenFile(String file, Map<String, Object> header, ByteBuffer data) {
        this.file = file;
        this.header = header;
        this.data = data;
    }

    /** Opens {@code CASES/name}. */
    public static GoldenFile open(String name) {
        return open(CASES.resolve(name));
    }

    /** Opens a golden file by path; a missing or unreadable file fails the test. */
    @SuppressWarnings("unchecked")
    public static GoldenFile open(Path p) {
        try {
            byte[] all = Files.readAllBytes(p);
            ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            int n = (int) b.getLong(0);
            Map<String, Object> header = (Map<String, Object>) JsonReader.parse(
                    new String(all, 8, n, StandardCharsets.UTF_8));
            ByteBuffer data = ByteBuffer.wrap(all, 8 + n, all.length - 8 - n).slice().order(ByteOrder.LITTLE_ENDIAN);
            return new GoldenFile(p.getFileName().toString(), header, data);
        } catch (IOException e) {
            throw new AssertionError("cannot read golden file " + p.toAbsolutePath(), e);
        }
    }

    /** The file name, for messages. */
    public String file() {
        return file;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> entry(String name) {
        Object e = header.get(name);
        if (e == null || "__metadata__".equals(name)) {
            throw new AssertionError(file + " has no tensor '" + name + "'");
        }
        return (Map<String, Object>) e;
    }

    /** True when the file holds a tensor of that name. */
    public boolean contains(String name) {
        return !"__metadata__".equals(name) && header.containsKey(name);
    }

    /** The {@code __metadata__} string map (empty when absent). */
    @SuppressWarnings("unchecked")
    public Map<String, String> metadata() {
        Object m = header.get("__metadata__");
        return m == null ? Map.of() : (Map<String, String>) m;
    }

    /** {@code __metadata__["golden"]} parsed as JSON (an object). */
    @SuppressWarnings("unchecked")
    public Map<String, Object> goldenJson() {
        String g = metadata().get("golden");
        if (g == null) {
            throw new AssertionError(file + " has no __metadata__.golden");
        }
        return (Map<String, Object>) JsonReader.parse(g);
    }

    /** The safetensors dtype string: F32, F64, I64. */
    public String dtype(String name) {
        return (String) entry(name).get("dtype");
    }

    /** The tensor's shape. */
    public Shape shape(String name) {
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

    /** An F32 tensor's values, row-major. */
    public float[] f32(String name) {
        expect(name, "F32");
        ByteBuffer b = bytes(name);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    /** An F64 tensor's values, row-major. */
    public double[] f64(String name) {
        expect(name, "F64");
        ByteBuffer b = bytes(name);
        double[] out = new double[b.remaining() / 8];
        b.asDoubleBuffer().get(out);
        return out;
    }

    /** An I64 tensor's values, row-major. */
    public long[] i64(String name) {
        expect(name, "I64");
        ByteBuffer b = bytes(name);
        long[] out = new long[b.remaining() / 8];
        b.asLongBuffer().get(out);
        return out;
    }

    /** The single value of a one-element F32 tensor. */
    public float scalar(String name) {
        float[] v = f32(name);
        if (v.length != 1) {
            throw new AssertionError(file + ": " + name + " is not a scalar");
        }
        return v[0];
    }

    /** A whole F32 tensor on {@code backend}. */
    public Tensor tensor(String name, Backend backend) {
        return backend.fromArray(f32(name), shape(name));
    }

    private void expect(String name, String dtype) {
        if (!dtype.equals(dtype(name))) {
            throw new AssertionError(file + ": " + name + " is " + dtype(name) + ", not " + dtype);
        }
    }
}
