package dev.perfusion.nn;

import java.util.List;

/**
 * Every problem found while loading a state dict into a {@link Module}, reported at once: keys the module has
 * but the state dict lacks, keys the state dict has but the module lacks, values whose shape differs from the
 * parameter's, and values whose dtype is not a floating type. Each list is complete; the message prints at
 * most {@value #PRINT_LIMIT} entries of each, followed by how many were left out.
 */
public final class StateDictException extends RuntimeException {
    /** Entries printed per list in the message. */
    public static final int PRINT_LIMIT = 20;

    private final List<String> missingKeys;
    private final List<String> unexpectedKeys;
    private final List<String> shapeMismatches;
    private final List<String> dtypeMismatches;

    /**
     * @param module          the module's class name, for the message
     * @param missingKeys     parameter keys absent from the state dict
     * @param unexpectedKeys  state dict keys that name no parameter
     * @param shapeMismatches one line per bad shape: {@code key: checkpoint [a, b] vs module [c, d]}
     * @param dtypeMismatches one line per non-floating value: {@code key: INT64}
     */
    public StateDictException(String module, List<String> missingKeys, List<String> unexpectedKeys,
                              List<String> shapeMismatches, List<String> dtypeMismatches) {
        super(message(module, missingKeys, unexpectedKeys, shapeMismatches, dtypeMismatches));
        this.missingKeys = List.copyOf(missingKeys);
        this.unexpectedKeys = List.copyOf(unexpectedKeys);
        this.shapeMismatches = List.copyOf(shapeMismatches);
        this.dtypeMismatches = List.copyOf(dtypeMismatches);
    }

    /** Parameter keys the state dict lacks. */
    public List<String> missingKeys() {
        return missingKeys;
    }

    /** State dict keys that name no parameter. */
    public List<String> unexpectedKeys() {
        return unexpectedKeys;
    }

    /** One description per shape mismatch, starting with the key. */
    public List<String> shapeMismatches() {
        return shapeMismatches;
    }

    /** One description per value of a non-floating dtype, starting with the key. */
    public List<String> dtypeMismatches() {
        return dtypeMismatches;
    }

    private static String message(String module, List<String> missing, List<String> unexpected, List<String> shapes,
                                  List<String> dtypes) {
        StringBuilder sb = new StringBuilder("error(s) loading state dict into ").append(module).append(':');
        section(sb, "missing keys", missing);
        section(sb, "unexpected keys", unexpected);
        section(sb, "shape mismatches", shapes);
        section(sb, "non-float dtypes", dtypes);
        return sb.toString();
    }

    private static void section(StringBuilder sb, String title, List<String> items) {
        if (items.isEmpty()) {
            return;
        }
        sb.append("\n  ").append(items.size()).append(' ').append(title).append(':');
        int shown = Math.min(items.size(), PRINT_LIMIT);
        for (int i = 0; i < shown; i++) {
            sb.append("\n    ").append(items.get(i));
        }
        if (items.size() > shown) {
            sb.append("\n    … and ").append(items.size() - shown).append(" more");
        }
    }
}
