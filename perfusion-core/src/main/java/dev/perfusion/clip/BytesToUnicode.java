package dev.perfusion.clip;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * OpenAI CLIP's reversible map between the 256 byte values and 256 printable Unicode characters
 * ({@code bytes_to_unicode()} in CLIP's {@code simple_tokenizer.py}, shared with GPT-2).
 *
 * <p>Byte-level BPE works on UTF-8 bytes, but the merges file is text, so every byte is written as one
 * visible character: the 188 bytes that are already printable Latin-1 ({@code !}..{@code ~},
 * {@code ¡}..{@code ¬}, {@code ®}..{@code ÿ}) stand for themselves, and the other 68 (controls, space,
 * {@code 0x7F..0xA0}, the soft hyphen {@code 0xAD}) are mapped in increasing order to U+0100, U+0101, …, U+0143.
 * So a space becomes {@code Ġ} (U+0120) and {@code é} (bytes C3 A9) becomes {@code Ã©}.
 *
 * <p>The order matters beyond the mapping: CLIP's vocabulary ids 0–255 are these symbols in the order
 * printable-bytes-first, then the remapped ones ({@link #symbolForVocabIndex}), and ids 256–511 the same with
 * {@code </w>} appended.
 */
final class BytesToUnicode {
    /** Byte value (0–255) → its symbol. */
    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Symbol (a char below U+0144) → byte value, or -1. */
    private static final int[] CHAR_TO_BYTE = new int[0x144];
    /** Vocabulary index 0–255 → byte value: printable bytes first, then the remapped ones. */
    private static final int[] VOCAB_ORDER = new int[256];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        boolean[] printable = new boolean[256];
        int k = 0;
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
            VOCAB_ORDER[k++] = b;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable[b] = true;
            VOCAB_ORDER[k++] = b;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable[b] = true;
            VOCAB_ORDER[k++] = b;
        }
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            if (printable[b]) {
                BYTE_TO_CHAR[b] = (char) b;
            } else {
                BYTE_TO_CHAR[b] = (char) next++;
                VOCAB_ORDER[k++] = b;
            }
        }
        for (int b = 0; b < 256; b++) {
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    private BytesToUnicode() {
    }

    /** The symbol with vocabulary id {@code index} (0–255), in {@code bytes_to_unicode()}'s insertion order. */
    static char symbolForVocabIndex(int index) {
        return BYTE_TO_CHAR[VOCAB_ORDER[index]];
    }

    /** The text's UTF-8 bytes, each written as its symbol: what BPE operates on. */
    static String encode(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            out[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        }
        return new String(out);
    }

    /**
     * Appends the bytes that {@code symbols} stand for to {@code out}. A character that is not one of the 256
     * symbols (the text of a token added at run time, for example) is written as its own UTF-8 bytes.
     */
    static void appendBytes(CharSequence symbols, ByteArrayOutputStream out) {
        for (int i = 0; i < symbols.length(); i++) {
            char c = symbols.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                int end = Character.isHighSurrogate(c) && i + 1 < symbols.length() ? i + 2 : i + 1;
                byte[] raw = symbols.subSequence(i, end).toString().getBytes(StandardCharsets.UTF_8);
                out.write(raw, 0, raw.length);
                i = end - 1;
            }
        }
    }
}
