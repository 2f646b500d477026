package dev.perfusion.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading, added tokens, truncation, decoding and error messages of {@link CLIPTokenizer}. */
@Tag("unit")
class CLIPTokenizerTest {
    static final Path TOKENIZER_DIR = CLIPTokenizerGoldenTest.TOKENIZER_DIR;
    static final Path BPE_GZ = Path.of("src/test/resources/golden/clip-vocab/bpe_simple_vocab_16e6.txt.gz");

    private static CLIPTokenizer fromFolder;
    private static CLIPTokenizer fromGz;

    @BeforeAll
    static void load() {
        fromFolder = CLIPTokenizer.fromFolder(TOKENIZER_DIR);
        fromGz = CLIPTokenizer.fromBpeGz(BPE_GZ);
    }

    // ---- loading ------------------------------------------------------------------------------------------

    @Test
    void bothLoadingPathsGiveTheSameTokenizer() {
        assertEquals(49408, fromFolder.vocabSize());
        assertEquals(49408, fromGz.vocabSize());
        assertEquals(48894, fromFolder.vocabulary().merges().size());
        assertEquals(fromFolder.vocabulary().merges(), fromGz.vocabulary().merges());
        assertEquals(fromFolder.vocabulary().encoder(), fromGz.vocabulary().encoder()); // every token, same id
        assertEquals(49406, fromGz.bosId());
        assertEquals(49407, fromGz.eosId());
        assertEquals(0, fromGz.tokenId("!"));
        assertEquals(256, fromGz.tokenId("!</w>"));
        assertEquals("\u0100", fromGz.token(188)); // byte 0x00, the first remapped byte, follows the 188 printable
        String prompt = "A photo of an astronaut riding a horse on mars";
        assertArrayEquals(fromFolder.encode(prompt), fromGz.encode(prompt));
    }

    @Test
    void missingFolderOrFilesAreNamed(@TempDir Path dir) throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CLIPTokenizer.fromFolder(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("nope"), e.getMessage());

        Files.copy(TOKENIZER_DIR.resolve("merges.txt"), dir.resolve("merges.txt"));
        e = assertThrows(IllegalArgumentException.class, () -> CLIPTokenizer.fromFolder(dir));
        assertTrue(e.getMessage().contains(dir.resolve("vocab.json").toString()), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> CLIPTokenizer.fromBpeGz(dir.resolve("bpe.txt.gz")));
        assertTrue(e.getMessage().contains("bpe.txt.gz"), e.getMessage());
    }

    @Test
    void corruptMergesLineIsNamedWithItsLineNumber(@TempDir Path dir) throws IOException {
        Files.copy(TOKENIZER_DIR.resolve("vocab.json"), dir.resolve("vocab.json"));
        List<String> lines = Files.readAllLines(TOKENIZER_DIR.resolve("merges.txt"), StandardCharsets.UTF_8);
        assertEquals("#version: 0.2", lines.get(0));
        lines.set(4, "in"); // line 5: one symbol, no space
        Files.write(dir.resolve("merges.txt"), lines, StandardCharsets.UTF_8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CLIPTokenizer.fromFolder(dir));
        assertTrue(e.getMessage().contains("merges.txt line 5"), e.getMessage());
        assertTrue(e.getMessage().contains("'in'"), e.getMessage());

        lines.set(4, "q z"); // well formed, but "qz" is no vocabulary entry
        Files.write(dir.resolve("merges.txt"), lines, StandardCharsets.UTF_8);
        e = assertThrows(IllegalArgumentException.class, () -> CLIPTokenizer.fromFolder(dir));
        assertTrue(e.getMessage().contains("line 5") && e.getMessage().contains("'qz'"), e.getMessage());
    }

    @Test
    void corruptVocabAndGzAreNamed(@TempDir Path dir) throws IOException {
        Files.copy(TOKENIZER_DIR.resolve("merges.txt"), dir.resolve("merges.txt"));
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 1,");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CLIPTokenizer.fromFolder(dir));
        assertTrue(e.getMessage().contains("vocab.json") && e.getMessage().contains("not valid JSON"), e.getMessage());

        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 1}");
        e = assertThrows(IllegalArgumentException.class, () -> CLIPTokenizer.fromFolder(dir));
        assertTrue(e.getMessage().contains("vocab.json") && e.getMessage().contains("byte symbol"), e.getMessage());

        Path notGzip = dir.resolve("bpe_simple_vocab_16e6.txt.gz");
        Files.writeString(notGzip, "#version\ni n\n");
        e = assertThrows(IllegalArgumentException.class, () -> CLIPTokenizer.fromBpeGz(notGzip));
        assertTrue(e.getMessage().contains(notGzip.toString()) && e.getMessage().contains("gzip"), e.getMessage());
    }

    // ---- added tokens -------------------------------------------------------------------------------------

    @Test
    void addedTokensGetConsecutiveIdsAndAreMatchedWhole() {
        CLIPTokenizer tok = CLIPTokenizer.of(fromFolder.vocabulary()); // fresh: no added tokens, empty cache
        assertEquals(49408, tok.addToken("<teddy>"));
        assertEquals(49409, tok.addToken("<cat-toy>"));
        assertEquals(49408, tok.addToken("<teddy>")); // idempotent
        assertEquals(49410, tok.addToken("<cat>"));
        assertEquals(49411, tok.totalSize());
        assertEquals(List.of("<teddy>", "<cat-toy>", "<cat>"), tok.addedTokens());
        assertEquals(49409, tok.tokenId("<cat-toy>"));
        assertEquals("<cat>", tok.token(49410));

        // longest match wins; no spaces needed around a placeholder
        assertEquals(List.of("a</w>", "<cat-toy>", "and</w>", "<cat>", "b</w>"), tok.tokenize("a <cat-toy> and<cat>b"));
        // matching is case-sensitive, as transformers' added tokens: <Teddy> goes through BPE
        assertEquals(List.of("<</w>", "teddy</w>", "></w>"), tok.tokenize("<Teddy>"));
        // both variants honour added tokens
        assertEquals(49408, tok.encodeOpenAi("<teddy>")[1]);
        assertEquals("a photo of <teddy> on the beach ", tok.decode(tok.encode("a photo of <teddy> on the beach"), true));
        assertEquals(49408, tok.encodeDetailed("a <teddy>").inputIds()[2]);
    }

    @Test
    void addTokenRejectsEmptyAndExistingEntries() {
        CLIPTokenizer tok = CLIPTokenizer.of(fromFolder.vocabulary()); // fresh: no added tokens, empty cache
        assertThrows(IllegalArgumentException.class, () -> tok.addToken(""));
        assertThrows(IllegalArgumentException.class, () -> tok.addToken(null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.addToken("<|endoftext|>"));
        assertTrue(e.getMessage().contains("49407"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> tok.addToken("cat</w>"));
        assertTrue(e.getMessage().contains("vocabulary entry"), e.getMessage());
        assertEquals(49408, tok.totalSize());
    }

    // ---- SD input ids, truncation ---------------------------------------------------------------------------

    @Test
    void emptyPromptIsBosEosAndPadding() {
        int[] ids = fromFolder.encode("");
        assertEquals(77, ids.length);
        assertEquals(49406, ids[0]);
        for (int i = 1; i < 77; i++) {
            assertEquals(49407, ids[i]);
        }
        int[] openai = fromFolder.clipTokenize("   ");
        assertArrayEquals(new int[] {49406, 49407, 0, 0}, Arrays.copyOf(openai, 4));
    }

    @Test
    void truncationKeeps75TokensAndWarnsAboutTheRest() {
        String prompt = "cat ".repeat(75) + "dog bird";
        PrintStream originalErr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        TokenizedPrompt tp;
        try {
            // slf4j-simple (the test binding) writes to whatever System.err is at the time of the call
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            tp = fromFolder.encodeDetailed(prompt);
        } finally {
            System.setErr(originalErr);
        }
        assertTrue(tp.truncated());
        assertEquals(75, tp.tokens().size());
        assertEquals(List.of("dog</w>", "bird</w>"), tp.cutTokens());
        assertEquals("dog bird", tp.cutText());
        assertEquals(77, tp.untruncatedTokenCount());
        int[] ids = tp.inputIds();
        assertEquals(49406, ids[0]);
        assertEquals(fromFolder.tokenId("cat</w>"), ids[75]);
        assertEquals(49407, ids[76]);
        String log = captured.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("WARN") && log.contains("\"dog bird\""), "warning not logged: " + log);

        int[] clip = fromFolder.clipTokenize(prompt);
        assertEquals(49407, clip[76]);
        assertArrayEquals(Arrays.copyOf(ids, 76), Arrays.copyOf(clip, 76));
        assertEquals(79, fromFolder.encodeUntruncated(prompt).length);

        TokenizedPrompt fits = fromFolder.encodeDetailed("cat ".repeat(75));
        assertFalse(fits.truncated());
        assertEquals(List.of(), fits.cutTokens());
        assertEquals("", fits.cutText());
    }

    @Test
    void inputIdsAreDefensivelyCopied() {
        TokenizedPrompt tp = fromFolder.encodeDetailed("a cat");
        tp.inputIds()[1] = -5;
        assertNotEquals(-5, tp.inputIds()[1]);
    }

    // ---- decoding -----------------------------------------------------------------------------------------

    @Test
    void decodeRoundTripsPlainAsciiPrompts() {
        List<String> prompts = new java.util.ArrayList<>(List.of("the quick brown fox jumps over the lazy dog",
                "antidisestablishmentarianism and floccinaucinihilipilification", "a b c d e f g", "sks"));
        for (Map<String, Object> c : CLIPTokenizerGoldenTest.cases()) {
            String p = (String) c.get("prompt");
            if (p.matches("[A-Za-z ]+")) {
                prompts.add(p);
            }
        }
        assertTrue(prompts.size() >= 10, "too few plain prompts: " + prompts);
        for (String p : prompts) {
            String expected = p.strip().replaceAll(" +", " ").toLowerCase(java.util.Locale.ROOT);
            assertEquals(expected, fromFolder.decode(fromFolder.encodeUntruncated(p), true).strip(), p);
            assertEquals(expected, fromFolder.decode(fromFolder.encodeOpenAi(p), true).strip(), p);
        }
    }

    @Test
    void decodeHandlesSpecialTokensBytesAndBadIds() {
        assertEquals("<|startoftext|>a cat <|endoftext|>", fromFolder.decode(fromFolder.encodeOpenAi("a cat")));
        // a lone UTF-8 lead byte decodes to U+FFFD, as errors="replace" does
        int lead = fromFolder.tokenId("\u00e6</w>"); // byte 0xE6 alone
        assertEquals("\ufffd ", fromFolder.decode(new int[] {lead}));
        assertEquals("\u00e9 ", fromFolder.decode(fromFolder.encodeOpenAi("\u00e9"), true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> fromFolder.decode(new int[] {1, 49408}));
        assertTrue(e.getMessage().contains("49408") && e.getMessage().contains("position 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> fromFolder.decode(new int[] {-1}));
    }

    // ---- BPE and cache ------------------------------------------------------------------------------------

    @Test
    void bpeCachesWordsAndMatchesKnownSplits() {
        CLIPTokenizer tok = CLIPTokenizer.of(fromFolder.vocabulary()); // fresh: no added tokens, empty cache
        assertEquals(0, tok.bytePairEncoder().cacheSize());
        List<String> first = tok.tokenize("supercalifragilisticexpialidocious");
        assertEquals(List.of("super", "cali", "frag", "ili", "stic", "expi", "ali", "do", "cious</w>"), first);
        assertEquals(1, tok.bytePairEncoder().cacheSize());
        assertEquals(first, tok.tokenize("supercalifragilisticexpialidocious"));
        assertEquals(1, tok.bytePairEncoder().cacheSize());
        // special tokens stay whole and are not cached
        assertEquals(List.of("<|startoftext|>", "a</w>"), tok.tokenizeOpenAi("<|startoftext|>a"));
        assertEquals(List.of("a</w>"), tok.tokenize("a"));
    }

    @Test
    void literalSpecialTokensDifferOnlyAtTheEdgesBetweenVariants() {
        // transformers cuts special tokens out before cleaning; OpenAI finds them with its regex afterwards
        assertEquals(List.of("!</w>", "<|endoftext|>"), fromFolder.tokenize("!<|endoftext|>"));
        assertEquals(List.of("!", "<", "|</w>", "endof", "text</w>", "|", "></w>"),
                fromFolder.tokenizeOpenAi("!<|endoftext|>"));
        // both lower-case first, so an upper-case spelling is still the special token
        assertEquals(49407, fromFolder.encodeUntruncated("<|ENDOFTEXT|>")[1]);
        assertEquals(49407, fromFolder.encodeOpenAi("<|ENDOFTEXT|>")[1]);
    }

    @Test
    void combiningYpogegrammeniIsSkippedAsByClipsRegex() {
        // the regex module with IGNORECASE matches U+0345 with no alternative (checked with regex 2026.5.9)
        assertEquals(List.of("a</w>", "b</w>"), fromFolder.tokenizeOpenAi("a\u0345b"));
        assertEquals(List.of("!</w>", "!</w>"), fromFolder.tokenize("!\u0345!"));
    }

    @Test
    void nullPromptIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> fromFolder.encode(null));
    }
}
