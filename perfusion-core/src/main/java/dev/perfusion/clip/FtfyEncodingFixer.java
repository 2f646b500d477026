package dev.perfusion.clip;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ftfy's {@code fix_encoding}: undoes mojibake, text that was UTF-8 but got decoded with a single-byte code
 * page ({@code cafÃ©} → {@code café}, {@code â€œ} → {@code “}).
 *
 * <p>One step (ftfy {@code _fix_encoding_one_step_and_explain}), repeated until nothing changes:
 * <ol>
 *   <li>ASCII text, and text {@link FtfyBadness#isBad} does not flag, is left alone.</li>
 *   <li>For each code page in {@link SingleByteCharmap#FTFY_ORDER} that can encode the whole text: encode it,
 *       put back bytes A0 that a program turned into spaces inside UTF-8 sequences ({@code restore_byte_a0},
 *       not for MacRoman), turn sequences that lost bytes into U+FFFD ({@code replace_lossy_sequences}, sloppy
 *       code pages only), and decode as UTF-8 (CESU-8 surrogate pairs and Java's {@code C0 80} allowed when
 *       bytes ED or C0 occur); the first that decodes wins.</li>
 *   <li>Otherwise fix runs of UTF-8 mojibake embedded in otherwise fine text ({@code decode_inconsistent_utf8}).</li>
 *   <li>Otherwise, for Latin-1 text, read C1 controls as Windows-1252 where that code page defines them all.</li>
 *   <li>Otherwise replace single C1 controls by their Windows-1252 characters ({@code fix_c1_controls}).</li>
 * </ol>
 * Ported from ftfy 6 (its {@code __init__.py}, {@code fixes.py} and {@code chardata.py}); the golden files were
 * made with ftfy 6.1.1, whose heuristics may differ from this port on rare, ambiguous mojibake.
 */
final class FtfyEncodingFixer {
    /** ftfy ALTERED_UTF8_RE: UTF-8 sequences whose byte A0 became a space (bytes as Latin-1 chars). */
    private static final Pattern ALTERED_UTF8 = Pattern.compile(
            "[\\xc2\\xc3\\xc5\\xce\\xd0\\xd9] "
            + "|[\\xe2\\xe3] [\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf]"
            + "|[\\xe0-\\xe3][\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf] "
            + "|\\xf0 [\\x80-\\xbf][\\x80-\\xbf]"
            + "|\\xf0[\\x80-\\xbf] [\\x80-\\xbf]"
            + "|\\xf0[\\x80-\\xbf][\\x80-\\xbf] ");
    /** ftfy A_GRAVE_WORD_RE: "Ã " as the word "à" (but not Portuguese "às", "àquele", …). */
    private static final Pattern A_GRAVE_WORD = Pattern.compile("\\xc3 (?! |quele|quela|quilo|s )");
    /** ftfy LOSSY_UTF8_RE: UTF-8/CESU-8 sequences with continuation bytes lost (0x1A or '?'). */
    private static final Pattern LOSSY_UTF8 = Pattern.compile(
            "[\\xc2-\\xdf]\\x1a"
            + "|[\\xc2-\\xc3]\\?"
            + "|\\xed[\\xa0-\\xaf][\\x1a?]\\xed[\\xb0-\\xbf][\\x1a?\\x80-\\xbf]"
            + "|\\xed[\\xa0-\\xaf][\\x1a?\\x80-\\xbf]\\xed[\\xb0-\\xbf][\\x1a?]"
            + "|[\\xe0-\\xef][\\x1a?][\\x1a\\x80-\\xbf]"
            + "|[\\xe0-\\xef][\\x1a\\x80-\\xbf][\\x1a?]"
            + "|[\\xf0-\\xf4][\\x1a?][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf]"
            + "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a?][\\x1a\\x80-\\xbf]"
            + "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf][\\x1a?]"
            + "|\\x1a");
    private static final Pattern C1_CONTROL = Pattern.compile("[\\x80-\\x9f]");
    /** ftfy UTF8_DETECTOR_RE, its classes computed from the code pages (see {@link #buildUtf8Detector}). */
    private static final Pattern UTF8_DETECTOR = buildUtf8Detector();

    private FtfyEncodingFixer() {
    }

    /** ftfy {@code fix_encoding}: one-step fixes until the text stops changing. */
    static String fixEncoding(String text) {
        for (int guard = 0; guard < 100; guard++) { // each real step shortens or settles the text
            String fixed = oneStep(text);
            if (fixed.equals(text)) {
                return fixed;
            }
            text = fixed;
        }
        return text;
    }

    /** ftfy {@code fix_c1_controls}: each C1 control character read as (sloppy) Windows-1252. */
    static String fixC1Controls(String text) {
        Matcher m = C1_CONTROL.matcher(text);
        if (!m.find()) {
            return text;
        }
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            sb.append(c >= 0x80 && c <= 0x9F ? SingleByteCharmap.SLOPPY_WINDOWS_1252.decode(c) : c);
        }
        return sb.toString();
    }

    static String oneStep(String text) {
        if (text.isEmpty() || isAscii(text) || !FtfyBadness.isBad(text)) {
            return text;
        }
        boolean latin1Possible = false;
        for (SingleByteCharmap charmap : SingleByteCharmap.FTFY_ORDER) {
            if (!charmap.canEncode(text)) {
                continue;
            }
            if (charmap == SingleByteCharmap.LATIN_1) {
                latin1Possible = true;
            }
            String bytes = asLatin1(charmap.encode(text));
            if (!charmap.name().equals("macroman") && ALTERED_UTF8.matcher(bytes).find()) {
                bytes = restoreByteA0(bytes);
            }
            if (charmap.isSloppy()) {
                bytes = LOSSY_UTF8.matcher(bytes).replaceAll("\u00ef\u00bf\u00bd"); // UTF-8 of U+FFFD
            }
            String decoded = decodeUtf8Variants(bytes);
            if (decoded != null) {
                return decoded;
            }
        }
        if (UTF8_DETECTOR.matcher(text).find()) {
            String fixed = decodeInconsistentUtf8(text);
            if (!fixed.equals(text)) {
                return fixed;
            }
        }
        if (latin1Possible) {
            // ftfy checks for a "windows-1252" entry that its list never holds (only the sloppy one), so
            // this always tries strict Windows-1252 on the Latin-1 bytes: C1 controls become what
            // Windows-1252 meant, unless one of them is a hole in that code page.
            String fixed = strictWindows1252(text);
            if (fixed != null && !fixed.equals(text)) {
                return fixed;
            }
        }
        if (C1_CONTROL.matcher(text).find()) {
            return fixC1Controls(text);
        }
        return text;
    }

    /** ftfy {@code decode_inconsistent_utf8}: fixes each UTF-8-looking run that is itself flagged as bad. */
    static String decodeInconsistentUtf8(String text) {
        int length = text.codePointCount(0, text.length());
        Matcher m = UTF8_DETECTOR.matcher(text);
        StringBuilder sb = new StringBuilder(text.length());
        int last = 0;
        while (m.find()) {
            String sub = m.group();
            String replacement = sub;
            if (sub.codePointCount(0, sub.length()) < length && FtfyBadness.isBad(sub)) {
                replacement = fixEncoding(sub);
            }
            sb.append(text, last, m.start()).append(replacement);
            last = m.end();
        }
        return sb.append(text, last, text.length()).toString();
    }

    /** ftfy {@code restore_byte_a0} on bytes held as Latin-1 characters. */
    private static String restoreByteA0(String bytes) {
        bytes = A_GRAVE_WORD.matcher(bytes).replaceAll("\u00c3\u00a0 ");
        Matcher m = ALTERED_UTF8.matcher(bytes);
        StringBuilder sb = new StringBuilder(bytes.length());
        int last = 0;
        while (m.find()) {
            sb.append(bytes, last, m.start()).append(m.group().replace(' ', '\u00a0'));
            last = m.end();
        }
        return sb.append(bytes, last, bytes.length()).toString();
    }

    /**
     * UTF-8 decoding as ftfy's {@code utf-8-variants} codec does it when bytes ED or C0 occur (CESU-8 surrogate
     * pairs and Java's {@code C0 80} for U+0000), otherwise strict UTF-8. Returns null when the bytes are not
     * valid.
     */
    static String decodeUtf8Variants(String bytes) {
        boolean variants = bytes.indexOf('\u00ed') >= 0 || bytes.indexOf('\u00c0') >= 0;
        if (!variants) {
            return strictUtf8(bytes);
        }
        StringBuilder out = new StringBuilder(bytes.length());
        int chunkStart = 0;
        int i = 0;
        while (i < bytes.length()) {
            int b = bytes.charAt(i);
            String special = null;
            int len = 0;
            if (b == 0xC0 && i + 1 < bytes.length() && bytes.charAt(i + 1) == 0x80) {
                special = "\u0000";
                len = 2;
            } else if (b == 0xED && i + 5 < bytes.length() && in(bytes.charAt(i + 1), 0xA0, 0xAF)
                    && in(bytes.charAt(i + 2), 0x80, 0xBF) && bytes.charAt(i + 3) == 0xED
                    && in(bytes.charAt(i + 4), 0xB0, 0xBF) && in(bytes.charAt(i + 5), 0x80, 0xBF)) {
                char high = (char) (0xD000 | ((bytes.charAt(i + 1) & 0x3F) << 6) | (bytes.charAt(i + 2) & 0x3F));
                char low = (char) (0xD000 | ((bytes.charAt(i + 4) & 0x3F) << 6) | (bytes.charAt(i + 5) & 0x3F));
                special = new String(new char[] {high, low});
                len = 6;
            }
            if (special == null) {
                i++;
                continue;
            }
            String chunk = strictUtf8(bytes.substring(chunkStart, i));
            if (chunk == null) {
                return null;
            }
            out.append(chunk).append(special);
            i += len;
            chunkStart = i;
        }
        String tail = strictUtf8(bytes.substring(chunkStart));
        return tail == null ? null : out.append(tail).toString();
    }

    private static String strictUtf8(String latin1Bytes) {
        byte[] raw = latin1Bytes.getBytes(StandardCharsets.ISO_8859_1);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Latin-1 text read as strict Windows-1252, or null if it has a character outside Latin-1 or a hole. */
    private static String strictWindows1252(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        SingleByteCharmap cp1252 = SingleByteCharmap.SLOPPY_WINDOWS_1252;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c > 0xFF || !cp1252.isDefined(c)) {
                return null;
            }
            sb.append(cp1252.decode(c));
        }
        return sb.toString();
    }

    private static boolean isAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static boolean in(char c, int lo, int hi) {
        return c >= lo && c <= hi;
    }

    private static String asLatin1(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    /**
     * ftfy UTF8_DETECTOR_RE. Its character classes (ftfy's {@code UTF8_CLUES}) are the characters that the
     * Latin-1-like code pages (Latin-1 and Windows-1250/1251/1252/1253/1254/1257) give to the bytes that
     * start a 2-byte (C2–DF), 3-byte (E0–EF) or 4-byte (F0, F3) UTF-8 sequence, and to continuation bytes
     * (80–BF, plus U+0080–U+00BF themselves and a space standing for A0). The run must not follow a
     * "strict" continuation character (continuations other than the space, dashes, quotes, bullet and
     * ellipsis, which also occur on their own), so a few characters inside a longer garble are not fixed.
     */
    private static Pattern buildUtf8Detector() {
        String[] pages = {"ISO-8859-1", "windows-1250", "windows-1251", "windows-1252", "windows-1253",
            "windows-1254", "windows-1257"};
        List<java.nio.charset.CharsetDecoder> decoders = new ArrayList<>();
        for (String p : pages) {
            if (java.nio.charset.Charset.isSupported(p)) {
                decoders.add(java.nio.charset.Charset.forName(p).newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT));
            }
        }
        Set<Character> first2 = decodeAll(decoders, 0xC2, 0xDF);
        Set<Character> first3 = decodeAll(decoders, 0xE0, 0xEF);
        Set<Character> first4 = decodeAll(decoders, 0xF0, 0xF0);
        first4.addAll(decodeAll(decoders, 0xF3, 0xF3));
        Set<Character> continuation = decodeAll(decoders, 0x80, 0xBF);
        for (char c = 0x80; c <= 0xBF; c++) {
            continuation.add(c);
        }
        Set<Character> strict = new LinkedHashSet<>(continuation);
        continuation.add(' ');
        for (char c : "\u2013\u2014\u2015\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026".toCharArray()) {
            strict.remove(c); // en/em dash, horizontal bar, quotes, bullet, ellipsis
        }
        String cont = cls(continuation);
        return Pattern.compile("(?<!" + cls(strict) + ")(?:" + cls(first2) + cont + "|" + cls(first3) + cont + "{2}|"
                + cls(first4) + cont + "{3})+");
    }

    private static Set<Character> decodeAll(List<java.nio.charset.CharsetDecoder> decoders, int lo, int hi) {
        Set<Character> set = new LinkedHashSet<>();
        for (var d : decoders) {
            for (int b = lo; b <= hi; b++) {
                try {
                    var cb = d.reset().decode(ByteBuffer.wrap(new byte[] {(byte) b}));
                    if (cb.length() == 1) {
                        set.add(cb.charAt(0));
                    }
                } catch (CharacterCodingException e) {
                    // a hole in that code page
                }
            }
        }
        return set;
    }

    private static String cls(Set<Character> chars) {
        StringBuilder sb = new StringBuilder("[");
        for (char c : chars) {
            sb.append(String.format("\\x{%x}", (int) c));
        }
        return sb.append(']').toString();
    }
}
