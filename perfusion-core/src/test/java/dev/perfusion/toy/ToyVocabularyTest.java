package dev.perfusion.toy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.JsonReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The toy tokenizer folder: format, one token per grammar word, added tokens, unknown words, atomic writing. */
@Tag("unit")
class ToyVocabularyTest {
    @TempDir
    static Path shared;

    private static Path dir;
    private static CLIPTokenizer tok;

    @BeforeAll
    static void writeAndLoad() {
        dir = shared.resolve("tokenizer");
        ToyVocabulary.write(dir);
        tok = CLIPTokenizer.fromFolder(dir);
    }

    @Test
    void folderHasTheFourFilesInClipFormat() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(ToyVocabulary.FILES.stream().sorted().toList(),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        List<String> merges = Files.readAllLines(dir.resolve("merges.txt"), StandardCharsets.UTF_8);
        assertEquals("#version: 0.2", merges.get(0));
        Map<?, ?> config = (Map<?, ?>) JsonReader.parse(Files.readString(dir.resolve("tokenizer_config.json")));
        assertEquals(77L, config.get("model_max_length"));
        assertEquals("CLIPTokenizer", config.get("tokenizer_class"));
        Map<?, ?> special = (Map<?, ?>) JsonReader.parse(Files.readString(dir.resolve("special_tokens_map.json")));
        assertEquals("<|endoftext|>", special.get("pad_token"));
        Map<?, ?> vocab = (Map<?, ?>) JsonReader.parse(Files.readString(dir.resolve("vocab.json")));
        assertEquals(ToyVocabulary.WORDS_VOCAB_SIZE, vocab.size());
        // 512 byte symbols, one id per merge, the two special tokens
        assertEquals(512 + merges.size() - 1 + 2, vocab.size());
        assertEquals("!", tok.token(0));
        assertEquals("!</w>", tok.token(256));
    }

    @Test
    void vocabularyIsSmallAndEndTokenHasTheLargestId() {
        int n = tok.vocabSize();
        System.out.println("toy vocabulary: " + n + " ids (" + (n - 514) + " merges) for " + ToyVocabulary.WORDS.size()
                + " words");
        assertEquals(ToyVocabulary.WORDS_VOCAB_SIZE, n);
        assertTrue(n < 700, "vocabulary size " + n);
        assertEquals(n - 1, tok.eosId()); // CLIP pools at argmax(ids): EOS must be the largest id
        assertEquals(n - 2, tok.bosId());
    }

    @Test
    void everyWordIsOneToken() {
        for (String w : ToyVocabulary.WORDS) {
            assertEquals(List.of(w + "</w>"), tok.tokenize(w), w);
            // "a" and "," are byte symbols already (ids 256..511); every other word is a merge
            assertTrue(tok.tokenId(w + "</w>") >= (w.length() == 1 ? 256 : 512), w);
        }
    }

    @Test
    void everyGrammarCaptionIsOneTokenPerWordPaddedTo77() {
        List<String> captions = allCaptions();
        int checked = 0;
        for (String caption : captions) {
            for (String prompt : List.of(caption, "a photo of " + caption)) {
                // the comma is its own word: ", on a" → ",", "on", "a"
                String[] words = prompt.replace(",", " ,").split(" ");
                int[] ids = tok.encode(prompt);
                assertEquals(77, ids.length);
                assertEquals(tok.bosId(), ids[0], prompt);
                for (int i = 0; i < words.length; i++) {
                    assertEquals(tok.tokenId(words[i] + "</w>"), ids[1 + i], prompt + " word " + i);
                }
                for (int i = 1 + words.length; i < 77; i++) {
                    assertEquals(tok.eosId(), ids[i], prompt + " position " + i);
                }
                checked++;
            }
        }
        // 26 noun phrases (2 sizes × (4 colours × 3 shapes + thing)); one object: 26 × 3 positions × 2 backgrounds;
        // two objects: 26 × 26 × 2 orders × 2 backgrounds
        assertEquals(2 * (26 * 3 * 2 + 26 * 26 * 2 * 2), checked);
    }

    @Test
    void sceneCaptionsOfTheDatasetAreOneTokenPerWord() {
        for (long seed = 0; seed < 300; seed++) {
            String caption = ToyDataset.trainingScene(seed).caption();
            List<String> tokens = tok.tokenize(caption);
            assertEquals(caption.replace(",", " ,").split(" ").length, tokens.size(), caption);
            assertTrue(tokens.stream().allMatch(t -> t.endsWith("</w>")), caption + " → " + tokens);
        }
    }

    @Test
    void placeholderTokensAddedAtRunTimeWork() throws IOException {
        CLIPTokenizer t = CLIPTokenizer.fromFolder(dir);
        int ring = t.addToken("<ring>");
        int diamond = t.addToken("<diamond>");
        assertEquals(t.vocabSize(), ring);
        assertEquals(t.vocabSize() + 1, diamond);
        int[] ids = t.encode("a large <ring> on the left and a small <diamond> on the right, on a black background");
        int[] expected = {t.bosId(), id(t, "a"), id(t, "large"), ring, id(t, "on"), id(t, "the"), id(t, "left"),
            id(t, "and"), id(t, "a"), id(t, "small"), diamond, id(t, "on"), id(t, "the"), id(t, "right"), id(t, ","),
            id(t, "on"), id(t, "a"), id(t, "black"), id(t, "background"), t.eosId()};
        assertArrayEquals(expected, Arrays.copyOf(ids, expected.length));
        assertEquals(t.eosId(), ids[76]);
        // added tokens get ids above EOS, as in transformers after add_tokens (legacy argmax pooling then picks the
        // placeholder; SD v1.x never reads the pooled output)
        assertTrue(ring > t.eosId());
    }

    @Test
    void unknownWordsStillTokenizeIntoPieces() {
        List<String> purple = tok.tokenize("a purple circle");
        assertEquals("a</w>", purple.get(0));
        assertEquals("circle</w>", purple.get(purple.size() - 1));
        List<String> middle = purple.subList(1, purple.size() - 1);
        assertTrue(middle.size() > 1, middle.toString());
        assertEquals("purple</w>", String.join("", middle));
        // non-ASCII and digits too
        List<String> odd = tok.tokenize("Grün 42 café!");
        assertFalse(odd.isEmpty());
        assertEquals("grün 4 2 café !", tok.decode(tok.encodeUntruncated("Grün 42 café!"), true).strip());
        // partial words reuse the prefixes: "gre" of green, "sq" of square
        assertTrue(tok.tokenize("grey").get(0).startsWith("gre"), tok.tokenize("grey").toString());
    }

    @Test
    void writeReplacesAnExistingTokenizerFolderAndLeavesNoTemporaries() throws IOException {
        Path d = shared.resolve("again");
        ToyVocabulary.write(d);
        String vocab1 = Files.readString(d.resolve("vocab.json"));
        ToyVocabulary.write(d);
        assertEquals(vocab1, Files.readString(d.resolve("vocab.json")), "deterministic");
        try (Stream<Path> s = Files.list(shared)) {
            List<String> names = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
            assertEquals(List.of(), names, "temporary folders left behind");
        }
    }

    @Test
    void writeRefusesToReplaceAForeignFolder(@TempDir Path tmp) throws IOException {
        Path d = tmp.resolve("mine");
        Files.createDirectories(d);
        Files.writeString(d.resolve("notes.txt"), "keep me");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ToyVocabulary.write(d));
        assertTrue(e.getMessage().contains("notes.txt"), e.getMessage());
        assertEquals("keep me", Files.readString(d.resolve("notes.txt")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(1, s.count(), "no temporary folder left behind");
        }
    }

    @Test
    void badWordListsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> ToyVocabulary.merges(List.of()));
        assertThrows(IllegalArgumentException.class, () -> ToyVocabulary.merges(List.of("red", "red")));
        assertThrows(IllegalArgumentException.class, () -> ToyVocabulary.merges(List.of("Red")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ToyVocabulary.merges(List.of("red", "two words")));
        assertTrue(e.getMessage().contains("two words"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ToyVocabulary.merges(List.of("a,")));
    }

    @Test
    void otherWordListsWorkToo() throws IOException {
        // words that are each other's prefixes and infixes, repeated pairs, non-ASCII
        List<String> words = List.of("ab", "abab", "ba", "bab", "aab", "café", "éa", "x", "1", "!!");
        Path d = shared.resolve("other");
        ToyVocabulary.write(d, words);
        CLIPTokenizer t = CLIPTokenizer.fromFolder(d);
        for (String w : words) {
            assertEquals(1, t.tokenize(w).size(), w + " → " + t.tokenize(w));
        }
    }

    @Test
    void tokenizerHelperMatchesTheFolder() {
        CLIPTokenizer t = ToyVocabulary.tokenizer();
        assertEquals(tok.vocabSize(), t.vocabSize());
        String p = "a small red circle in the center, on a white background";
        assertArrayEquals(tok.encode(p), t.encode(p));
    }

    private static int id(CLIPTokenizer t, String word) {
        return t.tokenId(word + "</w>");
    }

    /** Every caption the grammar produces (Scene#caption's format), "thing" included. */
    static List<String> allCaptions() {
        List<String> nouns = new ArrayList<>();
        for (ToyWorld.Size s : ToyWorld.Size.values()) {
            for (ToyWorld.Color c : ToyWorld.Color.values()) {
                for (ToyWorld.Shape sh : ToyWorld.Shape.values()) {
                    nouns.add(s.word() + " " + c.word() + " " + sh.word());
                }
            }
            nouns.add(s.word() + " thing");
        }
        List<String> out = new ArrayList<>();
        for (ToyWorld.Background bg : ToyWorld.Background.values()) {
            String tail = ", on a " + bg.word() + " background";
            for (String n : nouns) {
                for (ToyWorld.Position p : ToyWorld.Position.values()) {
                    out.add("a " + n + " " + p.phrase() + tail);
                }
            }
            for (String l : nouns) {
                for (String r : nouns) {
                    out.add("a " + l + " on the left and a " + r + " on the right" + tail);
                    out.add("a " + r + " on the right and a " + l + " on the left" + tail);
                }
            }
        }
        return out;
    }
}
