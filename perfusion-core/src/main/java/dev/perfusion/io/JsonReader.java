package dev.perfusion.io;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small, strict JSON (RFC 8259) reader over UTF-8 bytes, written for untrusted input such as safetensors
 * headers. No JSON library is used so that the core module stays free of dependencies.
 *
 * <p>The caller drives the parse with the structure it expects: {@link #forEachMember} walks an object,
 * {@link #forEachElement} an array, and the {@code read…} methods consume one scalar. Driving the parse from
 * the expected structure means nothing is built that the caller will not keep, so memory stays proportional
 * to what the caller stores. {@link #readValue()} builds a generic tree for small documents (JSON strings
 * kept in safetensors metadata, for example).
 *
 * <p>Strictness: exactly the RFC grammar (no comments, no trailing commas, no leading zeros, no NaN);
 * strings must be valid UTF-8 without raw control characters; {@code \}{@code uXXXX} escapes must form
 * valid UTF-16 (no lone surrogates); duplicate keys in one object are rejected; objects and arrays nest at
 * most {@link #MAX_DEPTH} deep, so hostile input cannot overflow the stack. Every violation is a
 * {@link MalformedJsonException} carrying the byte offset.
 *
 * <pre>{@code
 * JsonReader r = new JsonReader(bytes, 0, bytes.length);
 * r.forEachMember(name -> System.out.println(name + " = " + r.readString()));
 * r.endOfInput();
 * }</pre>
 */
public final class JsonReader {
    /** Deepest nesting of objects and arrays accepted. */
    public static final int MAX_DEPTH = 64;

    /** The JSON value kinds, as seen by {@link #peek()}. */
    public enum Kind {
        OBJECT, ARRAY, STRING, NUMBER, BOOLEAN, NULL;

        /** "an object", "a string", …: for error messages. */
        public String article() {
            return switch (this) {
                case OBJECT -> "an object";
                case ARRAY -> "an array";
                case STRING -> "a string";
                case NUMBER -> "a number";
                case BOOLEAN -> "a boolean";
                case NULL -> "null";
            };
        }
    }

    /** Reads the value of one object member; {@code name} has been consumed, the value must be. */
    @FunctionalInterface
    public interface MemberReader {
        void read(String name);
    }

    /** Reads one array element; it must consume exactly one value. */
    @FunctionalInterface
    public interface ElementReader {
        void read(int index);
    }

    /** Invalid JSON, with the byte offset (from the start of the parsed range) where it was noticed. */
    public static final class MalformedJsonException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        private final int offset;

        MalformedJsonException(String message, int offset) {
            super(message + " at byte " + offset);
            this.offset = offset;
        }

        /** Byte offset of the problem, counted from the start of the parsed range. */
        public int offset() {
            return offset;
        }
    }

    /** Marker for JSON {@code null} in {@link #readValue()} trees (a Java null would be ambiguous in maps). */
    public static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    private final byte[] in;
    private final int start;
    private final int end;
    private int pos;
    private int depth;
    // strict decoder for the non-ASCII runs of strings; the JDK's UTF-8 decoder rejects overlong forms,
    // encoded surrogates and code points above U+10FFFF
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);

    /** A reader over {@code length} bytes of {@code utf8} from {@code offset}; the array is not copied. */
    public JsonReader(byte[] utf8, int offset, int length) {
        if (offset < 0 || length < 0 || offset > utf8.length - length) {
            throw new IndexOutOfBoundsException("range " + offset + "+" + length + " of " + utf8.length + " bytes");
        }
        this.in = utf8;
        this.start = offset;
        this.end = offset + length;
        this.pos = offset;
    }

    /** Parses a whole JSON document into a tree (see {@link #readValue()}). */
    public static Object parse(String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        JsonReader r = new JsonReader(b, 0, b.length);
        Object v = r.readValue();
        r.endOfInput();
        return v;
    }

    /** Current byte offset from the start of the parsed range. */
    public int offset() {
        return pos - start;
    }

    // ------------------------------------------------------------------ structure

    /** The kind of the next value (whitespace skipped); fails at the end of input or on a stray character. */
    public Kind peek() {
        skipWhitespace();
        if (pos >= end) {
            throw error("unexpected end of input, expected a value");
        }
        int c = in[pos] & 0xff;
        return switch (c) {
            case '{' -> Kind.OBJECT;
            case '[' -> Kind.ARRAY;
            case '"' -> Kind.STRING;
            case 't', 'f' -> Kind.BOOLEAN;
            case 'n' -> Kind.NULL;
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    yield Kind.NUMBER;
                }
                throw error("unexpected " + describe(c) + ", expected a value");
            }
        };
    }

    /**
     * Reads an object, calling {@code member} once per member in document order. Duplicate keys are
     * rejected before {@code member} sees them.
     */
    public void forEachMember(MemberReader member) {
        expectKind(Kind.OBJECT, "an object");
        enter();
        pos++; // '{'
        skipWhitespace();
        if (pos < end && in[pos] == '}') {
            pos++;
            depth--;
            return;
        }
        Set<String> seen = new HashSet<>();
        while (true) {
            skipWhitespace();
            if (pos >= end || in[pos] != '"') {
                throw error(pos >= end ? "unexpected end of input, expected an object key"
                        : "unexpected " + describe(in[pos] & 0xff) + ", expected an object key");
            }
            int keyOffset = offset();
            String name = parseString();
            if (!seen.add(name)) {
                throw new MalformedJsonException("duplicate key " + quoteForMessage(name), keyOffset);
            }
            skipWhitespace();
            expectByte(':', "':' after an object key");
            member.read(name);
            skipWhitespace();
            if (pos < end && in[pos] == ',') {
                pos++;
                continue;
            }
            expectByte('}', "',' or '}' in an object");
            depth--;
            return;
        }
    }

    /** Reads an array, calling {@code element} once per element. */
    public void forEachElement(ElementReader element) {
        expectKind(Kind.ARRAY, "an array");
        enter();
        pos++; // '['
        skipWhitespace();
        if (pos < end && in[pos] == ']') {
            pos++;
            depth--;
            return;
        }
        for (int index = 0; ; index++) {
            element.read(index);
            skipWhitespace();
            if (pos < end && in[pos] == ',') {
                pos++;
                continue;
            }
            expectByte(']', "',' or ']' in an array");
            depth--;
            return;
        }
    }

    /** Checks that only whitespace is left. */
    public void endOfInput() {
        skipWhitespace();
        if (pos < end) {
            throw error("unexpected " + describe(in[pos] & 0xff) + " after the end of the JSON value");
        }
    }

    // ------------------------------------------------------------------ scalars

    /** Reads a string. */
    public String readString() {
        expectKind(Kind.STRING, "a string");
        return parseString();
    }

    /**
     * Reads an integer in the range of a {@code long}. A number with a fraction or an exponent
     * ({@code 1.0}, {@code 1e3}) is rejected, as is one beyond ±2^63.
     */
    public long readLong() {
        expectKind(Kind.NUMBER, "an integer");
        int numberStart = pos;
        boolean integral = scanNumber();
        String text = new String(in, numberStart, pos - numberStart, StandardCharsets.ISO_8859_1);
        if (!integral) {
            throw new MalformedJsonException("expected an integer, found " + abbreviate(text), numberStart - start);
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new MalformedJsonException("integer " + abbreviate(text) + " is out of range (beyond ±2^63)",
                    numberStart - start);
        }
    }

    /** Reads any number as a double (large magnitudes become infinite). */
    public double readDouble() {
        expectKind(Kind.NUMBER, "a number");
        int numberStart = pos;
        scanNumber();
        // the JSON number grammar is a subset of Java's floating literal grammar
        return Double.parseDouble(new String(in, numberStart, pos - numberStart, StandardCharsets.ISO_8859_1));
    }

    /** Reads {@code true} or {@code false}. */
    public boolean readBoolean() {
        expectKind(Kind.BOOLEAN, "a boolean");
        if (matchLiteral("true")) {
            return true;
        }
        if (matchLiteral("false")) {
            return false;
        }
        throw error("invalid literal, expected true or false");
    }

    /** Reads {@code null}. */
    public void readNull() {
        expectKind(Kind.NULL, "null");
        if (!matchLiteral("null")) {
            throw error("invalid literal, expected null");
        }
    }

    /**
     * Reads any value as a tree: objects become insertion-ordered unmodifiable {@code Map<String, Object>},
     * arrays unmodifiable {@code List<Object>}, strings {@code String}, integers that fit {@code Long}, other
     * numbers {@code Double}, booleans {@code Boolean}, and null {@link #NULL}.
     */
    public Object readValue() {
        return switch (peek()) {
            case OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                forEachMember(name -> map.put(name, readValue()));
                yield Collections.unmodifiableMap(map);
            }
            case ARRAY -> {
                List<Object> list = new ArrayList<>();
                forEachElement(i -> list.add(readValue()));
                yield Collections.unmodifiableList(list);
            }
            case STRING -> parseString();
            case NUMBER -> {
                int numberStart = pos;
                boolean integral = scanNumber();
                String text = new String(in, numberStart, pos - numberStart, StandardCharsets.ISO_8859_1);
                if (integral) {
                    try {
                        yield Long.parseLong(text);
                    } catch (NumberFormatException tooBig) {
                        // falls through to a double, as JavaScript would read it
                    }
                }
                yield Double.parseDouble(text);
            }
            case BOOLEAN -> readBoolean();
            case NULL -> {
                readNull();
                yield NULL;
            }
        };
    }

    // ------------------------------------------------------------------ lexing

    private void enter() {
        if (depth >= MAX_DEPTH) {
            throw error("nesting deeper than " + MAX_DEPTH + " levels");
        }
        depth++;
    }

    private void expectKind(Kind kind, String what) {
        Kind actual = peek();
        if (actual != kind) {
            throw error("expected " + what + ", found " + actual.article());
        }
    }

    private void expectByte(char c, String what) {
        if (pos >= end) {
            throw error("unexpected end of input, expected " + what);
        }
        if (in[pos] != c) {
            throw error("unexpected " + describe(in[pos] & 0xff) + ", expected " + what);
        }
        pos++;
    }

    private void skipWhitespace() {
        while (pos < end) {
            byte b = in[pos];
            if (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
                pos++;
            } else {
                return;
            }
        }
    }

    private boolean matchLiteral(String literal) {
        int n = literal.length();
        if (end - pos < n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (in[pos + i] != literal.charAt(i)) {
                return false;
            }
        }
        pos += n;
        return true;
    }

    /**
     * Consumes one number per the RFC grammar {@code -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?}.
     *
     * @return true when it has neither fraction nor exponent
     */
    private boolean scanNumber() {
        if (in[pos] == '-') {
            pos++;
        }
        if (pos >= end || !isDigit(in[pos])) {
            throw error("invalid number, expected a digit");
        }
        if (in[pos] == '0') {
            pos++;
            if (pos < end && isDigit(in[pos])) {
                throw error("invalid number, leading zeros are not allowed");
            }
        } else {
            skipDigits();
        }
        boolean integral = true;
        if (pos < end && in[pos] == '.') {
            pos++;
            if (pos >= end || !isDigit(in[pos])) {
                throw error("invalid number, expected a digit after '.'");
            }
            skipDigits();
            integral = false;
        }
        if (pos < end && (in[pos] == 'e' || in[pos] == 'E')) {
            pos++;
            if (pos < end && (in[pos] == '+' || in[pos] == '-')) {
                pos++;
            }
            if (pos >= end || !isDigit(in[pos])) {
                throw error("invalid number, expected a digit in the exponent");
            }
            skipDigits();
            integral = false;
        }
        return integral;
    }

    private void skipDigits() {
        while (pos < end && isDigit(in[pos])) {
            pos++;
        }
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    /** Parses a string starting at the opening quote. */
    private String parseString() {
        int stringStart = pos;
        pos++; // opening quote
        StringBuilder sb = null;
        while (true) {
            // a run of plain bytes; '"' and '\' never occur inside a multi-byte UTF-8 sequence
            int runStart = pos;
            boolean ascii = true;
            while (pos < end) {
                int b = in[pos] & 0xff;
                if (b == '"' || b == '\\') {
                    break;
                }
                if (b < 0x20) {
                    throw error("control character " + describe(b) + " in a string (must be escaped)");
                }
                if (b >= 0x80) {
                    ascii = false;
                }
                pos++;
            }
            if (pos >= end) {
                throw new MalformedJsonException("unterminated string", stringStart - start);
            }
            String run = ascii
                    ? new String(in, runStart, pos - runStart, StandardCharsets.ISO_8859_1)
                    : decodeUtf8(runStart, pos - runStart);
            if (in[pos] == '"' && sb == null) {
                pos++;
                return run; // common case: no escapes
            }
            if (sb == null) {
                sb = new StringBuilder(run.length() + 16);
            }
            sb.append(run);
            if (in[pos] == '"') {
                pos++;
                return sb.toString();
            }
            parseEscape(sb);
        }
    }

    private String decodeUtf8(int offset, int length) {
        try {
            utf8.reset();
            CharBuffer chars = utf8.decode(ByteBuffer.wrap(in, offset, length));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new MalformedJsonException("invalid UTF-8 in a string", offset - start);
        }
    }

    /** Parses one escape sequence starting at the backslash; a surrogate pair is read as one unit. */
    private void parseEscape(StringBuilder sb) {
        int escapeStart = pos;
        pos++; // backslash
        if (pos >= end) {
            throw new MalformedJsonException("unterminated escape sequence", escapeStart - start);
        }
        byte c = in[pos++];
        switch (c) {
            case '"' -> sb.append('"');
            case '\\' -> sb.append('\\');
            case '/' -> sb.append('/');
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case 'u' -> {
                char unit = parseHex4(escapeStart);
                if (Character.isLowSurrogate(unit)) {
                    throw new MalformedJsonException("lone low surrogate \\u" + hex(unit), escapeStart - start);
                }
                if (Character.isHighSurrogate(unit)) {
                    // must be followed by an escaped low surrogate
                    int pairStart = pos;
                    if (end - pos < 2 || in[pos] != '\\' || in[pos + 1] != 'u') {
                        throw new MalformedJsonException("high surrogate \\u" + hex(unit)
                                + " not followed by a low surrogate escape", escapeStart - start);
                    }
                    pos += 2;
                    char low = parseHex4(pairStart);
                    if (!Character.isLowSurrogate(low)) {
                        throw new MalformedJsonException("high surrogate \\u" + hex(unit)
                                + " followed by \\u" + hex(low) + ", not a low surrogate", escapeStart - start);
                    }
                    sb.append(unit).append(low);
                } else {
                    sb.append(unit);
                }
            }
            default -> throw new MalformedJsonException("invalid escape sequence \\" + describe(c & 0xff),
                    escapeStart - start);
        }
    }

    private char parseHex4(int escapeStart) {
        if (end - pos < 4) {
            throw new MalformedJsonException("truncated \\u escape", escapeStart - start);
        }
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int b = in[pos + i] & 0xff;
            // ASCII only: Character.digit alone would also accept some Latin-1 and full-width digits
            int d = b < 0x80 ? Character.digit(b, 16) : -1;
            if (d < 0) {
                throw new MalformedJsonException("invalid hex digit in \\u escape", escapeStart - start);
            }
            v = (v << 4) | d;
        }
        pos += 4;
        return (char) v;
    }

    private static String hex(char c) {
        return String.format("%04X", (int) c);
    }

    private MalformedJsonException error(String message) {
        return new MalformedJsonException(message, pos - start);
    }

    /** A byte for an error message: printable ASCII quoted, anything else in hex. */
    static String describe(int b) {
        if (b >= 0x21 && b < 0x7f) {
            return "'" + (char) b + "'";
        }
        return String.format("byte 0x%02X", b);
    }

    /** A key for an error message, quoted and cut to a sane length (keys come from untrusted input). */
    static String quoteForMessage(String s) {
        return "'" + abbreviate(s) + "'";
    }

    static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
