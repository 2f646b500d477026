package dev.perfusion.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ftfy port ({@link Ftfy}, {@link FtfyEncodingFixer}, {@link FtfyBadness}) and the HTML unescaping
 * ({@link HtmlUnescape}) against outputs of the Python originals. The expected strings were produced with
 * Python 3.11's {@code html} module and ftfy 6.3.1 (the goldens used 6.1.1); most inputs are ftfy's own
 * documented examples. During development the port was also compared with ftfy 6.3.1 on about 4,900 generated
 * prompts (mojibake through all ten code pages, entities, control characters, full-width forms, random Unicode)
 * with identical output.
 */
@Tag("unit")
class FtfyTest {

    static Stream<Arguments> fixTextCases() {
        String[][] cases = {
            {"u\u00cc\u02c6nicode", "\u00fcnicode"},
            {"Broken text&hellip; it&#x2019;s \ufb02ubberi\ufb01c!", "Broken text\u2026 it's flubberific!"},
            {"HTML entities &lt;3", "HTML entities <3"},
            {"<em>HTML entities &lt;3</em>", "<em>HTML entities &lt;3</em>"},
            {"&macr;\\_(\u00e3\u0083\u0084)_/&macr;", "\u00af\\_(\u30c4)_/\u00af"},
            {"\ufeffParty like\nit&rsquo;s 1999!", "Party like\nit's 1999!"},
            {"\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33", "LOUD NOISES"},
            {"voil\u00c3 le travail", "voil\u00e0 le travail"},
            {"s\u00c3\u00b3", "s\u00f3"},
            {"\u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d", "\"quoted\""},
            {"This text was never UTF-8 at all\u0085", "This text was never UTF-8 at all\u2026"},
            {"not such a fan of Charlotte Bront\u00eb\u2026\u201d", "not such a fan of Charlotte Bront\u00eb\u2026\""},
            {"\u001b[36;44mI'm blue\u001b[0m", "I'm blue"},
            {"zero-width\u200bspace", "zero-width\u200bspace"},
            {"e\u0301", "\u00e9"},
            {"P&EACUTE;REZ", "P\u00c9REZ"},
            {"BUNDESSTRA&SZLIG;E", "BUNDESSTRASSE"},
            {"caf\u00c3\u00a9 na\u00c3\u00afve", "caf\u00e9 na\u00efve"},
            {"caf\u00e9 na\u00efve", "caf\u00e9 na\u00efve"},
            {"\u00d0\u0178\u00d1\u20ac\u00d0\u00b8\u00d0\u00b2\u00d0\u00b5\u00d1\u201a", "\u041f\u0440\u0438\u0432\u0435\u0442"},
            {"a &amp; b\n<b> &amp;\n&amp;", "a & b\n<b> &amp;\n&amp;"},
            {"\uff35\uff80\uff70\uff9d", "U\u30bf\u30fc\u30f3"},
            {"x\u200d\u2066y\ufffcz", "x\u200d\u2066yz"},
            {"\u2018a\u2019 \u201cb\u201d \u02bc", "'a' \"b\" '"},
            {"line\r\nbreak\rmac\u2028sep\u0085", "line\nbreak\nmac\nsep\u2026"},
            {"\u00f0\u0178\u02dc\u20ac emoji", "\ud83d\ude00 emoji"},
            {"\u00c3\u00a2\u00e2\u201a\u00ac\u00c5\u201cdouble mojibake\u00c3\u00a2\u00e2\u201a\u00ac\u00c2\u009d", "\"double mojibake\""},
            {"\u00c3\u00banico\u00c2\u00bf", "\u00fanico\u00bf"},
            {"\u00e2\u20ac\u0153 like this \u00e2\u20ac\ufffd", "\" like this \ufffd"},
            {"\u00c3 la mode", "\u00e0 la mode"},
            {"\ufb01nal \u0132ssel \u01c5", "final IJssel D\u017e"},
            {"\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8"},
            // mojibake next to text that is fine: fixed piecewise (decode_inconsistent_utf8)
            {"Bront\u00eb said \u00e2\u20ac\u0153hi\u00e2\u20ac\u009d", "Bront\u00eb said \"hi\""},
            {"\u65e5\u672c caf\u00c3\u00a9", "\u65e5\u672c caf\u00e9"},
            {"price 10\u20ac, caf\u00c3\u00a9", "price 10\u20ac, caf\u00e9"}
        };
        return Stream.of(cases).map(c -> Arguments.of(c[0], c[1]));
    }

    @ParameterizedTest
    @MethodSource("fixTextCases")
    void fixTextMatchesFtfy(String input, String expected) {
        assertEquals(expected, Ftfy.fixText(input));
    }

    @Test
    void fixTextIsIdempotent() {
        fixTextCases().forEach(a -> {
            String once = (String) a.get()[1];
            assertEquals(once, Ftfy.fixText(once));
        });
    }

    static Stream<Arguments> htmlCases() {
        // input, Python html.unescape, ftfy fixes.unescape_html
        String[][] cases = {
            {"&amp", "&", "&amp"},
            {"&ampx", "&x", "&ampx"},
            {"&#0;", "\ufffd", "\ufffd"},
            {"&#x80;", "\u20ac", "\u20ac"},
            {"&#150;", "\u2013", "\u2013"},
            {"&#xD800;", "\ufffd", "\ufffd"},
            {"&#1114112;", "\ufffd", "\ufffd"},
            {"&#1;", "", ""},
            {"&notit;", "\u00acit;", "&notit;"},
            {"&notin;", "\u2209", "\u2209"},
            {"&AMP;", "&", "&"},
            {"&#39;", "'", "'"},
            {"&lt&gt", "<>", "&lt&gt"},
            {"a&b", "a&b", "a&b"},
            {"&;", "&;", "&;"},
            {"&#x1F600;", "\ud83d\ude00", "\ud83d\ude00"},
            {"&#65", "A", "&#65"},
            {"&#xffff;", "", ""},
            {"&#13;", "\r", "\r"},
            {"&copy2023", "\u00a92023", "&copy2023"},
            {"&amp;amp;", "&amp;", "&amp;"},
            {"&NotEqualTilde;", "\u2242\u0338", "\u2242\u0338"},
            {"&#99999999999999999999;", "\ufffd", "\ufffd"},
        };
        return Stream.of(cases).map(c -> Arguments.of(c[0], c[1], c[2]));
    }

    @ParameterizedTest
    @MethodSource("htmlCases")
    void htmlUnescapeMatchesPython(String input, String pythonUnescape, String ftfyUnescape) {
        assertEquals(pythonUnescape, HtmlUnescape.unescape(input), "html.unescape");
        assertEquals(ftfyUnescape, HtmlUnescape.unescapeFtfy(input), "ftfy unescape_html");
    }

    @Test
    void ftfyEntityTableHasPythonsSize() {
        // len(ftfy.chardata.HTML_ENTITIES) with Python 3.11: 2,125 names ending in ';' plus 1,376 all-caps spellings
        assertEquals(3501, HtmlUnescape.ftfyEntityCount());
    }

    @Test
    void badnessFlagsMojibakeOnly() {
        assertTrue(FtfyBadness.isBad("caf\u00c3\u00a9"));
        assertTrue(FtfyBadness.isBad("\u00e2\u20ac\u0153quoted"));
        assertTrue(FtfyBadness.isBad("x\u0085y"));
        for (String fine : new String[] {"caf\u00e9 na\u00efve r\u00e9sum\u00e9", "\u041f\u0440\u0438\u0432\u0435\u0442",
            "\u65e5\u672c\u8a9e", "em\u2014dash \u2013 \u2026", "10\u00b0C \u00a35 \u00a92023", "\u2211 \u222b \u221a \u2260"}) {
            assertFalse(FtfyBadness.isBad(fine), fine);
        }
    }

    @Test
    void codePagesMatchPythonCodecs() {
        // every code page ftfy tries must be present in the JDK, in ftfy's order
        assertEquals(java.util.List.of("latin-1", "sloppy-windows-1252", "sloppy-windows-1251", "sloppy-windows-1250",
                "sloppy-windows-1253", "sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2", "macroman", "cp437"),
                SingleByteCharmap.FTFY_ORDER.stream().map(SingleByteCharmap::name).toList());
        SingleByteCharmap cp1252 = SingleByteCharmap.SLOPPY_WINDOWS_1252;
        assertEquals('\u20ac', cp1252.decode(0x80));
        assertEquals('\u0081', cp1252.decode(0x81)); // a hole, filled with the Latin-1 character
        assertFalse(cp1252.isDefined(0x81));
        assertEquals('\ufffd', cp1252.decode(0x1A)); // ftfy's stand-in for a lost byte
        assertFalse(cp1252.canEncode("\u001a"));
        assertTrue(SingleByteCharmap.LATIN_1.canEncode("\u001a"));
    }

    @Test
    void cleanersFollowTheirReferences() {
        // OpenAI unescapes HTML after ftfy even when ftfy would not (a literal '<' turns ftfy's unescaping off)
        assertEquals("<b> & x", TextCleaner.cleanOpenAi("<B>  &amp; X "));
        assertEquals("<b> &amp; x", TextCleaner.cleanTransformers("<B>  &amp; X "));
        assertEquals("a b", TextCleaner.whitespaceClean("\u3000a\u00a0\u2028 b\u001f"));
        assertEquals("i\u0307stanbul", TextCleaner.cleanOpenAi("\u0130stanbul")); // full lower-case mapping
    }
}
