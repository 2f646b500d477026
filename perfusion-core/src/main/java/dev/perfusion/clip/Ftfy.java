package dev.perfusion.clip;

import java.text.Normalizer;
import java.util.regex.Pattern;

/**
 * {@code ftfy.fix_text(text)} with ftfy's default configuration, which both CLIP tokenizers run on every
 * prompt (ftfy 6; the goldens were made with 6.1.1).
 *
 * <p>The text is fixed line by line (each segment ends after a {@code \n}). HTML entities are decoded only
 * until a line contains a literal {@code <} (from then on the text is taken to be HTML). Each segment goes
 * through these steps, repeated until it stops changing:
 * <ol>
 *   <li>{@code unescape_html}: {@link HtmlUnescape#unescapeFtfy} ({@code &amp;} → {@code &}, {@code &#39;} → {@code '});</li>
 *   <li>{@code fix_encoding}: mojibake repair, {@link FtfyEncodingFixer} ({@code cafÃ©} → {@code café});</li>
 *   <li>{@code fix_c1_controls}: U+0080–U+009F read as Windows-1252;</li>
 *   <li>{@code fix_latin_ligatures}: {@code ﬁ} → {@code fi}, {@code Ǆ} → {@code DŽ}, … (Latin only);</li>
 *   <li>{@code fix_character_width}: full-width and half-width forms U+FF01–U+FFEF to their NFKC form
 *       ({@code ＡＢＣ１２３} → {@code ABC123}, half-width katakana → katakana), U+3000 → space;</li>
 *   <li>{@code uncurl_quotes}: U+02BC, U+2018–U+201B → {@code '}; U+201C–U+201F → {@code "};</li>
 *   <li>{@code fix_line_breaks}: CRLF, CR, U+2028, U+2029, U+0085 → LF;</li>
 *   <li>{@code fix_surrogates}: unpaired UTF-16 surrogates → U+FFFD;</li>
 *   <li>{@code remove_terminal_escapes}: ANSI {@code ESC [ … letter} sequences removed;</li>
 *   <li>{@code remove_control_chars}: U+0000–0008, 000B, 000E–001F, 007F, 206A–206F, FEFF, FFF9–FFFC removed
 *       (tab, LF, FF, CR, the C1 range, zero-width and bidi controls such as U+200B are kept);</li>
 *   <li>Unicode NFC normalisation (so {@code e} + combining acute becomes {@code é}).</li>
 * </ol>
 * Differences from Python ftfy: Java's Unicode tables (Unicode 13 in Java 17) may differ from Python's for
 * characters added since; a surrogate pair in a Java string is always one character, so only unpaired
 * surrogates exist to fix; the mojibake heuristics are ftfy 6.3's (see {@link FtfyEncodingFixer}).
 */
final class Ftfy {
    /** ftfy max_decode_length: longer lines are cut into segments of this many characters. */
    private static final int MAX_DECODE_LENGTH = 1_000_000;
    private static final Pattern ANSI_ESCAPE = Pattern.compile("\u001b\\[((?:\\d|;)*)([a-zA-Z])");

    private Ftfy() {
    }

    /** {@code ftfy.fix_text(text)} with the default configuration. */
    static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean unescapeHtml = true;
        int pos = 0;
        while (pos < text.length()) {
            int end = text.indexOf('\n', pos) + 1;
            if (end == 0) {
                end = text.length();
            }
            if (end - pos > MAX_DECODE_LENGTH) {
                end = pos + MAX_DECODE_LENGTH;
            }
            String segment = text.substring(pos, end);
            if (segment.indexOf('<') >= 0) {
                unescapeHtml = false; // stays off for the rest of the text: it looks like HTML
            }
            out.append(fixSegment(segment, unescapeHtml));
            pos = end;
        }
        return out.toString();
    }

    /** ftfy {@code fix_and_explain} on one segment: all steps, repeated until the text stops changing. */
    static String fixSegment(String text, boolean unescapeHtml) {
        if (text.indexOf('<') >= 0) {
            unescapeHtml = false;
        }
        for (int guard = 0; guard < 100; guard++) { // ftfy loops until stable; every step is idempotent
            String before = text;
            if (unescapeHtml) {
                text = HtmlUnescape.unescapeFtfy(text);
            }
            text = FtfyEncodingFixer.fixEncoding(text);
            text = FtfyEncodingFixer.fixC1Controls(text);
            text = fixLatinLigatures(text);
            text = fixCharacterWidth(text);
            text = uncurlQuotes(text);
            text = fixLineBreaks(text);
            text = fixSurrogates(text);
            text = removeTerminalEscapes(text);
            text = removeControlChars(text);
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
            if (text.equals(before)) {
                break;
            }
        }
        return text;
    }

    /** ftfy {@code fix_latin_ligatures} (ftfy chardata.LIGATURES). */
    static String fixLatinLigatures(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            String r = ligature(text.charAt(i));
            if (r != null && sb == null) {
                sb = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            if (sb != null) {
                if (r != null) {
                    sb.append(r);
                } else {
                    sb.append(text.charAt(i));
                }
            }
        }
        return sb == null ? text : sb.toString();
    }

    private static String ligature(char c) {
        return switch (c) {
            case '\u0132' -> "IJ"; // Dutch
            case '\u0133' -> "ij";
            case '\u0149' -> "\u02bcn"; // Afrikaans ŉ
            case '\u01f1' -> "DZ"; // Serbian/Croatian digraphs
            case '\u01f2' -> "Dz";
            case '\u01f3' -> "dz";
            case '\u01c4' -> "D\u017d";
            case '\u01c5' -> "D\u017e";
            case '\u01c6' -> "d\u017e";
            case '\u01c7' -> "LJ";
            case '\u01c8' -> "Lj";
            case '\u01c9' -> "lj";
            case '\u01ca' -> "NJ";
            case '\u01cb' -> "Nj";
            case '\u01cc' -> "nj";
            case '\ufb00' -> "ff"; // typographic ligatures
            case '\ufb01' -> "fi";
            case '\ufb02' -> "fl";
            case '\ufb03' -> "ffi";
            case '\ufb04' -> "ffl";
            case '\ufb05' -> "\u017ft";
            case '\ufb06' -> "st";
            default -> null;
        };
    }

    /** ftfy {@code fix_character_width}: U+3000 → space, U+FF01–U+FFEF → their NFKC form. */
    static String fixCharacterWidth(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String r = null;
            if (c == '\u3000') {
                r = " ";
            } else if (c >= '\uff01' && c <= '\uffef') {
                String n = Normalizer.normalize(String.valueOf(c), Normalizer.Form.NFKC);
                if (!n.equals(String.valueOf(c))) {
                    r = n;
                }
            }
            if (r != null && sb == null) {
                sb = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (sb != null) {
                if (r != null) {
                    sb.append(r);
                } else {
                    sb.append(c);
                }
            }
        }
        return sb == null ? text : sb.toString();
    }

    /** ftfy {@code uncurl_quotes}: curly single quotes (and U+02BC) → {@code '}, curly double → {@code "}. */
    static String uncurlQuotes(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            char r = c == '\u02bc' || (c >= '\u2018' && c <= '\u201b') ? '\''
                    : c >= '\u201c' && c <= '\u201f' ? '"' : c;
            if (r != c && sb == null) {
                sb = new StringBuilder(text).delete(i, text.length());
            }
            if (sb != null) {
                sb.append(r);
            }
        }
        return sb == null ? text : sb.toString();
    }

    /** ftfy {@code fix_line_breaks}. */
    static String fixLineBreaks(String text) {
        return text.replace("\r\n", "\n").replace('\r', '\n').replace('\u2028', '\n').replace('\u2029', '\n')
                .replace('\u0085', '\n');
    }

    /** ftfy {@code fix_surrogates}: a Java string's unpaired surrogates become U+FFFD. */
    static String fixSurrogates(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean paired = Character.isHighSurrogate(c) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1));
            if (paired) {
                if (sb != null) {
                    sb.append(c).append(text.charAt(i + 1));
                }
                i++;
                continue;
            }
            boolean lone = Character.isSurrogate(c);
            if (lone && sb == null) {
                sb = new StringBuilder(text).delete(i, text.length());
            }
            if (sb != null) {
                sb.append(lone ? '\uFFFD' : c);
            }
        }
        return sb == null ? text : sb.toString();
    }

    /** ftfy {@code remove_terminal_escapes}: ANSI colour and cursor codes. */
    static String removeTerminalEscapes(String text) {
        return text.indexOf('\u001b') < 0 ? text : ANSI_ESCAPE.matcher(text).replaceAll("");
    }

    /** ftfy {@code remove_control_chars} (ftfy chardata.CONTROL_CHARS). */
    static String removeControlChars(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean remove = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F
                    || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
            if (remove && sb == null) {
                sb = new StringBuilder(text).delete(i, text.length());
            }
            if (sb != null && !remove) {
                sb.append(c);
            }
        }
        return sb == null ? text : sb.toString();
    }
}
