package dev.perfusion.io;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("unit")
class JsonReaderTest {

    private static JsonReader reader(String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return new JsonReader(b, 0, b.length);
    }

    private static JsonReader.MalformedJsonException malformed(String json, String phrase) {
        JsonReader.MalformedJsonException e = assertThrows(JsonReader.MalformedJsonException.class,
                () -> JsonReader.parse(json));
        assertTrue(e.getMessage().contains(phrase), () -> "message lacks '" + phrase + "': " + e.getMessage());
        return e;
    }

    @Test
    void parsesEveryKindOfValue() {
        Object v = JsonReader.parse(" {\"a\": [1, -2, 3.5, 1e3, -0], \"b\": {\"c\": true, \"d\": false, \"e\": null},"
                + " \"s\": \"x\", \"big\": 18446744073709551616}\n");
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("a", List.of(1L, -2L, 3.5, 1000.0, 0L));
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("c", true);
        b.put("d", false);
        b.put("e", JsonReader.NULL);
        expected.put("b", b);
        expected.put("s", "x");
        expected.put("big", 1.8446744073709552E19);
        assertEquals(expected, v);
        assertEquals(List.of("a", "b", "s", "big"), new ArrayList<>(((Map<?, ?>) v).keySet()), "document order kept");
    }

    @Test
    void decodesEscapesAndSurrogatePairs() {
        assertEquals("\" \\ / \b \f \n \r \t é 😀 \u0000",
                JsonReader.parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00 \\u0000\""));
        assertEquals("😀", JsonReader.parse("\"\\uD83D\\uDE00\""), "upper-case hex");
        assertEquals("naïve 漢字 😀", JsonReader.parse("\"naïve 漢字 😀\""), "raw UTF-8");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "\"\\ud800\"          | not followed by a low surrogate",
            "\"\\ud800\\n\"       | not followed by a low surrogate",
            "\"\\ud800\\ud800\"   | not a low surrogate",
            "\"\\udfff\"          | lone low surrogate",
            "\"\\x41\"            | invalid escape sequence \\'x'",
            "\"\\u00G0\"          | invalid hex digit",
            "\"\\u00\"\"          | invalid hex digit",
            "\"\\u0             | truncated \\u escape",
            "\"abc               | unterminated string",
            "\"abc\\             | unterminated escape",
    })
    void rejectsBadStrings(String json, String phrase) {
        malformed(json.trim(), phrase.trim());
    }

    @ParameterizedTest
    @ValueSource(strings = {"01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "-Infinity", "1.5.2"})
    void rejectsBadNumbers(String json) {
        assertThrows(JsonReader.MalformedJsonException.class, () -> JsonReader.parse(json));
    }

    @Test
    void readLongIsStrict() {
        assertEquals(Long.MAX_VALUE, reader("9223372036854775807").readLong());
        assertEquals(Long.MIN_VALUE, reader("-9223372036854775808").readLong());
        assertEquals(0, reader("-0").readLong());
        assertTrue(assertThrows(JsonReader.MalformedJsonException.class, () -> reader("9223372036854775808").readLong())
                .getMessage().contains("out of range"));
        assertTrue(assertThrows(JsonReader.MalformedJsonException.class, () -> reader("1" + "0".repeat(5000)).readLong())
                .getMessage().contains("out of range"));
        assertTrue(assertThrows(JsonReader.MalformedJsonException.class, () -> reader("2.0").readLong())
                .getMessage().contains("expected an integer, found 2.0"));
        assertTrue(assertThrows(JsonReader.MalformedJsonException.class, () -> reader("2E0").readLong())
                .getMessage().contains("expected an integer, found 2E0"));
        assertTrue(assertThrows(JsonReader.MalformedJsonException.class, () -> reader("\"2\"").readLong())
                .getMessage().contains("expected an integer, found a string"));
    }

    @Test
    void rejectsDuplicateKeysAtAnyDepth() {
        malformed("{\"a\":1,\"a\":2}", "duplicate key 'a'");
        malformed("{\"x\":[{\"k\":1,\"k\":1}]}", "duplicate key 'k'");
        // keys are compared after unescaping
        malformed("{\"a\":1,\"\\u0061\":2}", "duplicate key 'a'");
    }

    @Test
    void nestingDepthIsLimited() {
        String ok = "[".repeat(JsonReader.MAX_DEPTH) + "]".repeat(JsonReader.MAX_DEPTH);
        JsonReader.parse(ok);
        malformed("[".repeat(JsonReader.MAX_DEPTH + 1) + "]".repeat(JsonReader.MAX_DEPTH + 1), "nesting deeper than 64");
        // far deeper than any stack could recurse: rejected at the limit, no StackOverflowError
        malformed("[".repeat(1_000_000), "nesting deeper than 64");
        malformed("{\"a\":".repeat(1_000_000), "nesting deeper than 64");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "''                 | unexpected end of input",
            "'   '              | unexpected end of input",
            "[1,]               | unexpected ']', expected a value",
            "[1 2]              | expected ',' or ']'",
            "{\"a\":1,}         | expected an object key",
            "{\"a\" 1}          | expected ':'",
            "{1:2}              | expected an object key",
            "[1] [2]            | after the end of the JSON value",
            "tru                | invalid literal",
            "nul                | invalid literal",
            "/* c */ 1          | unexpected '/'",
            "[1]x               | unexpected 'x' after the end",
    })
    void rejectsBadSyntax(String json, String phrase) {
        String text = json.trim();
        if (text.startsWith("'")) {
            text = text.substring(1, text.length() - 1); // quoted to keep the spaces
        }
        malformed(text, phrase.trim());
    }

    @Test
    void rejectsControlCharactersAndInvalidUtf8InStrings() {
        malformed("\"a\tb\"", "control character");
        byte[][] bad = {{(byte) 0xC3, 0x28}, {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}, {(byte) 0x80}};
        for (byte[] b : bad) {
            byte[] json = SafeTensorsFiles.concat(new byte[]{'"'}, b, new byte[]{'"'});
            JsonReader r = new JsonReader(json, 0, json.length);
            JsonReader.MalformedJsonException e = assertThrows(JsonReader.MalformedJsonException.class, r::readString);
            assertTrue(e.getMessage().contains("invalid UTF-8"), e.getMessage());
        }
    }

    @Test
    void offsetsAreRelativeToTheParsedRange() {
        byte[] b = "xxxx{\"a\":}".getBytes(StandardCharsets.US_ASCII);
        JsonReader r = new JsonReader(b, 4, b.length - 4);
        JsonReader.MalformedJsonException e = assertThrows(JsonReader.MalformedJsonException.class, r::readValue);
        assertEquals(5, e.offset());
        assertTrue(e.getMessage().endsWith("at byte 5"), e.getMessage());
    }

    @Test
    void writerOutputReadsBack() {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("path", "down_blocks.0.attentions.0.transformer_blocks.0.attn2");
        value.put("width", 320L);
        value.put("beta", 0.7);
        value.put("odd", "tab\t quote\" back\\ nul\u0000 bell\u0007 é 😀");
        value.put("list", List.of(true, false, JsonReader.NULL, -1L));
        value.put("nested", Map.of("k", List.of()));
        assertEquals(value, JsonReader.parse(JsonWriter.write(value)));
        assertEquals("[1.0E10,-0.5]", JsonWriter.write(List.of(1e10, -0.5)));
        assertThrows(IllegalArgumentException.class, () -> JsonWriter.write(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> JsonWriter.write("\uDC00"));
        assertThrows(IllegalArgumentException.class, () -> JsonWriter.write(new Object()));
    }
}
