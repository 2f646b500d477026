package dev.perfusion.clip;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A single-byte text encoding as ftfy uses it to undo mojibake: a 256-entry decoding table and its inverse.
 *
 * <p>The "sloppy" variants (ftfy {@code bad_codecs/sloppy.py}) fill the holes of a Windows code page with the
 * Latin-1 character of the same byte (so byte 0x81 ↔ U+0081) and let byte 0x1A stand for U+FFFD, so that
 * every string of their characters round-trips through bytes. Tables come from the JDK's charsets
 * ({@code windows-125x}, {@code ISO-8859-2}, {@code x-MacRoman}, {@code IBM437}); an encoding the JDK lacks is
 * left out of {@link #FTFY_ORDER}.
 */
final class SingleByteCharmap {
    static final SingleByteCharmap LATIN_1 = of("latin-1", "ISO-8859-1", false);
    static final SingleByteCharmap SLOPPY_WINDOWS_1252 = of("sloppy-windows-1252", "windows-1252", true);

    /** ftfy chardata.CHARMAP_ENCODINGS, in the order ftfy tries them. */
    static final List<SingleByteCharmap> FTFY_ORDER = available(
            LATIN_1,
            SLOPPY_WINDOWS_1252,
            of("sloppy-windows-1251", "windows-1251", true),
            of("sloppy-windows-1250", "windows-1250", true),
            of("sloppy-windows-1253", "windows-1253", true),
            of("sloppy-windows-1254", "windows-1254", true),
            of("sloppy-windows-1257", "windows-1257", true),
            of("iso-8859-2", "ISO-8859-2", false),
            of("macroman", "x-MacRoman", false),
            of("cp437", "IBM437", false));

    private final String name;
    private final boolean sloppy;
    private final char[] decode;
    private final boolean[] defined;
    private final Map<Character, Byte> encode;

    private SingleByteCharmap(String name, boolean sloppy, char[] decode, boolean[] defined) {
        this.name = name;
        this.sloppy = sloppy;
        this.decode = decode;
        this.defined = defined;
        this.encode = new HashMap<>(512);
        for (int b = 255; b >= 0; b--) { // lowest byte wins if two bytes decode alike
            encode.put(decode[b], (byte) b);
        }
        if (sloppy) {
            encode.remove('\u001A'); // byte 0x1A means U+FFFD here
        }
    }

    /** Builds the table from a JDK charset, or returns null when the JDK lacks it. */
    private static SingleByteCharmap of(String name, String jdkName, boolean sloppy) {
        if (!Charset.isSupported(jdkName)) {
            return null;
        }
        var decoder = Charset.forName(jdkName).newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        char[] table = new char[256];
        boolean[] defined = new boolean[256];
        for (int b = 0; b < 256; b++) {
            try {
                CharBuffer cb = decoder.reset().decode(ByteBuffer.wrap(new byte[] {(byte) b}));
                if (cb.length() == 1) {
                    table[b] = cb.charAt(0);
                    defined[b] = true;
                    continue;
                }
            } catch (java.nio.charset.CharacterCodingException e) {
                // a hole in the code page
            }
            table[b] = (char) b;
        }
        if (sloppy) {
            table[0x1A] = '\uFFFD';
        }
        return new SingleByteCharmap(name, sloppy, table, defined);
    }

    private static List<SingleByteCharmap> available(SingleByteCharmap... maps) {
        java.util.ArrayList<SingleByteCharmap> list = new java.util.ArrayList<>();
        for (SingleByteCharmap m : maps) {
            if (m != null) {
                list.add(m);
            }
        }
        return List.copyOf(list);
    }

    /** ftfy's name for the encoding. */
    String name() {
        return name;
    }

    boolean isSloppy() {
        return sloppy;
    }

    /** The character byte {@code b} decodes to. */
    char decode(int b) {
        return decode[b & 0xFF];
    }

    /** False for bytes the strict (non-sloppy) code page leaves undefined. */
    boolean isDefined(int b) {
        return defined[b & 0xFF];
    }

    /** ftfy {@code possible_encoding}: every character of the text has a byte in this encoding. */
    boolean canEncode(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (!encode.containsKey(text.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** The bytes of {@code text}; call {@link #canEncode} first. */
    byte[] encode(String text) {
        byte[] out = new byte[text.length()];
        for (int i = 0; i < text.length(); i++) {
            Byte b = encode.get(text.charAt(i));
            if (b == null) {
                throw new IllegalArgumentException("character U+" + Integer.toHexString(text.charAt(i))
                        + " has no byte in " + name);
            }
            out[i] = b;
        }
        return out;
    }

    @Override
    public String toString() {
        return name;
    }
}
