package dev.perfusion.clip;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * CLIP's prompt clean-up before the regex split, in the two variants of the two reference tokenizers:
 * <ul>
 *   <li>{@link #cleanOpenAi} (OpenAI {@code simple_tokenizer.py}): {@code ftfy.fix_text}, {@code html.unescape}
 *       twice, strip, collapse whitespace runs to one space, strip, lower-case;</li>
 *   <li>{@link #cleanTransformers} (transformers' {@code CLIPTokenizer}, which Stable Diffusion uses):
 *       {@code ftfy.fix_text}, collapse whitespace, strip, lower-case, without the extra
 *       {@code html.unescape} (ftfy already decodes entities in text without a literal {@code <}).</li>
 * </ul>
 * "Whitespace" is Unicode White_Space, as in the {@code regex} module's {@code \s}; strip removes Python's
 * {@code str.isspace()} characters (the same plus U+001C–U+001F); lower-casing uses the full Unicode mapping
 * ({@code İ} → {@code i̇}, final sigma), as Python's {@code str.lower()} does.
 */
final class TextCleaner {
    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);

    private TextCleaner() {
    }

    /** OpenAI CLIP: {@code whitespace_clean(basic_clean(text)).lower()}. */
    static String cleanOpenAi(String text) {
        String t = Ftfy.fixText(text);
        t = HtmlUnescape.unescape(HtmlUnescape.unescape(t));
        t = pythonStrip(t);
        return whitespaceClean(t).toLowerCase(Locale.ROOT);
    }

    /** transformers CLIPTokenizer: {@code whitespace_clean(ftfy.fix_text(text)).lower()}. */
    static String cleanTransformers(String text) {
        return whitespaceClean(Ftfy.fixText(text)).toLowerCase(Locale.ROOT);
    }

    /** CLIP {@code whitespace_clean}: runs of whitespace become one space, then strip. */
    static String whitespaceClean(String text) {
        return pythonStrip(WHITESPACE.matcher(text).replaceAll(" "));
    }

    /** Python {@code str.strip()}: removes leading and trailing {@code isspace()} characters. */
    static String pythonStrip(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && isPythonSpace(text.charAt(start))) {
            start++;
        }
        while (end > start && isPythonSpace(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(start, end);
    }

    /** Python {@code str.isspace()} for one character (all such characters are in the BMP). */
    static boolean isPythonSpace(char c) {
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }
}
