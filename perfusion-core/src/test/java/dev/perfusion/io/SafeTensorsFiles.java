package dev.perfusion.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Builds safetensors files byte by byte for tests, including broken ones. */
final class SafeTensorsFiles {
    private SafeTensorsFiles() {
    }

    /** A file with {@code headerJson} (space-padded to a multiple of 8) and {@code dataBytes} zero bytes. */
    static byte[] file(String headerJson, int dataBytes) {
        return file(headerJson.getBytes(StandardCharsets.UTF_8), new byte[dataBytes]);
    }

    /** A file with raw header bytes (space-padded to a multiple of 8) and data. */
    static byte[] file(byte[] header, byte[] data) {
        int padded = (header.length + 7) & ~7;
        byte[] h = Arrays.copyOf(header, padded);
        Arrays.fill(h, header.length, padded, (byte) ' ');
        return concat(lengthPrefix(padded), h, data);
    }

    /** The 8-byte little-endian header length. */
    static byte[] lengthPrefix(long headerLength) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerLength).array();
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static Path write(Path dir, String name, byte[] content) throws IOException {
        return Files.write(dir.resolve(name), content);
    }

    /**
     * Asserts that opening {@code file} fails with a {@link SafeTensorsFormatException} whose message names
     * the file and contains every phrase.
     */
    static SafeTensorsFormatException assertFormatError(Path file, String... phrases) {
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> {
            try (SafeTensors st = SafeTensors.open(file)) {
                // reached only if the file was accepted
                st.names();
            }
        });
        String message = e.getMessage();
        assertTrue(message.contains(file.getFileName().toString()), () -> "message does not name the file: " + message);
        for (String phrase : phrases) {
            assertTrue(message.contains(phrase), () -> "message lacks '" + phrase + "': " + message);
        }
        return e;
    }
}
