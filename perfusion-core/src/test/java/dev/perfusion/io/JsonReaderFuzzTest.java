package dev.perfusion.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fuzzes {@link JsonReader#readValue()} with arbitrary bytes: the only acceptable failure is a
 * {@link JsonReader.MalformedJsonException}, and whatever parses must survive {@link JsonWriter} and a second
 * parse unchanged. Seeds: {@code src/test/resources/dev/perfusion/io/JsonReaderFuzzTestInputs/parsesAnyBytesSafely/}.
 *
 * <p>Fuzzing mode, as for {@link SafeTensorsFuzzTest}:
 * <pre>
 * JAZZER_FUZZ=1 mvn -B -o -pl perfusion-core test -Dtest=JsonReaderFuzzTest -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
@Tag("unit")
class JsonReaderFuzzTest {

    @FuzzTest(maxDuration = "2m")
    void parsesAnyBytesSafely(byte[] data) {
        Object value;
        try {
            JsonReader reader = new JsonReader(data, 0, data.length);
            value = reader.readValue();
            reader.endOfInput();
        } catch (JsonReader.MalformedJsonException expected) {
            return;
        }
        if (hasInfinity(value)) {
            return; // 1e400 parses to an infinite double, which JSON cannot write back
        }
        assertEquals(value, JsonReader.parse(JsonWriter.write(value)));
    }

    private static boolean hasInfinity(Object v) {
        if (v instanceof Double d) {
            return d.isInfinite();
        }
        if (v instanceof Map<?, ?> m) {
            return m.values().stream().anyMatch(JsonReaderFuzzTest::hasInfinity);
        }
        if (v instanceof List<?> l) {
            return l.stream().anyMatch(JsonReaderFuzzTest::hasInfinity);
        }
        return false;
    }
}
