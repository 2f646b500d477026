package dev.perfusion.io;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writing then reading gives back the same tensors, bytes and metadata. */
@Tag("unit")
class SafeTensorsRoundTripTest {
    @TempDir
    Path dir;

    private final Backend backend = new ReferenceBackend();
    private TensorScope scope;

    @BeforeEach
    void openScope() {
        scope = TensorScope.open();
    }

    @AfterEach
    void closeScope() {
        scope.close();
    }

    /** Inputs for the half types: cast() rounds them, and a rounded value survives writing and reading exactly. */
    private static final float[] HALF_EXACT = {0f, -0f, 1f, -2.5f, 0.5f, 65504f, 6.1035156e-5f, Float.POSITIVE_INFINITY};

    private Map<String, Tensor> allDtypes() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("f32", backend.fromArray(new float[]{1.5f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN, 3e-39f},
                Shape.of(2, 3)));
        t.put("f16", backend.cast(backend.fromArray(HALF_EXACT, Shape.of(2, 2, 2)), DType.FLOAT16));
        t.put("bf16", backend.cast(backend.fromArray(HALF_EXACT, Shape.of(8)), DType.BFLOAT16));
        t.put("i32", backend.fromArray(new int[]{Integer.MIN_VALUE, -1, 0, 7, Integer.MAX_VALUE}, Shape.of(5)));
        t.put("i64", backend.fromArray(new long[]{Long.MIN_VALUE, -1, 0, 1L << 40, Long.MAX_VALUE}, Shape.of(5, 1)));
        t.put("scalar", backend.fromArray(new float[]{42f}, Shape.of()));
        t.put("empty", backend.fromArray(new float[0], Shape.of(0, 4)));
        t.put("empty.i64", backend.fromArray(new long[0], Shape.of(3, 0)));
        return t;
    }

    @Test
    void allDtypesRoundTripWithMetadata() throws IOException {
        Map<String, Tensor> tensors = allDtypes();
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "perfusion-concept");
        metadata.put("layers", "[{\"path\": \"down_blocks.0\", \"width\": 320}]");
        metadata.put("unicode", "tëddy 🧸 \u0000 \\ \" \n");
        metadata.put("", "empty key");
        Path p = dir.resolve("all.safetensors");
        SafeTensors.write(p, tensors, metadata);

        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(metadata, st.metadata());
            assertEquals(List.copyOf(tensors.keySet()), st.names());
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor expected = e.getValue();
                TensorInfo info = st.info(e.getKey());
                assertEquals(expected.dtype(), info.dtype(), e.getKey());
                assertEquals(expected.shape(), info.shape(), e.getKey());
                assertEquals(expected.numel() * expected.dtype().byteSize(), info.byteSize(), e.getKey());
                Tensor actual = st.tensor(e.getKey(), backend);
                assertEquals(expected.shape(), actual.shape());
                assertEquals(expected.dtype(), actual.dtype());
                if (expected.dtype().isFloating()) {
                    // Arrays.equals on floats compares bits (NaN equal to NaN, -0 distinct from 0)
                    assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), e.getKey());
                } else {
                    assertArrayEquals(expected.toLongArray(), actual.toLongArray(), e.getKey());
                }
            }
        }
    }

    @Test
    void bytesAreLittleEndianAndTheLayoutIsTheSpecOne() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("b", backend.fromArray(new int[]{1, 0x01020304}, Shape.of(2)));
        tensors.put("a", backend.cast(backend.fromArray(new float[]{1f, -2f}, Shape.of(2)), DType.FLOAT16));
        Path p = dir.resolve("layout.safetensors");
        SafeTensors.write(p, tensors, Map.of("k", "v"));

        String json = "{\"__metadata__\":{\"k\":\"v\"},"
                + "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]}}";
        int padded = (json.length() + 7) / 8 * 8;
        ByteBuffer expected = ByteBuffer.allocate(8 + padded + 12).order(ByteOrder.LITTLE_ENDIAN);
        expected.putLong(padded).put(json.getBytes(StandardCharsets.UTF_8));
        while (expected.position() < 8 + padded) {
            expected.put((byte) ' ');
        }
        expected.putInt(1).putInt(0x01020304).putShort((short) 0x3c00).putShort((short) 0xc000);
        assertArrayEquals(expected.array(), Files.readAllBytes(p));

        try (SafeTensors st = SafeTensors.open(p)) {
            ByteBuffer b = st.buffer("b");
            assertEquals(ByteOrder.LITTLE_ENDIAN, b.order());
            assertEquals(0, b.position());
            assertEquals(8, b.remaining());
            assertEquals(0x01020304, b.getInt(4));
            assertEquals(new TensorInfo("a", DType.FLOAT16, Shape.of(2), 8, 12), st.info("a"));
        }
    }

    @Test
    void headerIsPaddedToAMultipleOfEight() throws IOException {
        for (int nameLength = 1; nameLength <= 9; nameLength++) {
            Path p = dir.resolve("pad" + nameLength + ".safetensors");
            SafeTensors.write(p, Map.of("x".repeat(nameLength), backend.fromArray(new float[]{1f}, Shape.of(1))), null);
            ByteBuffer prefix = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(0, prefix.getLong(0) % 8, "header length for a name of " + nameLength);
        }
    }

    @Test
    void noMetadataGivesAnEmptyMap() throws IOException {
        Path p = dir.resolve("plain.safetensors");
        SafeTensors.write(p, Map.of("w", backend.fromArray(new float[]{1f}, Shape.of(1))), Map.of());
        try (SafeTensors st = SafeTensors.open(p)) {
            assertTrue(st.metadata().isEmpty());
            assertFalse(new String(Files.readAllBytes(p), StandardCharsets.UTF_8).contains("__metadata__"));
        }
    }

    @Test
    void noTensorsAtAll() throws IOException {
        Path p = dir.resolve("nothing.safetensors");
        SafeTensors.write(p, Map.of(), Map.of("only", "metadata"));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(0, st.size());
            assertEquals(Map.of("only", "metadata"), st.metadata());
        }
    }

    @Test
    void buffersAreIndependentViewsOfTheMapping() throws IOException {
        Path p = dir.resolve("views.safetensors");
        SafeTensors.write(p, Map.of("w", backend.fromArray(new float[]{1f, 2f, 3f}, Shape.of(3))), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertTrue(st.isCopyOnWrite());
            ByteBuffer first = st.buffer("w");
            first.getFloat(); // moves only this buffer's position
            ByteBuffer second = st.buffer("w");
            assertEquals(0, second.position());
            assertEquals(12, second.remaining());
            assertTrue(second.isDirect(), "a slice of the mapping, not a copy");
            assertEquals(3f, second.getFloat(8));
        }
    }

    @Test
    void copyOnWriteNeverChangesTheFile() throws IOException {
        Path p = dir.resolve("cow.safetensors");
        SafeTensors.write(p, Map.of("w", backend.fromArray(new float[]{1f, 2f}, Shape.of(2))), null);
        byte[] before = Files.readAllBytes(p);
        try (SafeTensors st = SafeTensors.open(p)) {
            st.buffer("w").putFloat(0, 99f); // what an in-place op on a wrapped buffer would do
        }
        assertArrayEquals(before, Files.readAllBytes(p));
    }

    @Test
    void readOnlyFilesAreMappedReadOnly() throws IOException {
        Path p = dir.resolve("ro.safetensors");
        SafeTensors.write(p, Map.of("w", backend.fromArray(new float[]{1f, 2f}, Shape.of(2))), null);
        assertTrue(p.toFile().setWritable(false, false));
        try (SafeTensors st = SafeTensors.open(p)) {
            // root can open read-only files for writing, so only the other case is checked strictly
            if (!st.isCopyOnWrite()) {
                assertTrue(st.buffer("w").isReadOnly());
            }
            assertArrayEquals(new float[]{1f, 2f}, st.tensor("w", backend).toFloatArray());
        } finally {
            p.toFile().setWritable(true, false);
        }
    }

    @Test
    void unknownNameListsSimilarNames() throws IOException {
        Path p = dir.resolve("names.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String name : List.of("down_blocks.0.conv.weight", "down_blocks.0.conv.bias", "up_blocks.0.conv.weight")) {
            tensors.put(name, backend.fromArray(new float[]{1f}, Shape.of(1)));
        }
        SafeTensors.write(p, tensors, null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertTrue(st.contains("down_blocks.0.conv.bias"));
            assertFalse(st.contains("down_blocks.0.conv.weigth"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> st.info("down_blocks.0.conv.weigth"));
            assertTrue(e.getMessage().contains("no tensor 'down_blocks.0.conv.weigth'"), e.getMessage());
            assertTrue(e.getMessage().contains("names.safetensors"), e.getMessage());
            assertTrue(e.getMessage().contains("'down_blocks.0.conv.weight'"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> st.buffer("missing"));
            assertThrows(IllegalArgumentException.class, () -> st.tensor("missing", backend));
        }
    }

    @Test
    void closedFileRefusesDataButTensorsMadeFromItLive() throws IOException {
        Path p = dir.resolve("closed.safetensors");
        SafeTensors.write(p, Map.of("w", backend.fromArray(new float[]{4f, 5f}, Shape.of(2))), null);
        SafeTensors st = SafeTensors.open(p);
        ByteBuffer kept = st.buffer("w");
        st.close();
        assertThrows(IllegalStateException.class, () -> st.buffer("w"));
        assertThrows(IllegalStateException.class, () -> st.tensor("w", backend));
        assertEquals(Shape.of(2), st.info("w").shape());
        assertEquals(5f, kept.getFloat(4), "buffers handed out stay mapped");
    }

    @Test
    void writerRejectsReservedAndNullNames() {
        Tensor t = backend.fromArray(new float[]{1f}, Shape.of(1));
        Path p = dir.resolve("x.safetensors");
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, Map.of("__metadata__", t), null));
        Map<String, Tensor> nullName = new LinkedHashMap<>();
        nullName.put(null, t);
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, nullName, null));
        Map<String, String> nullValue = new LinkedHashMap<>();
        nullValue.put("k", null);
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, Map.of("w", t), nullValue));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(p, Map.of("bad\uD800", t), null));
        assertFalse(Files.exists(p));
    }

    @Test
    void overwritesAnExistingFile() throws IOException {
        Path p = dir.resolve("over.safetensors");
        SafeTensors.write(p, Map.of("old", backend.fromArray(new float[]{1f}, Shape.of(1))), null);
        SafeTensors.write(p, Map.of("new", backend.fromArray(new float[]{2f}, Shape.of(1))), null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.of("new"), st.names());
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(p), files.toList(), "no temporary files left behind");
        }
    }

    @Test
    void tensorsSpreadOverSeveralMappingWindows() throws IOException {
        // 1.2 GB of data (a sparse file): "b" cannot share a 1 GiB window with "a", and "c" follows "b"
        int n = 150_000_000;
        long big = 4L * n;
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + n + "],\"data_offsets\":[0," + big + "]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[" + n + "],\"data_offsets\":[" + big + "," + 2 * big + "]},"
                + "\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + 2 * big + "," + (2 * big + 8) + "]}}";
        Path p = SafeTensorsFiles.write(dir, "windows.safetensors", SafeTensorsFiles.file(json, 0));
        long dataStart = Files.size(p);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(dataStart + 2 * big + 8);
            f.seek(dataStart + big - 4);
            f.writeInt(Integer.reverseBytes(Float.floatToIntBits(5f))); // last element of a
            f.seek(dataStart + big);
            f.writeInt(Integer.reverseBytes(Float.floatToIntBits(7f))); // first element of b
            f.seek(dataStart + 2 * big + 4);
            f.writeInt(Integer.reverseBytes(Float.floatToIntBits(9f))); // last element of c
        }
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(5f, st.buffer("a").getFloat((int) big - 4));
            assertEquals(7f, st.buffer("b").getFloat(0));
            ByteBuffer c = st.buffer("c");
            assertEquals(8, c.remaining());
            assertEquals(9f, c.getFloat(4));
        }
    }

    @Test
    void tensorsLargerThanOneWriteChunkStream() throws IOException {
        // 3 MiB of floats: several 1 MiB chunks, with a value at every position to catch chunk seams
        int n = 3 * (1 << 18) + 5;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i;
        }
        Path p = dir.resolve("big.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("big", backend.fromArray(v, Shape.of(n)));
        tensors.put("big16", backend.cast(backend.fromArray(v, Shape.of(n)), DType.BFLOAT16));
        SafeTensors.write(p, tensors, null);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertArrayEquals(v, st.tensor("big", backend).toFloatArray());
            assertArrayEquals(tensors.get("big16").toFloatArray(), st.tensor("big16", backend).toFloatArray());
        }
    }
}
