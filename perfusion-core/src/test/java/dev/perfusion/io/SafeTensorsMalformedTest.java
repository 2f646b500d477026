package dev.perfusion.io;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.perfusion.io.SafeTensorsFiles.assertFormatError;
import static dev.perfusion.io.SafeTensorsFiles.concat;
import static dev.perfusion.io.SafeTensorsFiles.file;
import static dev.perfusion.io.SafeTensorsFiles.lengthPrefix;
import static dev.perfusion.io.SafeTensorsFiles.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kind of broken header gives a {@link SafeTensorsFormatException} that names the file and the problem,
 * never a JVM error, a huge allocation or an index exception.
 */
@Tag("unit")
class SafeTensorsMalformedTest {
    @TempDir
    Path dir;

    /** One F32 tensor entry; {@code shape} and {@code offsets} are JSON text. */
    private static String tensor(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    private Path header(String json, int dataBytes) throws IOException {
        return write(dir, "bad.safetensors", file(json, dataBytes));
    }

    // ------------------------------------------------------------------ the length prefix

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7})
    void fileShorterThanTheLengthPrefix(int size) throws IOException {
        assertFormatError(write(dir, "short.safetensors", new byte[size]), "too short", size + " bytes");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        byte[] bytes = concat(lengthPrefix(64), "{}      ".getBytes(StandardCharsets.US_ASCII));
        assertFormatError(write(dir, "cut.safetensors", bytes), "header length 64", "beyond the end of the file");
    }

    @Test
    void hugeHeaderLengthIsRejectedWithoutAllocating() throws IOException {
        byte[] bytes = concat(lengthPrefix(1L << 62), "{}      ".getBytes(StandardCharsets.US_ASCII));
        assertFormatError(write(dir, "huge.safetensors", bytes), "header length 4611686018427387904", "exceeds the limit");
    }

    @Test
    void headerLengthAboveTwoToThe63IsReadAsUnsigned() throws IOException {
        byte[] bytes = concat(lengthPrefix(-1L), "{}".getBytes(StandardCharsets.US_ASCII));
        assertFormatError(write(dir, "u64.safetensors", bytes), "header length 18446744073709551615", "exceeds the limit");
    }

    @Test
    void headerOverTheSaneLimitIsRejectedBeforeReading() throws IOException {
        // a sparse file big enough to hold the claimed header: only the limit can reject it
        Path p = dir.resolve("big-header.safetensors");
        long headerLength = SafeTensors.MAX_HEADER_BYTES + 8;
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.write(lengthPrefix(headerLength));
            f.setLength(8 + headerLength + 16);
        }
        assertFormatError(p, "header length " + headerLength, "exceeds the limit of 100000000 bytes");
    }

    @Test
    void headerLengthZero() throws IOException {
        assertFormatError(write(dir, "zero.safetensors", lengthPrefix(0)), "header length is 0");
    }

    // ------------------------------------------------------------------ JSON syntax

    @ParameterizedTest
    @ValueSource(strings = {"[]", "\"text\"", "123", "null"})
    void headerThatIsNotAnObject(String json) throws IOException {
        assertFormatError(header(json, 0), "header is not a JSON object");
    }

    @Test
    void headerOfOnlySpaces() throws IOException {
        assertFormatError(header("        ", 0), "malformed header JSON", "unexpected end of input");
    }

    @Test
    void truncatedJson() throws IOException {
        assertFormatError(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_off", 0),
                "malformed header JSON", "unterminated string");
    }

    @Test
    void truncatedAfterAValue() throws IOException {
        assertFormatError(header("{\"__metadata__\":{\"a\":\"b\"}", 0), "malformed header JSON",
                "unexpected end of input");
    }

    @ParameterizedTest
    @ValueSource(strings = {"{} x", "{}}", "{},{}", "{}\u0000"})
    void trailingGarbageAfterTheObject(String json) throws IOException {
        assertFormatError(header(json, 0), "malformed header JSON", "after the end of the JSON value");
    }

    @Test
    void trailingSpacesAndNewlinesAreFine() throws IOException {
        Path p = header("{}  \n\t\r   ", 0);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(0, st.size());
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"__metadata__\":{\"a\":\"\\q\"}}      | invalid escape sequence",
            "{\"__metadata__\":{\"a\":\"\\u12G4\"}}  | invalid hex digit",
            "{\"__metadata__\":{\"a\":\"\\u12\"}}    | invalid hex digit",
            "{\"__metadata__\":{\"a\":\"\\ud800\"}}  | not followed by a low surrogate",
            "{\"__metadata__\":{\"a\":\"\\udc00\"}}  | lone low surrogate",
            "{\"__metadata__\":{\"a\":\"\\ud800\\u0041\"}} | not a low surrogate",
    })
    void badEscapes(String json, String phrase) throws IOException {
        assertFormatError(header(json, 0), "malformed header JSON", phrase.trim());
    }

    @Test
    void rawControlCharacterInAString() throws IOException {
        assertFormatError(header("{\"__metadata__\":{\"a\":\"x\ny\"}}", 0), "control character");
    }

    @ParameterizedTest
    @ValueSource(strings = {"C328", "C0AF", "EDA080", "F4908080", "FF", "E282"})
    void invalidUtf8(String hex) throws IOException {
        // a bad two-byte sequence, an overlong '/', an encoded surrogate, beyond U+10FFFF, a byte never valid,
        // a truncated three-byte sequence
        byte[] bad = java.util.HexFormat.of().parseHex(hex);
        byte[] json = concat("{\"__metadata__\":{\"a\":\"".getBytes(StandardCharsets.US_ASCII), bad,
                "\"}}".getBytes(StandardCharsets.US_ASCII));
        assertFormatError(write(dir, "utf8.safetensors", file(json, new byte[0])), "malformed header JSON",
                "invalid UTF-8");
    }

    @Test
    void invalidUtf8OutsideAString() throws IOException {
        byte[] json = concat("{\"a\":".getBytes(StandardCharsets.US_ASCII), new byte[]{(byte) 0xC3, (byte) 0xA9},
                "}".getBytes(StandardCharsets.US_ASCII));
        assertFormatError(write(dir, "utf8.safetensors", file(json, new byte[0])), "malformed header JSON",
                "byte 0xC3");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "{\"a\" 1}                                  | expected ':' after an object key",
            "{\"__metadata__\":{\"a\":\"x\",}}          | expected an object key",
            "{a:1}                                    | expected an object key",
            "{\"__metadata__\":NaN}                     | unexpected 'N', expected a value",
            "{\"__metadata__\":{\"a\":\"x\"} \"b\":1}    | expected ',' or '}' in an object",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1 2]}}  | expected ',' or ']' in an array",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[01]}}   | leading zeros are not allowed",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[-]}}    | invalid number",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.]}}   | expected a digit after '.'",
    })
    void invalidJsonSyntax(String json, String phrase) throws IOException {
        assertFormatError(header(json.trim(), 0), phrase.trim());
    }

    @Test
    void deeplyNestedJsonIsRejectedWithoutStackOverflow() throws IOException {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        assertFormatError(header("{\"__metadata__\":{\"a\":" + deep + "}}", 0),
                "__metadata__ value for key 'a' must be a string, found an array");
        assertFormatError(header("{" + tensor("t", "F32", deep, "[0,4]") + "}", 4),
                "tensor 't': shape[0] must be an integer, found an array");
    }

    @Test
    void deeplyNestedObjectsAreRejectedWithoutStackOverflow() throws IOException {
        String deep = "{\"a\":".repeat(100_000) + "1" + "}".repeat(100_000);
        assertFormatError(header(deep, 0), "tensor 'a': unknown key 'a'");
    }

    // ------------------------------------------------------------------ tensor entries

    @ParameterizedTest
    @ValueSource(strings = {"F64", "U8", "BOOL", "F8_E4M3", "f32", ""})
    void unknownDtypeIsNamed(String dtype) throws IOException {
        assertFormatError(header("{" + tensor("w", dtype, "[1]", "[0,8]") + "}", 8),
                "tensor 'w': unsupported dtype '" + dtype + "'");
    }

    @Test
    void dtypeThatIsNotAString() throws IOException {
        assertFormatError(header("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "tensor 'w': dtype must be a string, found a number");
    }

    @Test
    void missingDtype() throws IOException {
        assertFormatError(header("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w': missing dtype");
    }

    @Test
    void missingShape() throws IOException {
        assertFormatError(header("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "tensor 'w': missing shape");
    }

    @Test
    void missingDataOffsets() throws IOException {
        assertFormatError(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "tensor 'w': missing data_offsets");
    }

    @Test
    void entryThatIsNotAnObject() throws IOException {
        assertFormatError(header("{\"w\":[1,2]}", 0), "tensor 'w': expected an object with dtype, shape and data_offsets");
    }

    @Test
    void unknownKeyInAnEntry() throws IOException {
        assertFormatError(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4),
                "tensor 'w': unknown key 'extra'");
    }

    @Test
    void negativeShapeDimension() throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", "[2,-1]", "[0,4]") + "}", 4),
                "tensor 'w': negative shape dimension -1 at axis 1");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[1.0]    | expected an integer, found 1.0",
            "[1e2]    | expected an integer, found 1e2",
            "[\"3\"]  | must be an integer, found a string",
            "[true]   | must be an integer, found a boolean",
            "[null]   | must be an integer, found null",
            "3        | shape must be an array of integers, found a number",
    })
    void nonIntegerShape(String shape, String phrase) throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", shape.trim(), "[0,4]") + "}", 4), "tensor 'w'", phrase.trim());
    }

    @Test
    void shapeDimensionBeyondAnInt() throws IOException {
        assertFormatError(header("{" + tensor("w", "I32", "[0,4294967296]", "[0,0]") + "}", 0),
                "tensor 'w': shape dimension 4294967296 at axis 1 is too large");
    }

    @Test
    void shapeWithTooManyAxes() throws IOException {
        String shape = "[" + "1,".repeat(SafeTensorsHeader.MAX_RANK) + "1]";
        assertFormatError(header("{" + tensor("w", "F32", shape, "[0,4]") + "}", 4), "tensor 'w': shape has more than 64");
    }

    @Test
    void shapeThatDisagreesWithTheOffsets() throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", "[2,3]", "[0,20]") + "}", 20),
                "tensor 'w': shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] span 20");
    }

    @Test
    void shapeWhoseSizeOverflowsALong() throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", "[2147483647,2147483647,2147483647]", "[0,4]") + "}", 4),
                "tensor 'w'", "too large (its byte size overflows a 64-bit integer)");
    }

    @Test
    void offsetsWithBeginAfterEnd() throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", "[0]", "[8,4]") + "}", 8),
                "tensor 'w': data_offsets begin 8 is greater than end 4");
    }

    @Test
    void negativeOffsets() throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", "[1]", "[-4,0]") + "}", 4), "tensor 'w': negative data_offsets");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[0]", "[0,4,8]", "[]"})
    void offsetsThatAreNotAPair(String offsets) throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", "[1]", offsets) + "}", 4), "tensor 'w': data_offsets");
    }

    @Test
    void offsetBeyondALong() throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", "[1]", "[0,18446744073709551616]") + "}", 4),
                "tensor 'w': data_offsets[1]", "out of range");
    }

    @Test
    void endBeyondTheDataSection() throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", "[4]", "[0,16]") + "}", 12),
                "tensor 'w': data_offsets end 16 is beyond the end of the data section (12 bytes)");
    }

    @Test
    void tensorOfTwoGibibytesIsUnsupported() throws IOException {
        // sparse: the data section really is that long, so only the ByteBuffer limit rejects it
        Path p = header("{" + tensor("w", "F32", "[536870912]", "[0,2147483648]") + "}", 0);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(f.length() + (1L << 31));
        }
        assertFormatError(p, "tensor 'w' is 2147483648 bytes", "not supported");
    }

    @Test
    void duplicateTensorNames() throws IOException {
        assertFormatError(header("{" + tensor("w", "F32", "[1]", "[0,4]") + "," + tensor("w", "F32", "[1]", "[4,8]") + "}", 8),
                "duplicate key 'w'");
    }

    @Test
    void duplicateKeyInsideAnEntry() throws IOException {
        assertFormatError(header("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "duplicate key 'dtype'");
    }

    // ------------------------------------------------------------------ the data section as a whole

    @Test
    void overlappingTensors() throws IOException {
        assertFormatError(header("{" + tensor("a", "F32", "[2]", "[0,8]") + "," + tensor("b", "F32", "[2]", "[4,12]") + "}", 12),
                "tensors 'a' [0, 8) and 'b' [4, 12) overlap");
    }

    @Test
    void identicalOffsetsOverlap() throws IOException {
        assertFormatError(header("{" + tensor("a", "F32", "[1]", "[0,4]") + "," + tensor("b", "F32", "[1]", "[0,4]") + "}", 4),
                "overlap");
    }

    @Test
    void emptyTensorInsideAnotherOverlaps() throws IOException {
        assertFormatError(header("{" + tensor("a", "F32", "[2]", "[0,8]") + "," + tensor("e", "F32", "[0]", "[4,4]") + "}", 8),
                "tensors 'a' [0, 8) and 'e' [4, 4) overlap");
    }

    @Test
    void holeBetweenTensors() throws IOException {
        assertFormatError(header("{" + tensor("a", "F32", "[1]", "[0,4]") + "," + tensor("b", "F32", "[1]", "[8,12]") + "}", 12),
                "the data section has a hole at [4, 8) between tensors 'a' and 'b'");
    }

    @Test
    void holeBeforeTheFirstTensor() throws IOException {
        assertFormatError(header("{" + tensor("a", "F32", "[1]", "[4,8]") + "}", 8),
                "hole at [0, 4) before the first tensor 'a'");
    }

    @Test
    void bytesAfterTheLastTensor() throws IOException {
        assertFormatError(header("{" + tensor("a", "F32", "[1]", "[0,4]") + "}", 12),
                "hole at [4, 12): 8 bytes after the last tensor 'a'");
    }

    @Test
    void dataWithoutTensors() throws IOException {
        assertFormatError(header("{}", 8), "hole at [0, 8): 8 bytes and no tensors");
    }

    @Test
    void fileWithNoTensorsAndNoDataIsValid() throws IOException {
        try (SafeTensors st = SafeTensors.open(header("{}", 0))) {
            assertEquals(0, st.size());
            assertTrue(st.metadata().isEmpty());
        }
    }

    // ------------------------------------------------------------------ metadata

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "1        | found a number",
            "null     | found null",
            "{}       | found an object",
            "[\"x\"]  | found an array",
            "true     | found a boolean",
    })
    void metadataWithNonStringValues(String value, String phrase) throws IOException {
        assertFormatError(header("{\"__metadata__\":{\"ok\":\"x\",\"n\":" + value.trim() + "}}", 0),
                "__metadata__ value for key 'n' must be a string", phrase.trim());
    }

    @ParameterizedTest
    @ValueSource(strings = {"[]", "\"x\"", "null"})
    void metadataThatIsNotAnObject(String value) throws IOException {
        assertFormatError(header("{\"__metadata__\":" + value + "}", 0), "__metadata__ must be an object of strings");
    }

    @Test
    void duplicateMetadata() throws IOException {
        assertFormatError(header("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "duplicate key '__metadata__'");
    }

    @Test
    void longHostileNamesAreAbbreviatedInMessages() throws IOException {
        String name = "x".repeat(10_000);
        SafeTensorsFormatException e = assertFormatError(header("{" + tensor(name, "F64", "[1]", "[0,8]") + "}", 8),
                "unsupported dtype 'F64'");
        assertTrue(e.getMessage().length() < 500, e.getMessage());
    }
}
