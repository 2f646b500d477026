package dev.perfusion.io;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file: the header is parsed and validated when the file is opened, tensor data
 * is read lazily by the operating system as it is touched.
 *
 * <p>Format (<a href="https://github.com/huggingface/safetensors#format">safetensors</a>): an 8-byte
 * little-endian u64 header length N, N bytes of UTF-8 JSON (space-padded), then the data section. The JSON
 * maps each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}}, offsets counted from the
 * start of the data section (byte 8 + N), plus an optional {@code "__metadata__"} map of strings. Data is
 * raw, little-endian, row-major.
 *
 * <p>The file is untrusted: any malformed or unsupported content gives a {@link SafeTensorsFormatException}
 * naming the file and the problem (see {@link SafeTensorsHeader} for the rules). Headers over
 * {@link #MAX_HEADER_BYTES} are rejected before anything is read.
 *
 * <p>Memory: the data section is mapped copy-on-write ({@link FileChannel.MapMode#PRIVATE}): a backend that
 * wraps a buffer and writes into it (ND4J in-place ops) changes only this process's copy, never the file; a
 * read-only mapping would crash such writes (engine-notes §6). When the file cannot be opened for writing
 * (permissions, a read-only file system) it is mapped {@link FileChannel.MapMode#READ_ONLY} instead, and the
 * buffers report {@link ByteBuffer#isReadOnly()}: a backend that may write must then copy. Mappings are
 * released by the garbage collector once neither this object nor any tensor wrapping a buffer refers to
 * them, so {@link #close()} never leaves a dangling pointer.
 *
 * <p>Once opened, a {@code SafeTensors} is immutable and safe to share between threads. The file must not be
 * truncated or rewritten in place while it is mapped (the atomic {@link #write} replaces files by renaming,
 * which is safe): reading a mapped page past a new end of file fails with an {@link InternalError}.
 *
 * <pre>{@code
 * try (SafeTensors st = SafeTensors.open(Path.of("unet.safetensors"))) {
 *     Tensor w = st.tensor("conv_in.weight", backend);
 * }
 * }</pre>
 */
public final class SafeTensors implements AutoCloseable {
    /** Largest header accepted, as in the Rust reference implementation (100 MB). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /**
     * Largest span mapped at once when several tensors share one mapping. One {@code FileChannel.map} is at
     * most 2 GiB (a ByteBuffer is int-indexed), and a mapping per tensor would cost one kernel mapping each
     * (Linux allows 65,530 per process by default); windows of about 1 GiB keep both small.
     */
    static final long WINDOW_BYTES = 1L << 30;

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);

    /** Where a tensor's bytes live: a window of the mapping and the tensor's offset in it. */
    private record Slot(TensorInfo info, MappedByteBuffer window, int offset) {
    }

    private final String file;
    private final Map<String, String> metadata;
    private final List<String> names;
    private final boolean copyOnWrite;
    // replaced (not mutated) by close(), so that concurrent readers see one consistent map
    private volatile Map<String, Slot> slots;
    private volatile boolean closed;

    private SafeTensors(String file, SafeTensorsHeader header, Map<String, Slot> slots, boolean copyOnWrite) {
        this.file = file;
        this.metadata = header.metadata();
        this.names = List.copyOf(header.tensors().keySet());
        this.slots = slots;
        this.copyOnWrite = copyOnWrite;
    }

    /**
     * Opens, validates and maps a safetensors file. The file descriptor is closed before this returns (the
     * mappings stay valid).
     *
     * @throws SafeTensorsFormatException when the file is not a valid safetensors file
     * @throws IOException                when it cannot be read
     */
    public static SafeTensors open(Path path) throws IOException {
        String file = path.toString();
        if (Files.isDirectory(path)) {
            throw new FileSystemException(file, null, "is a directory, not a safetensors file");
        }
        boolean copyOnWrite = true;
        FileChannel channel;
        try {
            // MapMode.PRIVATE needs a channel opened for writing, though nothing is ever written
            channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw e;
        } catch (FileSystemException | UnsupportedOperationException notWritable) {
            copyOnWrite = false;
            channel = FileChannel.open(path, StandardOpenOption.READ);
        }
        try (FileChannel ch = channel) {
            long size = ch.size();
            if (size < 8) {
                throw new SafeTensorsFormatException(file, "file is " + size
                        + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, prefix, 0, file);
            long n = prefix.getLong(0);
            // n is an unsigned 64-bit value: negative here means ≥ 2^63
            if (n < 0 || n > MAX_HEADER_BYTES) {
                throw new SafeTensorsFormatException(file, "header length " + Long.toUnsignedString(n)
                        + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            }
            if (n > size - 8) {
                throw new SafeTensorsFormatException(file, "header length " + n + " is beyond the end of the file ("
                        + size + " bytes)");
            }
            if (n == 0) {
                throw new SafeTensorsFormatException(file, "header length is 0; the header must be a JSON object");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) n);
            readFully(ch, headerBytes, 8, file);
            long dataStart = 8 + n;
            SafeTensorsHeader header = SafeTensorsHeader.parse(headerBytes.array(), 0, (int) n, size - dataStart, file);
            Map<String, Slot> slots = map(ch, header, dataStart,
                    copyOnWrite ? FileChannel.MapMode.PRIVATE : FileChannel.MapMode.READ_ONLY);
            return new SafeTensors(file, header, slots, copyOnWrite);
        }
    }

    /** Maps the data section in windows of whole tensors and records each tensor's place. */
    private static Map<String, Slot> map(FileChannel ch, SafeTensorsHeader header, long dataStart,
                                         FileChannel.MapMode mode) throws IOException {
        Map<String, Slot> slots = new HashMap<>(header.tensors().size() * 2);
        List<TensorInfo> pending = new ArrayList<>();
        long windowStart = 0;
        long windowEnd = 0;
        for (TensorInfo t : header.byOffset()) {
            if (t.byteSize() == 0) {
                slots.put(t.name(), new Slot(t, null, 0));
                continue;
            }
            if (!pending.isEmpty() && t.end() - windowStart > WINDOW_BYTES) {
                mapWindow(ch, mode, dataStart, windowStart, windowEnd, pending, slots);
                pending.clear();
            }
            if (pending.isEmpty()) {
                windowStart = t.begin();
            }
            pending.add(t);
            windowEnd = t.end();
        }
        if (!pending.isEmpty()) {
            mapWindow(ch, mode, dataStart, windowStart, windowEnd, pending, slots);
        }
        return slots;
    }

    private static void mapWindow(FileChannel ch, FileChannel.MapMode mode, long dataStart, long windowStart,
                                  long windowEnd, List<TensorInfo> tensors, Map<String, Slot> slots) throws IOException {
        // at most max(WINDOW_BYTES, one tensor < 2 GiB): fits an int
        MappedByteBuffer window = ch.map(mode, dataStart + windowStart, windowEnd - windowStart);
        for (TensorInfo t : tensors) {
            slots.put(t.name(), new Slot(t, window, (int) (t.begin() - windowStart)));
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position, String file) throws IOException {
        long p = position;
        while (dst.hasRemaining()) {
            int read = ch.read(dst, p);
            if (read < 0) {
                // the file shrank after its size was read
                throw new SafeTensorsFormatException(file, "unexpected end of file at byte " + p);
            }
            p += read;
        }
    }

    // ------------------------------------------------------------------ reading

    /** The {@code __metadata__} map (empty when the file has none), unmodifiable. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in header order, unmodifiable. */
    public List<String> names() {
        return names;
    }

    /** Number of tensors. */
    public int size() {
        return names.size();
    }

    /** True when the file has a tensor called {@code name}. */
    public boolean contains(String name) {
        return slots.containsKey(name);
    }

    /**
     * A tensor's dtype, shape and offsets.
     *
     * @throws IllegalArgumentException for an unknown name (the message lists similar names)
     */
    public TensorInfo info(String name) {
        return slot(name).info();
    }

    /**
     * The tensor's bytes: a little-endian buffer of exactly {@code info(name).byteSize()} bytes, position 0,
     * sharing the mapping (no copy). Each call returns a new buffer object, so callers do not disturb each
     * other's position. Do not write into it: with a copy-on-write mapping a write changes what later calls
     * on this object see (never the file); with a read-only mapping it throws.
     *
     * @throws IllegalArgumentException for an unknown name
     * @throws IllegalStateException    after {@link #close()}
     */
    public ByteBuffer buffer(String name) {
        checkOpen();
        Slot slot = slot(name);
        if (slot.window() == null) {
            if (slot.info().byteSize() > 0) {
                // released by a close() that ran after the check above
                throw new IllegalStateException(file + " is closed");
            }
            return EMPTY.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        return slot.window().slice(slot.offset(), (int) slot.info().byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The tensor on {@code backend}, made by {@link Backend#fromBytes}: the backend copies the bytes or wraps
     * them (keeping the mapping alive as long as the tensor).
     *
     * @throws IllegalArgumentException for an unknown name
     * @throws IllegalStateException    after {@link #close()}
     */
    public Tensor tensor(String name, Backend backend) {
        TensorInfo info = info(name);
        return backend.fromBytes(buffer(name), info.dtype(), info.shape());
    }

    /**
     * True when the data is mapped copy-on-write (the file could be opened for writing); false when it is
     * mapped read-only and {@link #buffer} returns read-only buffers.
     */
    public boolean isCopyOnWrite() {
        return copyOnWrite;
    }

    /** The file, as given to {@link #open}. */
    public String file() {
        return file;
    }

    /**
     * Drops this object's references to the mappings; {@link #buffer} and {@link #tensor} then fail. Tensors
     * made from it stay valid: the memory is unmapped by the garbage collector once nothing refers to it.
     */
    @Override
    public void close() {
        closed = true;
        // the mappings are referenced only from the slots' windows and from buffers handed out
        Map<String, Slot> released = new HashMap<>(slots.size() * 2);
        slots.forEach((name, slot) -> released.put(name, new Slot(slot.info(), null, 0)));
        slots = released;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(file + " is closed");
        }
    }

    private Slot slot(String name) {
        Slot slot = slots.get(name);
        if (slot == null) {
            throw new IllegalArgumentException("no tensor " + JsonReader.quoteForMessage(String.valueOf(name))
                    + " in " + file + " (" + names.size() + " tensors" + similarNames(String.valueOf(name)) + ")");
        }
        return slot;
    }

    /** Up to five names sharing the longest prefix with {@code name}, for a helpful error. */
    private String similarNames(String name) {
        if (names.isEmpty()) {
            return "";
        }
        List<String> sorted = new ArrayList<>(names);
        sorted.sort(Comparator.comparingInt((String n) -> -commonPrefix(n, name)).thenComparing(n -> n));
        List<String> shown = sorted.subList(0, Math.min(5, sorted.size()));
        StringBuilder sb = new StringBuilder(", e.g. ");
        for (int i = 0; i < shown.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(JsonReader.quoteForMessage(shown.get(i)));
        }
        return sb.toString();
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }

    // ------------------------------------------------------------------ writing

    /**
     * Writes {@code tensors} (in the map's iteration order, e.g. a {@code LinkedHashMap}) and {@code metadata}
     * (may be null or empty: then no {@code __metadata__} is written) to {@code path}, atomically: the file
     * appears under its name complete and synced, or not at all, and an existing file is replaced only on
     * success. Tensors are written one at a time, so the file is never held in memory.
     *
     * <p>F32 data comes from {@link Tensor#toFloatArray()}, F16/BF16 from the same widened floats narrowed
     * back (exact, except that NaN payloads are canonicalised), I32/I64 from {@link Tensor#toLongArray()}.
     *
     * @throws IllegalArgumentException for a null or reserved ({@code __metadata__}) name, a null tensor or
     *                                  metadata entry, or a string with an unpaired surrogate
     * @throws IOException              when writing fails (the target is left untouched)
     */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        SafeTensorsWriter.write(path, tensors, metadata);
    }
}
