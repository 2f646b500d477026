package dev.perfusion.io;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.HalfFloats;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes safetensors files atomically and tensor by tensor (see {@link SafeTensors#write}).
 *
 * <p>Atomicity: the bytes go to a hidden temporary file in the target's directory (the same file system, so
 * the final rename is atomic), which is synced to disk and then moved over the target. On any failure the
 * temporary file is deleted, so a reader never sees a half-written file under the final name.
 */
final class SafeTensorsWriter {
    /** Bytes converted per write call: large enough to be efficient, small enough not to matter. */
    private static final int CHUNK_BYTES = 1 << 20;

    private SafeTensorsWriter() {
    }

    static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        if (path == null || tensors == null) {
            throw new IllegalArgumentException("path and tensors must not be null");
        }
        byte[] header = header(tensors, metadata);
        Path target = path.toAbsolutePath();
        Path temp = createTemp(target);
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(ch, prefix);
                writeFully(ch, ByteBuffer.wrap(header));
                ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                    writeTensor(ch, chunk, e.getKey(), e.getValue());
                }
                ch.force(true);
            }
            move(temp, target);
        } catch (Throwable t) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException | RuntimeException cleanup) {
                t.addSuppressed(cleanup);
            }
            throw t;
        }
        syncDirectory(target.getParent());
    }

    /** The header JSON, space-padded so that the data section starts at a multiple of 8 bytes. */
    static byte[] header(Map<String, Tensor> tensors, Map<String, String> metadata) {
        StringBuilder sb = new StringBuilder(64 + 96 * tensors.size());
        sb.append('{');
        boolean first = true;
        if (metadata != null && !metadata.isEmpty()) {
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw new IllegalArgumentException("metadata keys and values must not be null: " + e);
                }
            }
            JsonWriter.appendString(sb, SafeTensorsHeader.METADATA_KEY);
            sb.append(':');
            JsonWriter.append(sb, metadata);
            first = false;
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name == null || name.equals(SafeTensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("a tensor name must not be null or " + SafeTensorsHeader.METADATA_KEY
                        + ", got " + name);
            }
            if (t == null) {
                throw new IllegalArgumentException("tensor '" + name + "' is null");
            }
            t.checkOpen();
            long bytes = Math.multiplyExact(t.numel(), (long) t.dtype().byteSize());
            if (bytes > Integer.MAX_VALUE) {
                // SafeTensors hands out one ByteBuffer per tensor, so it could not read this file back
                throw new IllegalArgumentException("tensor '" + name + "' is " + bytes
                        + " bytes; tensors of 2 GiB or more are not supported");
            }
            if (!first) {
                sb.append(',');
            }
            first = false;
            JsonWriter.appendString(sb, name);
            sb.append(":{\"dtype\":\"").append(t.dtype().safetensorsName()).append("\",\"shape\":")
                    .append(Arrays.toString(t.shape().dims()).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        sb.append('}');
        byte[] json = sb.toString().getBytes(StandardCharsets.UTF_8);
        if (json.length > SafeTensors.MAX_HEADER_BYTES - 8) {
            throw new IllegalArgumentException("the header would be " + json.length + " bytes, over the "
                    + SafeTensors.MAX_HEADER_BYTES + "-byte limit readers enforce");
        }
        int padded = (json.length + 7) & ~7;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** Converts one tensor to little-endian bytes of its dtype, a chunk at a time. */
    private static void writeTensor(FileChannel ch, ByteBuffer chunk, String name, Tensor t) throws IOException {
        DType dtype = t.dtype();
        int n = t.shape().numelInt();
        int perChunk = CHUNK_BYTES / dtype.byteSize();
        if (dtype.isFloating()) {
            float[] v = t.toFloatArray();
            checkLength(name, v.length, n);
            for (int from = 0; from < n; from += perChunk) {
                int count = Math.min(perChunk, n - from);
                chunk.clear();
                switch (dtype) {
                    case FLOAT32 -> chunk.asFloatBuffer().put(v, from, count);
                    case FLOAT16 -> {
                        for (int i = 0; i < count; i++) {
                            chunk.putShort(2 * i, HalfFloats.floatToFp16(v[from + i]));
                        }
                    }
                    default -> {
                        for (int i = 0; i < count; i++) {
                            chunk.putShort(2 * i, HalfFloats.floatToBf16(v[from + i]));
                        }
                    }
                }
                writeFully(ch, chunk.limit(count * dtype.byteSize()));
            }
        } else {
            long[] v = t.toLongArray();
            checkLength(name, v.length, n);
            for (int from = 0; from < n; from += perChunk) {
                int count = Math.min(perChunk, n - from);
                chunk.clear();
                if (dtype == DType.INT64) {
                    chunk.asLongBuffer().put(v, from, count);
                } else {
                    for (int i = 0; i < count; i++) {
                        chunk.putInt(4 * i, Math.toIntExact(v[from + i]));
                    }
                }
                writeFully(ch, chunk.limit(count * dtype.byteSize()));
            }
        }
    }

    private static void checkLength(String name, int actual, int expected) {
        if (actual != expected) {
            // the header already promised `expected` elements; a short tensor would corrupt every offset after it
            throw new IllegalStateException("tensor '" + name + "' returned " + actual + " values for "
                    + expected + " elements");
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /**
     * A new empty file next to {@code target}. Not {@code Files.createTempFile}: that creates the file with
     * mode 0600, which the final file would keep; this one gets the usual permissions (umask).
     */
    private static Path createTemp(Path target) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path temp = target.resolveSibling("." + target.getFileName() + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16) + ".tmp");
            try {
                Files.newByteChannel(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return temp;
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 16) {
                    throw e;
                }
            }
        }
    }

    private static void move(Path temp, Path target) throws IOException {
        try {
            // rename(2) on POSIX: atomic, and replaces an existing target
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Syncs the directory so that the rename itself survives a crash. Best effort: not every platform can
     * open a directory as a channel (Windows cannot), and the file's data is already synced.
     */
    private static void syncDirectory(Path dir) {
        if (dir == null) {
            return;
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException unsupported) {
            // the write itself succeeded; only durability across a power cut is weaker here
        }
    }
}
