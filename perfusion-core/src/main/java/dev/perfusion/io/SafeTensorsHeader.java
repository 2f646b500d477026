package dev.perfusion.io;

import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.perfusion.io.JsonReader.quoteForMessage;

/**
 * Parses and validates a safetensors header, which is untrusted input. After {@link #parse} returns, every
 * tensor has a supported dtype, a shape whose byte size matches its offsets, and the tensors tile the data
 * section exactly: no overlaps, no holes, nothing after the last one (as the Rust reference implementation
 * requires).
 *
 * <p>The header is read with the structure it must have (see {@link JsonReader}), so nothing is allocated
 * for content that is not part of the format, and memory stays proportional to the number of tensors.
 */
final class SafeTensorsHeader {
    /** The reserved key of the string-to-string metadata map. */
    static final String METADATA_KEY = "__metadata__";

    /**
     * Highest rank accepted. NumPy 2 allows 64 axes; no model tensor comes close, and the cap keeps a hostile
     * header from building shapes of millions of axes.
     */
    static final int MAX_RANK = 64;

    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors;
    private final List<TensorInfo> byOffset;

    private SafeTensorsHeader(Map<String, String> metadata, Map<String, TensorInfo> tensors, List<TensorInfo> byOffset) {
        this.metadata = metadata;
        this.tensors = tensors;
        this.byOffset = byOffset;
    }

    /** The {@code __metadata__} map (empty when absent), in header order, unmodifiable. */
    Map<String, String> metadata() {
        return metadata;
    }

    /** The tensors in header order, unmodifiable. */
    Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The tensors in data order (by begin offset, then end), unmodifiable. */
    List<TensorInfo> byOffset() {
        return byOffset;
    }

    /** A problem with the header's content; turned into a {@link SafeTensorsFormatException} by {@link #parse}. */
    private static final class Problem extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Problem(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Parses {@code length} bytes of header JSON from {@code header[offset]} and validates it against a data
     * section of {@code dataLength} bytes.
     *
     * @param file named in error messages
     * @throws SafeTensorsFormatException for anything that is not a valid header
     */
    static SafeTensorsHeader parse(byte[] header, int offset, int length, long dataLength, String file)
            throws SafeTensorsFormatException {
        JsonReader reader = new JsonReader(header, offset, length);
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        try {
            if (length == 0 || reader.peek() != JsonReader.Kind.OBJECT) {
                throw new Problem("header is not a JSON object"
                        + (length == 0 ? " (it is empty)" : " (found " + reader.peek().article() + ")"));
            }
            reader.forEachMember(name -> {
                if (name.equals(METADATA_KEY)) {
                    readMetadata(reader, metadata);
                } else {
                    // the JSON reader has already rejected a duplicate key
                    tensors.put(name, readTensor(reader, name, dataLength));
                }
            });
            reader.endOfInput();
        } catch (JsonReader.MalformedJsonException e) {
            throw new SafeTensorsFormatException(file, "malformed header JSON: " + e.getMessage());
        } catch (Problem p) {
            throw new SafeTensorsFormatException(file, p.getMessage());
        }
        List<TensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        checkTiling(byOffset, dataLength, file);
        return new SafeTensorsHeader(Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors),
                Collections.unmodifiableList(byOffset));
    }

    private static void readMetadata(JsonReader reader, Map<String, String> metadata) {
        JsonReader.Kind kind = reader.peek();
        if (kind != JsonReader.Kind.OBJECT) {
            throw new Problem(METADATA_KEY + " must be an object of strings, found " + kind.article());
        }
        reader.forEachMember(key -> {
            JsonReader.Kind valueKind = reader.peek();
            if (valueKind != JsonReader.Kind.STRING) {
                throw new Problem(METADATA_KEY + " value for key " + quoteForMessage(key)
                        + " must be a string, found " + valueKind.article());
            }
            metadata.put(key, reader.readString());
        });
    }

    /** Reads one {@code {"dtype", "shape", "data_offsets"}} entry and checks it on its own. */
    private static TensorInfo readTensor(JsonReader reader, String name, long dataLength) {
        String what = "tensor " + quoteForMessage(name);
        JsonReader.Kind kind = reader.peek();
        if (kind != JsonReader.Kind.OBJECT) {
            throw new Problem(what + ": expected an object with dtype, shape and data_offsets, found "
                    + kind.article());
        }
        DType[] dtype = {null};
        long[][] shape = {null};
        long[][] offsets = {null};
        reader.forEachMember(key -> {
            switch (key) {
                case "dtype" -> dtype[0] = readDType(reader, what);
                case "shape" -> shape[0] = readIntegers(reader, what + ": shape", MAX_RANK);
                case "data_offsets" -> offsets[0] = readIntegers(reader, what + ": data_offsets", 2);
                default -> throw new Problem(what + ": unknown key " + quoteForMessage(key)
                        + " (expected dtype, shape and data_offsets)");
            }
        });
        if (dtype[0] == null) {
            throw new Problem(what + ": missing dtype");
        }
        if (shape[0] == null) {
            throw new Problem(what + ": missing shape");
        }
        if (offsets[0] == null) {
            throw new Problem(what + ": missing data_offsets");
        }
        long[] dims = shape[0];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new Problem(what + ": negative shape dimension " + dims[i] + " at axis " + i);
            }
            if (dims[i] > Integer.MAX_VALUE) {
                throw new Problem(what + ": shape dimension " + dims[i] + " at axis " + i
                        + " is too large (at most " + Integer.MAX_VALUE + ")");
            }
        }
        if (offsets[0].length != 2) {
            throw new Problem(what + ": data_offsets must be [begin, end], found " + offsets[0].length + " element"
                    + (offsets[0].length == 1 ? "" : "s"));
        }
        long begin = offsets[0][0];
        long end = offsets[0][1];
        if (begin < 0 || end < 0) {
            throw new Problem(what + ": negative data_offsets [" + begin + ", " + end + "]");
        }
        if (begin > end) {
            throw new Problem(what + ": data_offsets begin " + begin + " is greater than end " + end);
        }
        Shape s = Shape.ofLongs(dims);
        long bytes = byteSize(dims, dtype[0], what);
        if (bytes != end - begin) {
            throw new Problem(what + ": shape " + s + " of " + dtype[0].safetensorsName() + " needs " + bytes
                    + " bytes but data_offsets [" + begin + ", " + end + "] span " + (end - begin));
        }
        if (end > dataLength) {
            throw new Problem(what + ": data_offsets end " + end + " is beyond the end of the data section ("
                    + dataLength + " bytes)");
        }
        if (bytes > Integer.MAX_VALUE) {
            // one ByteBuffer is int-indexed; SD's largest tensor is 151 MB
            throw new Problem(what + " is " + bytes + " bytes; tensors of 2 GiB or more are not supported");
        }
        return new TensorInfo(name, dtype[0], s, begin, end);
    }

    private static DType readDType(JsonReader reader, String what) {
        JsonReader.Kind kind = reader.peek();
        if (kind != JsonReader.Kind.STRING) {
            throw new Problem(what + ": dtype must be a string, found " + kind.article());
        }
        String name = reader.readString();
        try {
            return DType.fromSafetensorsName(name);
        } catch (IllegalArgumentException e) {
            throw new Problem(what + ": unsupported dtype " + quoteForMessage(name)
                    + " (supported: F32, F16, BF16, I32, I64)");
        }
    }

    /** Reads an array of at most {@code max} integers. */
    private static long[] readIntegers(JsonReader reader, String what, int max) {
        JsonReader.Kind kind = reader.peek();
        if (kind != JsonReader.Kind.ARRAY) {
            throw new Problem(what + " must be an array of integers, found " + kind.article());
        }
        long[] values = new long[max];
        int[] count = {0};
        reader.forEachElement(index -> {
            if (index >= max) {
                throw new Problem(what + " has more than " + max + " elements");
            }
            JsonReader.Kind elementKind = reader.peek();
            if (elementKind != JsonReader.Kind.NUMBER) {
                throw new Problem(what + "[" + index + "] must be an integer, found " + elementKind.article());
            }
            try {
                values[index] = reader.readLong();
            } catch (JsonReader.MalformedJsonException e) {
                throw new Problem(what + "[" + index + "]: " + e.getMessage());
            }
            count[0] = index + 1;
        });
        return java.util.Arrays.copyOf(values, count[0]);
    }

    /** numel · dtype size, failing when it overflows a long. */
    private static long byteSize(long[] dims, DType dtype, String what) {
        try {
            long n = dtype.byteSize();
            for (long d : dims) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        } catch (ArithmeticException overflow) {
            throw new Problem(what + ": shape " + java.util.Arrays.toString(dims) + " of " + dtype.safetensorsName()
                    + " is too large (its byte size overflows a 64-bit integer)");
        }
    }

    /** Checks that the tensors, sorted by offset, cover [0, dataLength) exactly once. */
    private static void checkTiling(List<TensorInfo> byOffset, long dataLength, String file)
            throws SafeTensorsFormatException {
        long covered = 0;
        TensorInfo previous = null;
        for (TensorInfo t : byOffset) {
            if (t.begin() < covered) {
                throw new SafeTensorsFormatException(file, "tensors " + quoteForMessage(previous.name()) + " "
                        + range(previous) + " and " + quoteForMessage(t.name()) + " " + range(t) + " overlap");
            }
            if (t.begin() > covered) {
                throw new SafeTensorsFormatException(file, "the data section has a hole at [" + covered + ", "
                        + t.begin() + ") " + (previous == null ? "before the first tensor "
                        : "between tensors " + quoteForMessage(previous.name()) + " and ") + quoteForMessage(t.name()));
            }
            covered = t.end();
            // a zero-size tensor does not advance coverage, so it is not the "previous" for overlap messages
            if (t.byteSize() > 0 || previous == null) {
                previous = t;
            }
        }
        if (covered != dataLength) {
            throw new SafeTensorsFormatException(file, "the data section has a hole at [" + covered + ", "
                    + dataLength + "): " + (dataLength - covered) + " bytes "
                    + (previous == null ? "and no tensors" : "after the last tensor " + quoteForMessage(previous.name())));
        }
    }

    private static String range(TensorInfo t) {
        return "[" + t.begin() + ", " + t.end() + ")";
    }
}
