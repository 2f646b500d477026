package dev.perfusion.clip;

import java.util.regex.Pattern;

/**
 * ftfy's mojibake detector ({@code ftfy.badness.is_bad}, ftfy 6): a regular expression over a few hundred
 * characters that appear when UTF-8 is decoded with a single-byte code page, matching sequences that are far
 * more likely to be mojibake than intended text (an accented lower-case letter followed by a currency sign,
 * {@code â€}, a C1 control character, …). ftfy only tries to re-decode text this flags.
 *
 * <p>The character classes and alternatives are ftfy's {@code MOJIBAKE_CATEGORIES} and {@code BADNESS_RE}
 * (facts carried over one by one; the regex is rebuilt here without verbose mode, since Java's comments mode
 * would also drop the spaces inside character classes).
 */
final class FtfyBadness {
    // ftfy MOJIBAKE_CATEGORIES, as regex character-class bodies (a '-' between two characters is a range)
    /** No-break space, soft hyphen, middle dot, acute accent, en/em dash, horizontal bar, ellipsis, ’. */
    private static final String COMMON = "\u00a0\u00ad\u00b7\u00b4\u2013\u2014\u2015\u2026\u2019";
    private static final String C1 = "\u0080-\u009f";
    /** ¦ ¤ ¨ ¬ ¯ ¸ ƒ ˆ ˇ ˘ ˛ ˜ † ‡ ‰ ⌐ ◊ � ª º: nearly always mojibake. */
    private static final String BAD = "\u00a6\u00a4\u00a8\u00ac\u00af\u00b8\u0192\u02c6\u02c7\u02d8\u02db\u02dc"
            + "\u2020\u2021\u2030\u2310\u25ca\ufffd\u00aa\u00ba";
    private static final String LAW = "\u00b6\u00a7";
    private static final String CURRENCY = "\u00a2\u00a3\u00a5\u20a7\u20ac";
    /** ¡ « ¿ © ΄ ΅ ‘ ‚ “ „ • ‹ and the Apple-logo private-use character. */
    private static final String START_PUNCTUATION = "\u00a1\u00ab\u00bf\u00a9\u0384\u0385\u2018\u201a\u201c"
            + "\u201e\u2022\u2039\uf8ff";
    /** ® » ˝ ” › ™. */
    private static final String END_PUNCTUATION = "\u00ae\u00bb\u02dd\u201d\u203a\u2122";
    /** ² ³ ¹ ± ¼ ½ ¾ × µ ÷ ⁄ ∂ ∆ ∏ ∑ √ ∞ ∩ ∫ ≈ ≠ ≡ ≤ ≥ №. */
    private static final String NUMERIC = "\u00b2\u00b3\u00b9\u00b1\u00bc\u00bd\u00be\u00d7\u00b5\u00f7\u2044"
            + "\u2202\u2206\u220f\u2211\u221a\u221e\u2229\u222b\u2248\u2260\u2261\u2264\u2265\u2116";
    /** Letters used to draw faces (Ò-Ö Ù-Ü ò-ö ø-ü Ő Ō Ū Ų °), allowed in odd company. */
    private static final String KAOMOJI = "\u00d2-\u00d6\u00d9-\u00dc\u00f2-\u00f6\u00f8-\u00fc\u0150\u014c"
            + "\u016a\u0172\u00b0";
    private static final String UPPER_ACCENTED = "\u00c0-\u00d1\u00d8\u00dc\u00dd\u0102\u0100\u0104\u0106"
            + "\u010c\u010e\u0110\u0118\u011a\u0112\u0116\u011e\u0122\u0130\u012a\u0136\u0139\u013d\u0141\u013b"
            + "\u0143\u0147\u0145\u0152\u0158\u015a\u015e\u0160\u0162\u0164\u016e\u0170\u0178\u0179\u017b\u017d"
            + "\u0490";
    private static final String LOWER_ACCENTED = "\u00df\u00e0-\u00f1\u0103\u0105\u0101\u0107\u010d\u010f"
            + "\u0111\u0119\u011b\u0113\u0117\u011f\u0123\u012f\u012b\u0137\u013a\u013e\u0142\u013c\u0153\u0155"
            + "\u015b\u015f\u0161\u0165\u00fc\u017a\u017c\u017e\u0491\ufb01\ufb02";
    /** Þ, Greek capitals (with tonos and dialytika), Cyrillic Ё–Я. */
    private static final String UPPER_COMMON = "\u00de\u0391-\u03a9\u0386\u0388\u0389\u038a\u038c\u038e\u038f"
            + "\u03aa\u03ab\u0401-\u042f";
    /** Greek small letters (with tonos), Cyrillic а–џ. */
    private static final String LOWER_COMMON = "\u03b1-\u03c9\u03ac\u03ad\u03ae\u03af\u03b0\u0430-\u045f";
    /** Box-drawing characters (not the single horizontal line, used in kaomoji). */
    private static final String BOX = "\u2502\u250c\u2510\u2518\u251c\u2524\u252c\u253c\u2550-\u256c\u2580"
            + "\u2584\u2588\u258c\u2590\u2591\u2592\u2593";

    private static final Pattern BADNESS = Pattern.compile(String.join("|",
            c(C1),
            c(BAD + LOWER_ACCENTED + UPPER_ACCENTED + BOX + START_PUNCTUATION + END_PUNCTUATION + CURRENCY
                    + NUMERIC + LAW) + c(BAD),
            "[a-zA-Z]" + c(LOWER_COMMON + UPPER_COMMON) + c(BAD),
            c(BAD) + c(LOWER_ACCENTED + UPPER_ACCENTED + BOX + START_PUNCTUATION + END_PUNCTUATION + CURRENCY
                    + NUMERIC + LAW),
            c(LOWER_ACCENTED + LOWER_COMMON + BOX + END_PUNCTUATION + CURRENCY + NUMERIC) + c(UPPER_ACCENTED),
            c(BOX + END_PUNCTUATION + CURRENCY + NUMERIC) + c(LOWER_ACCENTED),
            c(LOWER_ACCENTED + BOX + END_PUNCTUATION) + c(CURRENCY),
            "\\s" + c(UPPER_ACCENTED) + c(CURRENCY),
            c(UPPER_ACCENTED + BOX) + c(NUMERIC + LAW),
            c(LOWER_ACCENTED + UPPER_ACCENTED + BOX + CURRENCY + END_PUNCTUATION) + c(START_PUNCTUATION)
                    + c(NUMERIC),
            c(LOWER_ACCENTED + UPPER_ACCENTED + CURRENCY + NUMERIC + BOX + LAW) + c(END_PUNCTUATION)
                    + c(START_PUNCTUATION),
            c(CURRENCY + NUMERIC + BOX) + c(START_PUNCTUATION),
            "[a-z]" + c(UPPER_ACCENTED) + c(START_PUNCTUATION + CURRENCY),
            c(BOX) + c(KAOMOJI),
            c(LOWER_ACCENTED + UPPER_ACCENTED + CURRENCY + NUMERIC + START_PUNCTUATION + END_PUNCTUATION + LAW)
                    + c(BOX),
            c(BOX) + c(END_PUNCTUATION),
            c(LOWER_ACCENTED + UPPER_ACCENTED) + c(START_PUNCTUATION + END_PUNCTUATION) + "\\w",
            // the ligature œ when not followed by an unaccented Latin letter
            "[\u0152\u0153][^A-Za-z]",
            // degree signs after capital letters
            c(UPPER_ACCENTED) + "\u00b0",
            // common Windows-1252 two-character mojibake not covered above
            "[\u00c2\u00c3\u00ce\u00d0]" + c("\u20ac\u0153\u0160\u0161\u00a2\u00a3\u0178\u017e\u00a0\u00ad\u00ae"
                    + "\u00a9\u00b0\u00b7\u00bb" + START_PUNCTUATION + END_PUNCTUATION + "\u2013\u2014\u00b4"),
            "\u00d7[\u00b2\u00b3]",
            // Windows-1252 mojibake of Arabic: 'common' characters allowed, so four characters are required
            "[\u00d8\u00d9]" + c(COMMON + CURRENCY + BAD + NUMERIC + START_PUNCTUATION
                    + "\u0178\u0160\u00ae\u00b0\u00b5\u00bb")
                    + "[\u00d8\u00d9]" + c(COMMON + CURRENCY + BAD + NUMERIC + START_PUNCTUATION
                    + "\u0178\u0160\u00ae\u00b0\u00b5\u00bb"),
            // Windows-1252 mojibake starting three-character sequences of some South Asian scripts
            "\u00e0[\u00b2\u00b5\u00b9\u00bc\u00bd\u00be]",
            // MacRoman mojibake not covered above
            "\u221a[\u00b1\u2202\u2020\u2260\u00ae\u2122\u00b4\u2264\u2265\u00a5\u00b5\u00f8]",
            "\u2248[\u00b0\u00a2]",
            "\u201a\u00c4[\u00ec\u00ee\u00ef\u00f2\u00f4\u00fa\u00f9\u00fb\u2020\u00b0\u00a2\u03c0]",
            "\u201a[\u00e2\u00f3][\u00e0\u00e4\u00b0\u00ea]",
            // Windows-1251 mojibake of characters in the U+2000 range
            "\u0432\u0402",
            // Windows-1251 mojibake of Latin-1 and/or Cyrillic: a three-character sequence is required
            "[\u0412\u0413\u0420\u0421]" + c(C1 + BAD + START_PUNCTUATION + END_PUNCTUATION + CURRENCY
                    + "\u00b0\u00b5") + "[\u0412\u0413\u0420\u0421]",
            // Windows-1251 on top of Latin-1 mojibake of Windows-1252 characters, next to a Latin letter
            "\u0413\u045e\u0412\u0402\u0412.[A-Za-z ]",
            // Windows-1252 encodings of 'à' and 'á', and of U+00A0 itself
            "\u00c3[\u00a0\u00a1]",
            "[a-z]\\s?[\u00c3\u00c2] ",
            "^[\u00c3\u00c2] ",
            // Â before a character encoding exactly that character, when the character is common enough
            "[a-z.,?!" + END_PUNCTUATION + "]\u00c2[ " + START_PUNCTUATION + END_PUNCTUATION + "]",
            // Windows-1253 mojibake of characters in the U+2000 range
            "\u03b2\u20ac[\u2122\u00a0\u0386\u00ad\u00ae\u00b0]",
            // Windows-1253 mojibake of Latin-1 and/or Greek
            "[\u0392\u0393\u039e\u039f]" + c(C1 + BAD + START_PUNCTUATION + END_PUNCTUATION + CURRENCY + "\u00b0")
                    + "[\u0392\u0393\u039e\u039f]",
            // Windows-1257 mojibake of characters in the U+2000 range
            "\u0101\u20ac"), Pattern.UNICODE_CHARACTER_CLASS);

    private FtfyBadness() {
    }

    /** ftfy {@code is_bad}: true when the text contains at least one likely-mojibake sequence. */
    static boolean isBad(String text) {
        return BADNESS.matcher(text).find();
    }

    /** A character class from class bodies. */
    private static String c(String body) {
        return "[" + body + "]";
    }
}
