package dev.perfusion.clip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTML character references, decoded the two ways CLIP's text cleaning needs:
 * <ul>
 *   <li>{@link #unescape}: Python's {@code html.unescape} (HTML5 rules), which OpenAI CLIP applies twice;</li>
 *   <li>{@link #unescapeFtfy}: ftfy's stricter {@code unescape_html}, a step of {@code ftfy.fix_text}.</li>
 * </ul>
 * The 2,231 HTML5 entity names come from the resource {@code html5-entities.tsv} (the WHATWG table, as
 * Python's {@code html.entities.html5} holds it; 106 of the names are also valid without their {@code ;}).
 */
final class HtmlUnescape {
    /** Python html._charref: {@code &} then a decimal, hex or named reference, the {@code ;} optional. */
    private static final Pattern CHARREF =
            Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
    /** ftfy chardata.HTML_ENTITY_RE: only references closed by {@code ;}. */
    private static final Pattern FTFY_ENTITY = Pattern.compile("&#?[0-9A-Za-z]{1,24};");

    private static final class Tables {
        /** name as written after {@code &} (with or without {@code ;}) → replacement text. */
        static final Map<String, String> HTML5 = loadHtml5();
        /** ftfy's HTML_ENTITIES: {@code &name;} → text, plus upper-cased variants of lower-case names. */
        static final Map<String, String> FTFY = buildFtfyEntities();
    }

    private HtmlUnescape() {
    }

    /**
     * Python {@code html.unescape(s)}: decodes every named and numeric character reference by the HTML5
     * rules. Named references without {@code ;} decode when they are one of the legacy names ({@code &amp},
     * {@code &lt}, {@code &copy}, …), taking the longest such prefix ({@code &ampx} → {@code &x}). Numeric
     * references: 0 and surrogates and values above U+10FFFF become U+FFFD, 0x80–0x9F are read as
     * Windows-1252 (and 0x0D stays CR), other control and non-character code points are dropped.
     */
    static String unescape(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        Matcher m = CHARREF.matcher(s);
        StringBuilder out = new StringBuilder(s.length());
        int last = 0;
        while (m.find()) {
            out.append(s, last, m.start()).append(replaceCharref(m.group(1)));
            last = m.end();
        }
        return out.append(s, last, s.length()).toString();
    }

    /**
     * ftfy {@code fixes.unescape_html}: decodes only references that end in {@code ;} and are at most 24
     * letters/digits long: HTML5 names, all-caps versions of lower-case names whose capitalised form is not
     * itself an entity ({@code &EACUTE;} → {@code É}), and numeric references that decode completely.
     */
    static String unescapeFtfy(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        Matcher m = FTFY_ENTITY.matcher(s);
        StringBuilder out = new StringBuilder(s.length());
        int last = 0;
        while (m.find()) {
            String ref = m.group();
            String replacement = Tables.FTFY.get(ref);
            if (replacement == null) {
                replacement = ref;
                if (ref.startsWith("&#")) {
                    String decoded = unescape(ref);
                    if (decoded.indexOf(';') < 0) { // html.unescape consumed the whole reference
                        replacement = decoded;
                    }
                }
            }
            out.append(s, last, m.start()).append(replacement);
            last = m.end();
        }
        return out.append(s, last, s.length()).toString();
    }

    /** Number of ftfy entity spellings (3,501 with Python 3.11's table; for tests). */
    static int ftfyEntityCount() {
        return Tables.FTFY.size();
    }

    private static String replaceCharref(String ref) {
        if (ref.charAt(0) == '#') {
            boolean hex = ref.length() > 1 && (ref.charAt(1) == 'x' || ref.charAt(1) == 'X');
            String digits = ref.substring(hex ? 2 : 1);
            if (digits.endsWith(";")) {
                digits = digits.substring(0, digits.length() - 1);
            }
            long num = parseCapped(digits, hex ? 16 : 10);
            String invalid = invalidCharref(num);
            if (invalid != null) {
                return invalid;
            }
            if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
                return "\uFFFD";
            }
            if (isInvalidCodepoint((int) num)) {
                return "";
            }
            return new String(Character.toChars((int) num));
        }
        Map<String, String> html5 = Tables.HTML5;
        String whole = html5.get(ref);
        if (whole != null) {
            return whole;
        }
        for (int x = ref.length() - 1; x > 1; x--) { // longest legacy prefix, as the HTML5 spec says
            String prefix = html5.get(ref.substring(0, x));
            if (prefix != null) {
                return prefix + ref.substring(x);
            }
        }
        return "&" + ref;
    }

    /** The value of the digits, or Long.MAX_VALUE when it exceeds any code point (Python has big ints). */
    private static long parseCapped(String digits, int radix) {
        long v = 0;
        for (int i = 0; i < digits.length(); i++) {
            v = v * radix + Character.digit(digits.charAt(i), radix);
            if (v > 0x10FFFF) {
                return Long.MAX_VALUE;
            }
        }
        return v;
    }

    /** Python html._invalid_charrefs: 0x00, 0x0D and the Windows-1252 reading of 0x80–0x9F. */
    private static String invalidCharref(long num) {
        if (num == 0x00) {
            return "\uFFFD";
        }
        if (num == 0x0D) {
            return "\r";
        }
        if (num >= 0x80 && num <= 0x9F) {
            return String.valueOf(SingleByteCharmap.SLOPPY_WINDOWS_1252.decode((int) num));
        }
        return null;
    }

    /** Python html._invalid_codepoints: C0/C1 controls (not tab, LF, FF, CR), U+FDD0–FDEF, xFFFE/xFFFF. */
    private static boolean isInvalidCodepoint(int cp) {
        return (cp >= 0x1 && cp <= 0x8) || cp == 0xB || (cp >= 0xE && cp <= 0x1F) || (cp >= 0x7F && cp <= 0x9F)
                || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
    }

    private static Map<String, String> loadHtml5() {
        Map<String, String> map = new HashMap<>(4096);
        String resource = "html5-entities.tsv";
        try (InputStream in = HtmlUnescape.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("resource " + resource + " is missing from the perfusion-core jar");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int tab = line.indexOf('\t');
                StringBuilder value = new StringBuilder(2);
                for (String hex : line.substring(tab + 1).split(" ")) {
                    value.appendCodePoint(Integer.parseInt(hex, 16));
                }
                map.put(line.substring(0, tab), value.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + resource, e);
        }
        return Collections.unmodifiableMap(map);
    }

    private static Map<String, String> buildFtfyEntities() {
        Map<String, String> map = new HashMap<>(8192);
        for (Map.Entry<String, String> e : Tables.HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";")) {
                continue;
            }
            map.put("&" + name, e.getValue());
            // ftfy also accepts an all-caps spelling of a lower-case name when that spelling is not
            // itself an entity (&EACUTE; -> É), upper-casing the character too (&SZLIG; -> SS)
            if (name.equals(name.toLowerCase(Locale.ROOT))) {
                String upper = "&" + name.toUpperCase(Locale.ROOT);
                if (unescape(upper).equals(upper)) {
                    map.put(upper, e.getValue().toUpperCase(Locale.ROOT));
                }
            }
        }
        return Collections.unmodifiableMap(map);
    }
}
