package dev.perfusion.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A diffusers / transformers {@code config.json}, with typed accessors whose errors name the file and the key.
 * Keys the caller does not ask for are ignored (configs carry bookkeeping such as {@code _diffusers_version}).
 */
public final class DiffusersConfig {
    private final Map<String, Object> values;
    private final String source;

    private DiffusersConfig(Map<String, Object> values, String source) {
        this.values = values;
        this.source = source;
    }

    /** Reads {@code dir/config.json} (or the file itself when {@code path} is a file). */
    public static DiffusersConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("missing config file " + file);
        }
        return parse(text, file.toString());
    }

    /** Parses config JSON text; {@code source} names it in errors. */
    @SuppressWarnings("unchecked")
    public static DiffusersConfig parse(String json, String source) {
        Object root;
        try {
            root = JsonReader.parse(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("malformed JSON in " + source + ": " + e.getMessage(), e);
        }
        if (!(root instanceof Map)) {
            throw new IllegalArgumentException(source + " is not a JSON object");
        }
        return new DiffusersConfig((Map<String, Object>) root, source);
    }

    /** Where this config came from. */
    public String source() {
        return source;
    }

    /** True when the key is present and not null. */
    public boolean has(String key) {
        Object v = values.get(key);
        return v != null && v != JsonReader.NULL;
    }

    /** The raw value (Map, List, String, Long, Double, Boolean), or null. */
    public Object raw(String key) {
        Object v = values.get(key);
        return v == JsonReader.NULL ? null : v;
    }

    public int requireInt(String key) {
        if (!has(key)) {
            throw new IllegalArgumentException(source + ": missing required key '" + key + "'");
        }
        return toInt(key, raw(key));
    }

    public int intValue(String key, int defaultValue) {
        return has(key) ? toInt(key, raw(key)) : defaultValue;
    }

    public double doubleValue(String key, double defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        Object v = raw(key);
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw new IllegalArgumentException(source + ": '" + key + "' must be a number, got " + v);
    }

    public boolean boolValue(String key, boolean defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        Object v = raw(key);
        if (v instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException(source + ": '" + key + "' must be true or false, got " + v);
    }

    public String string(String key, String defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        Object v = raw(key);
        if (v instanceof String s) {
            return s;
        }
        throw new IllegalArgumentException(source + ": '" + key + "' must be a string, got " + v);
    }

    /** A list of ints; a single int is accepted as a one-element list (diffusers allows both for some keys). */
    public List<Integer> intList(String key, List<Integer> defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        Object v = raw(key);
        List<Integer> out = new ArrayList<>();
        if (v instanceof List<?> list) {
            for (Object o : list) {
                out.add(toInt(key, o));
            }
        } else {
            out.add(toInt(key, v));
        }
        return List.copyOf(out);
    }

    public List<String> stringList(String key, List<String> defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        Object v = raw(key);
        if (!(v instanceof List<?> list)) {
            throw new IllegalArgumentException(source + ": '" + key + "' must be a list of strings, got " + v);
        }
        List<String> out = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof String s)) {
                throw new IllegalArgumentException(source + ": '" + key + "' must be a list of strings, got element " + o);
            }
            out.add(s);
        }
        return List.copyOf(out);
    }

    private int toInt(String key, Object v) {
        if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) {
            return (int) (long) l;
        }
        if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < Integer.MAX_VALUE) {
            return (int) (double) d;
        }
        throw new IllegalArgumentException(source + ": '" + key + "' must be an integer, got " + v);
    }
}
