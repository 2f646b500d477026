package dev.perfusion.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.io.JsonReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The 42 tokenizer goldens (golden/README.md §7: OpenAI's simple_tokenizer, transformers' slow CLIPTokenizer
 * with ftfy 6.1.1, and diffusers' SD input ids), one test per case and field, all exact.
 *
 * <p>Known differences: none. Every case matches {@code openai_ids}, {@code openai_bpe_tokens},
 * {@code hf_ids}, {@code sd_input_ids_77}, {@code openai_clip_tokenize_77} and {@code openai_decode}; the
 * added-token fields match for the two placeholder prompts. ({@code hf_noftfy_ids} and
 * {@code sd_input_ids_77_noftfy} come from transformers' fallback without ftfy, a BERT BasicTokenizer, which
 * this port does not implement.) A case listed in {@link #KNOWN_DIFFERENT} would be asserted to still differ,
 * so a fix shows up as a failure to update the list.
 */
@Tag("unit")
class CLIPTokenizerGoldenTest {
    static final Path CASES = Path.of("src/test/resources/golden/cases/tokenizer_cases.json");
    static final Path TOKENIZER_DIR = Path.of("src/test/resources/golden/tiny-sd15/tokenizer");

    /** Case ids whose expected ids this port cannot reproduce, with the reason. Empty: all 42 match. */
    static final Set<String> KNOWN_DIFFERENT = Set.of();

    private static CLIPTokenizer tokenizer;
    private static CLIPTokenizer withAddedTokens;
    private static final List<String> MATCHED = new ArrayList<>();

    @BeforeAll
    static void load() {
        tokenizer = CLIPTokenizer.fromFolder(TOKENIZER_DIR);
        withAddedTokens = CLIPTokenizer.of(tokenizer.vocabulary());
        Map<String, Object> addedExpected = map(root().get("added_tokens_for_hf_with_added_tokens"));
        for (Map.Entry<String, Object> e : addedExpected.entrySet()) { // document order: <teddy>, <cat-toy>, …
            assertEquals(((Long) e.getValue()).intValue(), withAddedTokens.addToken(e.getKey()), e.getKey());
        }
    }

    @AfterAll
    static void summary() {
        synchronized (MATCHED) {
            System.out.printf("tokenizer goldens: %d field checks matched exactly%n", MATCHED.size());
        }
    }

    @Test
    void headerFacts() {
        Map<String, Object> root = root();
        assertEquals(42, cases().size());
        assertEquals(((Long) root.get("vocab_size")).intValue(), tokenizer.vocabSize());
        assertEquals(((Long) root.get("bos_id")).intValue(), tokenizer.bosId());
        assertEquals(((Long) root.get("eos_id")).intValue(), tokenizer.eosId());
        assertEquals(((Long) root.get("context_length")).intValue(), CLIPTokenizer.CONTEXT_LENGTH);
    }

    static Stream<Arguments> allCases() {
        return cases().stream().map(c -> Arguments.of(c.get("id"), c));
    }

    static Stream<Arguments> addedTokenCases() {
        return cases().stream().filter(c -> c.containsKey("hf_with_added_tokens_ids"))
                .map(c -> Arguments.of(c.get("id"), c));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allCases")
    void openAiIds(String id, Map<String, Object> c) {
        check(id, "openai_ids", ints(c.get("openai_ids")), tokenizer.encodeOpenAi(prompt(c)));
        assertEquals(((Long) c.get("num_ids_untruncated")).intValue(), tokenizer.encodeOpenAi(prompt(c)).length);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allCases")
    void openAiBpeTokens(String id, Map<String, Object> c) {
        List<String> expected = strings(c.get("openai_bpe_tokens"));
        List<String> actual = tokenizer.tokenizeOpenAi(prompt(c));
        if (KNOWN_DIFFERENT.contains(id)) {
            assertTrue(!expected.equals(actual), id + " now matches: remove it from KNOWN_DIFFERENT");
            return;
        }
        assertEquals(expected, actual, id + " openai_bpe_tokens");
        record(id, "openai_bpe_tokens");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allCases")
    void transformersIds(String id, Map<String, Object> c) {
        check(id, "hf_ids", ints(c.get("hf_ids")), tokenizer.encodeUntruncated(prompt(c)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allCases")
    void sdInputIds77(String id, Map<String, Object> c) {
        int[] expected = ints(c.get("sd_input_ids_77"));
        TokenizedPrompt tp = tokenizer.encodeDetailed(prompt(c));
        check(id, "sd_input_ids_77", expected, tp.inputIds());
        assertEquals(c.get("truncated_at_77"), tp.truncated(), id + " truncated flag");
        assertEquals(((Long) c.get("num_ids_untruncated")).intValue() - 2, tp.untruncatedTokenCount(), id);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allCases")
    void clipTokenize77(String id, Map<String, Object> c) {
        check(id, "openai_clip_tokenize_77", ints(c.get("openai_clip_tokenize_77")), tokenizer.clipTokenize(prompt(c)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allCases")
    void openAiDecode(String id, Map<String, Object> c) {
        int[] ids = ints(c.get("openai_ids"));
        int[] content = java.util.Arrays.copyOfRange(ids, 1, ids.length - 1);
        assertEquals(c.get("openai_decode"), tokenizer.decode(content), id + " openai_decode");
        record(id, "openai_decode");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("addedTokenCases")
    void addedTokens(String id, Map<String, Object> c) {
        check(id, "hf_with_added_tokens_ids", ints(c.get("hf_with_added_tokens_ids")),
                withAddedTokens.encodeUntruncated(prompt(c)));
        check(id, "hf_with_added_tokens_sd_77", ints(c.get("hf_with_added_tokens_sd_77")),
                withAddedTokens.encode(prompt(c)));
    }

    // ---------------------------------------------------------------------------------------------------

    private static void check(String id, String field, int[] expected, int[] actual) {
        if (KNOWN_DIFFERENT.contains(id)) {
            assertTrue(!java.util.Arrays.equals(expected, actual),
                    id + " " + field + " now matches: remove it from KNOWN_DIFFERENT");
            return;
        }
        assertArrayEquals(expected, actual, () -> id + " " + field + ": expected " + java.util.Arrays.toString(expected)
                + " but was " + java.util.Arrays.toString(actual));
        record(id, field);
    }

    private static void record(String id, String field) {
        synchronized (MATCHED) {
            MATCHED.add(id + "." + field);
        }
    }

    private static String prompt(Map<String, Object> c) {
        return (String) c.get("prompt");
    }

    private static volatile Map<String, Object> root;

    static Map<String, Object> root() {
        if (root == null) {
            try {
                root = map(JsonReader.parse(Files.readString(CASES)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return root;
    }

    static List<Map<String, Object>> cases() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : (List<?>) root().get("cases")) {
            out.add(map(o));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(v -> ((Long) v).intValue()).toArray();
    }

    static List<String> strings(Object list) {
        return ((List<?>) list).stream().map(v -> (String) v).toList();
    }
}
