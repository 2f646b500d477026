package dev.perfusion.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns JMH JSON results ({@code -rf json -rff results.json}) into a Markdown table with ms/op and GFLOP/s.
 *
 * <pre>
 * java -cp target/benchmarks.jar dev.perfusion.bench.BenchReport results.json [more.json ...]
 * </pre>
 *
 * <p>FLOP counts come from {@link BenchShapes} (matmul 2MNK; conv 2·N·O·H′·W′·C·k²; attention 4·B·H·L²·D),
 * so that a shape name in the JSON means the same sizes here as in the benchmark. The "vs plain" column divides
 * each row's GFLOP/s by the plain-Java baseline's at the same op and shape (the plain row is 1.00×); when the
 * time unit is not a time per op (throughput mode) the row is printed without a FLOP rate, and single-shot
 * ({@code -bm ss}) rows are marked as such.
 */
public final class BenchReport {
    private BenchReport() {
    }

    /** One benchmark result. */
    record Row(String op, String shape, String label, String backend, double ms, double msError, long flops,
               String mode) {
        double gflops() {
            return flops / (ms * 1e6);
        }
    }

    /** Prints the Markdown table for the given JMH JSON files to standard output. */
    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: BenchReport results.json [more.json ...]");
            System.exit(2);
        }
        List<Row> rows = new ArrayList<>();
        for (String f : args) {
            rows.addAll(parse(Files.readString(Path.of(f), StandardCharsets.UTF_8)));
        }
        System.out.print(markdown(rows));
    }

    /** The rows of one JMH JSON document (an array of results). */
    static List<Row> parse(String json) {
        Object doc = new Json(json).value();
        if (!(doc instanceof List<?> results)) {
            throw new IllegalArgumentException("not a JMH JSON result: the top level is not an array");
        }
        List<Row> rows = new ArrayList<>();
        for (Object o : results) {
            Map<?, ?> r = (Map<?, ?>) o;
            String benchmark = (String) r.get("benchmark");
            String op = benchmark.substring(benchmark.lastIndexOf('.') + 1);
            Map<?, ?> params = r.get("params") instanceof Map<?, ?> p ? p : Map.of();
            String shape = String.valueOf(params.get("shape"));
            String backend = String.valueOf(params.get("backend"));
            Map<?, ?> metric = (Map<?, ?>) r.get("primaryMetric");
            double score = ((Number) metric.get("score")).doubleValue();
            double error = metric.get("scoreError") instanceof Number n ? n.doubleValue() : Double.NaN;
            double toMs = toMillis(String.valueOf(metric.get("scoreUnit")));
            long flops;
            String label;
            switch (op) {
                case "matmul" -> {
                    BenchShapes.Matmul s = BenchShapes.matmul(shape);
                    flops = s.flops();
                    label = s.label();
                }
                case "conv2d" -> {
                    BenchShapes.Conv s = BenchShapes.conv(shape);
                    flops = s.flops();
                    label = s.label();
                }
                case "attention" -> {
                    BenchShapes.Attention s = BenchShapes.attention(shape);
                    flops = s.flops();
                    label = s.label();
                }
                default -> {
                    flops = 0;
                    label = shape;
                }
            }
            rows.add(new Row(op, shape, label, backend, score * toMs, error * toMs, flops,
                    String.valueOf(r.get("mode"))));
        }
        return rows;
    }

    /** ms per unit of a JMH average-time unit, or NaN for throughput units. */
    private static double toMillis(String unit) {
        return switch (unit) {
            case "s/op" -> 1e3;
            case "ms/op" -> 1;
            case "us/op" -> 1e-3;
            case "ns/op" -> 1e-6;
            default -> Double.NaN;
        };
    }

    /** The table, grouped by op and shape, backends in the order nd4j, plain, reference. */
    static String markdown(List<Row> rows) {
        List<String> backendOrder = List.of("nd4j", "plain", "reference");
        List<String> opOrder = List.of("matmul", "conv2d", "attention");
        List<Row> sorted = new ArrayList<>(rows);
        // op, then the SD shapes (smallest first) before the scaled one, then backend
        sorted.sort(Comparator.comparingInt((Row r) -> index(opOrder, r.op()))
                .thenComparing((Row r) -> r.shape().equals(BenchShapes.SCALED))
                .thenComparingLong(Row::flops)
                .thenComparingInt(r -> index(backendOrder, r.backend())));
        Map<String, Row> plain = new LinkedHashMap<>();
        for (Row r : rows) {
            if (r.backend().equals(BenchSupport.PLAIN) && !r.mode().equals("ss")) {
                plain.put(r.op() + "/" + r.shape(), r);
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append("| op | shape | GFLOP | backend | ms/op | ± (99.9 %) | GFLOP/s | vs plain |\n");
        sb.append("|---|---|---:|---|---:|---:|---:|---:|\n");
        for (Row r : sorted) {
            Row p = plain.get(r.op() + "/" + r.shape());
            String vs = p == null || r.flops() == 0 ? "—" : String.format(Locale.ROOT, "%.2f×", p.ms() / r.ms());
            sb.append(String.format(Locale.ROOT, "| %s | %s%s | %.3f | %s | %s | %s | %s | %s |\n",
                    r.op(), r.label(), r.shape().equals(BenchShapes.SCALED) ? " *(scaled)*" : "",
                    r.flops() / 1e9, r.backend() + (r.mode().equals("ss") ? " (single shot)" : ""), num(r.ms()),
                    num(r.msError()),
                    r.flops() == 0 ? "—" : num(r.gflops()), vs));
        }
        return sb.toString();
    }

    private static int index(List<String> order, String s) {
        int i = order.indexOf(s);
        return i < 0 ? order.size() : i;
    }

    /** Three significant digits, without scientific notation for the usual ranges. */
    private static String num(double x) {
        if (Double.isNaN(x)) {
            return "—";
        }
        double a = Math.abs(x);
        String fmt = a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : a >= 0.1 ? "%.3f" : "%.4f";
        return String.format(Locale.ROOT, fmt, x);
    }

    /**
     * A minimal JSON reader (objects, arrays, strings, numbers, true/false/null): enough for JMH's output, and
     * keeps the bench module free of a JSON dependency. JMH writes {@code "NaN"} as a string for undefined errors,
     * which then simply is not a {@link Number}.
     */
    static final class Json {
        private final String s;
        private int i;

        Json(String s) {
            this.s = s;
        }

        Object value() {
            ws();
            if (i >= s.length()) {
                throw error("unexpected end");
            }
            char c = s.charAt(i);
            return switch (c) {
                case '{' -> object();
                case '[' -> array();
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> number();
            };
        }

        private Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            i++;
            ws();
            if (peek() == '}') {
                i++;
                return m;
            }
            while (true) {
                ws();
                String key = string();
                ws();
                expect(':');
                m.put(key, value());
                ws();
                if (peek() == ',') {
                    i++;
                } else {
                    expect('}');
                    return m;
                }
            }
        }

        private List<Object> array() {
            List<Object> l = new ArrayList<>();
            i++;
            ws();
            if (peek() == ']') {
                i++;
                return l;
            }
            while (true) {
                l.add(value());
                ws();
                if (peek() == ',') {
                    i++;
                } else {
                    expect(']');
                    return l;
                }
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                if (i >= s.length()) {
                    throw error("unterminated string");
                }
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' -> {
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> b.append(e); // \" \\ \/
                }
            }
        }

        private Double number() {
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
            if (start == i) {
                throw error("unexpected character '" + s.charAt(i) + "'");
            }
            return Double.valueOf(s.substring(start, i));
        }

        private Object literal(String word, Object v) {
            if (!s.startsWith(word, i)) {
                throw error("expected " + word);
            }
            i += word.length();
            return v;
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private char peek() {
            return i < s.length() ? s.charAt(i) : '\0';
        }

        private void expect(char c) {
            if (peek() != c) {
                throw error("expected '" + c + "'");
            }
            i++;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("JSON: " + what + " at offset " + i);
        }
    }
}
