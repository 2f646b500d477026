package dev.perfusion.io;

import java.util.List;
import java.util.Map;

/**
 * Writes the JSON that {@link JsonReader} reads back: compact, no whitespace, non-ASCII characters kept as
 * themselves (the output is meant to be encoded as UTF-8). Used for safetensors headers and for JSON values
 * stored in safetensors metadata.
 */
public final class JsonWriter {
    private JsonWriter() {
    }

    /**
     * A value as JSON: {@code Map} (keys must be strings; iteration order kept), {@code List}, {@code String},
     * {@code Boolean}, integral {@code Number}s ({@code Long}, {@code Integer}, …), finite {@code Double} and
     * {@code Float}, and null or {@link JsonReader#NULL} for JSON null.
     *
     * @throws IllegalArgumentException for a non-finite number, an unsupported type, or a string with an
     *                                  unpaired surrogate (it has no UTF-8 encoding)
     */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        append(sb, value);
        return sb.toString();
    }

    /** Appends {@code value} as JSON (see {@link #write}). */
    public static void append(StringBuilder sb, Object value) {
        if (value == null || value == JsonReader.NULL) {
            sb.append("null");
        } else if (value instanceof String s) {
            appendString(sb, s);
        } else if (value instanceof Boolean b) {
            sb.append(b.booleanValue());
        } else if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte) {
            sb.append(((Number) value).longValue());
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (!Double.isFinite(d)) {
                throw new IllegalArgumentException("JSON has no representation for " + d);
            }
            // Java's shortest round-trip decimal; its "1.0E10" form is valid JSON too
            sb.append(value instanceof Float f ? Float.toString(f) : Double.toString(d));
        } else if (value instanceof Map<?, ?> map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("JSON object keys must be strings, got " + e.getKey());
                }
                if (!first) {
                    sb.append(',');
                }
                first = false;
                appendString(sb, key);
                sb.append(':');
                append(sb, e.getValue());
            }
            sb.append('}');
        } else if (value instanceof List<?> list) {
            sb.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                append(sb, list.get(i));
            }
            sb.append(']');
        } else {
            throw new IllegalArgumentException("cannot write a " + value.getClass().getName() + " as JSON");
        }
    }

    /** Appends {@code s} as a quoted JSON string, escaping quotes, backslashes and control characters. */
    public static void appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                            && Character.isLowSurrogate(s.charAt(i + 1))) {
                        sb.append(c).append(s.charAt(++i));
                    } else if (Character.isSurrogate(c)) {
                        throw new IllegalArgumentException("string has an unpaired surrogate U+"
                                + String.format("%04X", (int) c) + " at index " + i);
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
