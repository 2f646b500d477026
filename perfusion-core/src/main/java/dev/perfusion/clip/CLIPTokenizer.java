package dev.perfusion.clip;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CLIP text tokenizer of Stable Diffusion v1.x: OpenAI CLIP's byte-level BPE (vocabulary 49,408,
 * {@code <|startoftext|>} = 49,406, {@code <|endoftext|>} = 49,407), with placeholder tokens that can be added
 * at run time (textual inversion, Perfusion concepts).
 *
 * <p>Pipeline for one prompt:
 * <ol>
 *   <li>Added tokens (and, in the transformers variant, the two special tokens) are cut out of the raw prompt
 *       first, as whole, case-sensitive strings (longest match at the earliest position), exactly like
 *       transformers' added tokens: {@code "a photo of <teddy> on the beach"} → {@code "a photo of "},
 *       {@code <teddy>}, {@code " on the beach"}; spaces around them belong to the neighbouring text.</li>
 *   <li>Each remaining piece is cleaned ({@link TextCleaner}: {@code ftfy.fix_text}, HTML entities, whitespace
 *       collapsed and stripped, lower-cased) and split by CLIP's regex
 *       {@code <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+}
 *       (case-insensitive): runs of letters, single digits, runs of other non-space characters, and
 *       English contractions.</li>
 *   <li>Each piece's UTF-8 bytes, written as {@link BytesToUnicode} symbols, are BPE-merged
 *       ({@link BytePairEncoder}; the last symbol of a word carries {@code </w>}) and looked up in the
 *       vocabulary.</li>
 * </ol>
 *
 * <p>Two reference tokenizers exist and differ only at the edges; each method says which it follows:
 * transformers' {@code CLIPTokenizer} (what diffusers' Stable Diffusion pipeline uses: {@link #encode},
 * {@link #encodeDetailed}, {@link #encodeUntruncated}, {@link #tokenize}) and OpenAI's
 * {@code simple_tokenizer.py} / {@code clip.tokenize} ({@link #encodeOpenAi}, {@link #tokenizeOpenAi},
 * {@link #clipTokenize}). OpenAI also decodes HTML entities twice more after ftfy and finds literal special
 * tokens only after cleaning; they agree on all 42 golden prompts.
 *
 * <p>Known differences from the Python references: Java 17 knows Unicode 13, Python 3.11 Unicode 14, so the
 * few hundred characters new in Unicode 14 are split differently (they are unassigned, not letters, to Java);
 * the ftfy port follows ftfy 6.3 where it differs from the 6.1.1 used for the goldens (see {@link Ftfy}); and
 * transformers' fallback without ftfy (a BERT {@code BasicTokenizer}) is not implemented: ftfy is always applied.
 *
 * <p>Added tokens ({@link #addToken}) get ids {@code vocabSize() + k} for the k-th token added (49,408,
 * 49,409, …); they are matched in both variants. Thread-safe: encoding may run concurrently with
 * {@link #addToken}; a prompt sees the added tokens present when its encoding started.
 *
 * <pre>{@code
 * CLIPTokenizer tok = CLIPTokenizer.fromFolder(Path.of("stable-diffusion-v1-5/tokenizer"));
 * int teddy = tok.addToken("<teddy>");                        // 49408
 * int[] ids = tok.encode("a photo of <teddy> on the beach");  // 77 ids for the text encoder
 * }</pre>
 */
public final class CLIPTokenizer {
    private static final Logger LOG = LoggerFactory.getLogger(CLIPTokenizer.class);

    /** Positions of CLIP's text encoder: start token, at most 75 prompt tokens, end token. */
    public static final int CONTEXT_LENGTH = 77;
    public static final String BOS_TOKEN = BpeVocabulary.BOS_TOKEN;
    public static final String EOS_TOKEN = BpeVocabulary.EOS_TOKEN;

    /** transformers' {@code tokenizer_config.json} of SD v1.x: pad = eos = unk = {@code <|endoftext|>}, 77 tokens. */
    public static final String TOKENIZER_CONFIG_JSON = """
            {
              "add_prefix_space": false,
              "bos_token": {
                "__type": "AddedToken",
                "content": "<|startoftext|>",
                "lstrip": false,
                "normalized": true,
                "rstrip": false,
                "single_word": false
              },
              "do_lower_case": true,
              "eos_token": {
                "__type": "AddedToken",
                "content": "<|endoftext|>",
                "lstrip": false,
                "normalized": true,
                "rstrip": false,
                "single_word": false
              },
              "errors": "replace",
              "model_max_length": %d,
              "pad_token": "<|endoftext|>",
              "tokenizer_class": "CLIPTokenizer",
              "unk_token": {
                "__type": "AddedToken",
                "content": "<|endoftext|>",
                "lstrip": false,
                "normalized": true,
                "rstrip": false,
                "single_word": false
              }
            }
            """.formatted(CONTEXT_LENGTH);

    /** transformers' {@code special_tokens_map.json} of SD v1.x, for tools that write tokenizer folders. */
    public static final String SPECIAL_TOKENS_MAP_JSON = """
            {
              "bos_token": {
                "content": "<|startoftext|>",
                "lstrip": false,
                "normalized": true,
                "rstrip": false,
                "single_word": false
              },
              "eos_token": {
                "content": "<|endoftext|>",
                "lstrip": false,
                "normalized": true,
                "rstrip": false,
                "single_word": false
              },
              "pad_token": "<|endoftext|>",
              "unk_token": {
                "content": "<|endoftext|>",
                "lstrip": false,
                "normalized": true,
                "rstrip": false,
                "single_word": false
              }
            }
            """;

    /**
     * CLIP's pre-tokenizer regex (simple_tokenizer.py, {@code regex} module, {@code re.IGNORECASE}). One quirk
     * is reproduced: under IGNORECASE the {@code regex} module matches U+0345 (combining ypogegrammeni, whose
     * case folding is the letter ι) with neither {@code [\p{L}]} nor {@code [^\s\p{L}\p{N}]}, so CLIP skips
     * that character; it is excluded from the last class here for the same effect.
     */
    private static final Pattern PRE_TOKENIZER = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]"
                    + "|[^\\s\\p{L}\\p{N}\\u0345]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

    private enum Variant { TRANSFORMERS, OPENAI }

    private final BpeVocabulary vocab;
    private final BytePairEncoder bpe;
    private final int bosId;
    private final int eosId;
    /** Added token → id, in the order added; replaced (never mutated) by {@link #addToken}. */
    private volatile Map<String, Integer> added = Map.of();

    private CLIPTokenizer(BpeVocabulary vocab) {
        this.vocab = vocab;
        this.bpe = new BytePairEncoder(vocab);
        this.bosId = vocab.id(BOS_TOKEN);
        this.eosId = vocab.id(EOS_TOKEN);
    }

    /**
     * Reads a diffusers/transformers {@code tokenizer/} folder ({@code vocab.json} + {@code merges.txt}).
     *
     * @throws IllegalArgumentException naming the folder or file when it is missing or malformed (invalid JSON,
     *         a merges line that is not two symbols, a merge whose result the vocabulary lacks, missing byte
     *         symbols or special tokens)
     * @throws java.io.UncheckedIOException when a file cannot be read
     */
    public static CLIPTokenizer fromFolder(Path tokenizerDir) {
        return new CLIPTokenizer(BpeVocabulary.fromFolder(tokenizerDir));
    }

    /**
     * Reads OpenAI's {@code bpe_simple_vocab_16e6.txt.gz} (merges = its lines 2..48,895) and builds the same
     * vocabulary as {@link #fromFolder} gives for Stable Diffusion's tokenizer folder.
     *
     * @throws IllegalArgumentException naming the file when it is missing, not gzip, or has a malformed line
     * @throws java.io.UncheckedIOException when it cannot be read
     */
    public static CLIPTokenizer fromBpeGz(Path bpeGz) {
        return new CLIPTokenizer(BpeVocabulary.fromBpeGz(bpeGz));
    }

    /** Where the bundled copy of OpenAI's merges file lives on the class path (MIT licence beside it). */
    public static final String BUNDLED_BPE = "/dev/perfusion/clip/bpe_simple_vocab_16e6.txt.gz";

    /**
     * CLIP's tokenizer from the copy of OpenAI's {@code bpe_simple_vocab_16e6.txt.gz} bundled with this library: what
     * SD v1.x uses, for checkpoints that carry no tokenizer files (single-file checkpoints).
     */
    public static CLIPTokenizer bundled() {
        java.io.InputStream in = CLIPTokenizer.class.getResourceAsStream(BUNDLED_BPE);
        if (in == null) {
            throw new IllegalStateException("the bundled CLIP vocabulary " + BUNDLED_BPE + " is missing from the class path");
        }
        return new CLIPTokenizer(BpeVocabulary.fromBpeGz(in, "classpath:" + BUNDLED_BPE));
    }

    /** A tokenizer over already loaded BPE data, without added tokens (lets tests share one load). */
    static CLIPTokenizer of(BpeVocabulary vocab) {
        return new CLIPTokenizer(vocab);
    }

    /** Size of the base vocabulary (49,408 for CLIP), not counting added tokens. */
    public int vocabSize() {
        return vocab.size();
    }

    /** Base vocabulary plus added tokens: the number of rows the token embedding needs. */
    public int totalSize() {
        return vocab.size() + added.size();
    }

    /** {@code <|startoftext|>}'s id (49,406). */
    public int bosId() {
        return bosId;
    }

    /** {@code <|endoftext|>}'s id (49,407), also Stable Diffusion's padding. */
    public int eosId() {
        return eosId;
    }

    /**
     * Registers a placeholder (e.g. {@code <teddy>}) as one token, matched in prompts before any cleaning or
     * BPE, as a whole and case-sensitive string. Adding the same string again returns its id.
     *
     * @return its id: {@code vocabSize() + k} for the k-th distinct token added (from 0)
     * @throws IllegalArgumentException if the string is empty or already a vocabulary entry (such as
     *         {@code <|endoftext|>}): its id would not be a new row, which the caller would not expect
     */
    public synchronized int addToken(String token) {
        if (token == null || token.isEmpty()) {
            throw new IllegalArgumentException("added token must be a non-empty string, got "
                    + (token == null ? "null" : "''"));
        }
        Integer existing = added.get(token);
        if (existing != null) {
            return existing;
        }
        int inVocab = vocab.id(token);
        if (inVocab >= 0) {
            throw new IllegalArgumentException("cannot add token '" + token + "': it is already vocabulary entry "
                    + inVocab + "; choose a placeholder that is not, e.g. <" + token + ">");
        }
        int id = vocab.size() + added.size();
        Map<String, Integer> next = new LinkedHashMap<>(added);
        next.put(token, id);
        added = java.util.Collections.unmodifiableMap(next);
        return id;
    }

    /** The added tokens in the order added (the k-th has id {@code vocabSize() + k}). */
    public List<String> addedTokens() {
        return List.copyOf(added.keySet());
    }

    /** The id of a vocabulary entry (e.g. {@code "cat</w>"}) or added token, or -1. */
    public int tokenId(String token) {
        int id = vocab.id(token);
        if (id >= 0) {
            return id;
        }
        Integer a = added.get(token);
        return a == null ? -1 : a;
    }

    /** The token string of an id (vocabulary entry or added token). */
    public String token(int id) {
        String t = vocab.token(id);
        if (t != null) {
            return t;
        }
        int k = id - vocab.size();
        List<String> list = addedTokens();
        if (k >= 0 && k < list.size()) {
            return list.get(k);
        }
        throw new IllegalArgumentException("token id " + id + " is out of range [0, " + totalSize() + ")");
    }

    // ---- transformers variant (Stable Diffusion) ---------------------------------------------------------

    /**
     * The 77 input ids Stable Diffusion v1.x feeds its text encoder, as diffusers computes them
     * ({@code tokenizer(prompt, padding="max_length", max_length=77, truncation=True)}): {@code [49406]},
     * the first 75 prompt tokens, {@code [49407]}, then 49407 up to 77. A longer prompt is cut, with a
     * warning naming the dropped text; {@link #encodeDetailed} also returns it.
     */
    public int[] encode(String prompt) {
        return encodeDetailed(prompt).inputIds();
    }

    /** {@link #encode} with the kept and the cut tokens; logs a WARNING when the prompt is truncated. */
    public TokenizedPrompt encodeDetailed(String prompt) {
        List<Integer> ids = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        tokenize(prompt, Variant.TRANSFORMERS, ids, tokens);
        int keep = Math.min(ids.size(), CONTEXT_LENGTH - 2);
        int[] input = new int[CONTEXT_LENGTH];
        Arrays.fill(input, eosId);
        input[0] = bosId;
        for (int i = 0; i < keep; i++) {
            input[1 + i] = ids.get(i);
        }
        List<String> cut = tokens.subList(keep, tokens.size());
        String cutText = "";
        if (!cut.isEmpty()) {
            cutText = decode(ids.subList(keep, ids.size()).stream().mapToInt(Integer::intValue).toArray()).strip();
            LOG.warn("Prompt truncated: it has {} tokens, CLIP's text encoder takes {}; cut {}: \"{}\"",
                    ids.size(), CONTEXT_LENGTH - 2, cut.size() == 1 ? "1 token" : cut.size() + " tokens", cutText);
        }
        return new TokenizedPrompt(input, tokens.subList(0, keep), !cut.isEmpty(), cut, cutText);
    }

    /**
     * transformers' untruncated encoding: {@code [49406] + prompt tokens + [49407]}, any length, no padding.
     */
    public int[] encodeUntruncated(String prompt) {
        return withBosEos(prompt, Variant.TRANSFORMERS);
    }

    /** The prompt's BPE tokens as transformers' {@code tokenizer.tokenize(prompt)} returns them. */
    public List<String> tokenize(String prompt) {
        List<String> tokens = new ArrayList<>();
        tokenize(prompt, Variant.TRANSFORMERS, new ArrayList<>(), tokens);
        return tokens;
    }

    // ---- OpenAI variant ---------------------------------------------------------------------------------

    /**
     * OpenAI CLIP's encoding, untruncated: {@code [49406] + SimpleTokenizer.encode(prompt) + [49407]}.
     */
    public int[] encodeOpenAi(String prompt) {
        return withBosEos(prompt, Variant.OPENAI);
    }

    /** The prompt's BPE tokens as OpenAI's {@code SimpleTokenizer} produces them. */
    public List<String> tokenizeOpenAi(String prompt) {
        List<String> tokens = new ArrayList<>();
        tokenize(prompt, Variant.OPENAI, new ArrayList<>(), tokens);
        return tokens;
    }

    /**
     * OpenAI {@code clip.tokenize(prompt, truncate=True)}: 77 ids, {@code [49406]}, the first 75 prompt
     * tokens, {@code [49407]}, then <b>zeros</b> (OpenAI pads with 0, Stable Diffusion with 49407).
     * Truncation logs a warning.
     */
    public int[] clipTokenize(String prompt) {
        int[] all = withBosEos(prompt, Variant.OPENAI);
        int[] out = new int[CONTEXT_LENGTH];
        if (all.length > CONTEXT_LENGTH) {
            System.arraycopy(all, 0, out, 0, CONTEXT_LENGTH);
            out[CONTEXT_LENGTH - 1] = eosId;
            int cut = all.length - CONTEXT_LENGTH;
            LOG.warn("Prompt truncated: it has {} tokens, CLIP's text encoder takes {}; cut {}: \"{}\"",
                    all.length - 2, CONTEXT_LENGTH - 2, cut == 1 ? "1 token" : cut + " tokens",
                    decode(Arrays.copyOfRange(all, CONTEXT_LENGTH - 1, all.length - 1)).strip());
        } else {
            System.arraycopy(all, 0, out, 0, all.length);
        }
        return out;
    }

    // ---- decoding ---------------------------------------------------------------------------------------

    /**
     * OpenAI's {@code SimpleTokenizer.decode}: the tokens' bytes concatenated and read as UTF-8 (invalid
     * sequences become U+FFFD), each {@code </w>} a space. Special tokens appear as their text; an added
     * token as its text followed by a space.
     */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /** {@link #decode}, leaving out {@code <|startoftext|>} and {@code <|endoftext|>} (and so the padding). */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
        List<String> addedList = null;
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (skipSpecialTokens && (id == bosId || id == eosId)) {
                continue;
            }
            String t = vocab.token(id);
            if (t != null) {
                BytesToUnicode.appendBytes(t, bytes);
                continue;
            }
            if (addedList == null) {
                addedList = addedTokens();
            }
            int k = id - vocab.size();
            if (k < 0 || k >= addedList.size()) {
                throw new IllegalArgumentException("token id " + id + " at position " + i + " is out of range [0, "
                        + (vocab.size() + addedList.size()) + ")");
            }
            byte[] raw = (addedList.get(k) + BpeVocabulary.END_OF_WORD).getBytes(StandardCharsets.UTF_8);
            bytes.write(raw, 0, raw.length);
        }
        return new String(bytes.toByteArray(), StandardCharsets.UTF_8).replace(BpeVocabulary.END_OF_WORD, " ");
    }

    // ---- internals ----------------------------------------------------------------------------------------

    /** Package-private access for tests: the BPE data. */
    BpeVocabulary vocabulary() {
        return vocab;
    }

    /** Package-private access for tests: the BPE engine and its cache. */
    BytePairEncoder bytePairEncoder() {
        return bpe;
    }

    private int[] withBosEos(String prompt, Variant variant) {
        List<Integer> ids = new ArrayList<>();
        tokenize(prompt, variant, ids, new ArrayList<>());
        int[] out = new int[ids.size() + 2];
        out[0] = bosId;
        for (int i = 0; i < ids.size(); i++) {
            out[1 + i] = ids.get(i);
        }
        out[out.length - 1] = eosId;
        return out;
    }

    /** Appends the prompt's token ids and strings. */
    private void tokenize(String prompt, Variant variant, List<Integer> ids, List<String> tokens) {
        if (prompt == null) {
            throw new IllegalArgumentException("prompt must not be null");
        }
        Map<String, Integer> splitters = new LinkedHashMap<>(added);
        if (variant == Variant.TRANSFORMERS) {
            // transformers keeps its special tokens in the same trie as added tokens
            splitters.put(BOS_TOKEN, bosId);
            splitters.put(EOS_TOKEN, eosId);
        }
        int fragmentStart = 0;
        int pos = 0;
        while (pos < prompt.length()) {
            String match = null;
            for (String s : splitters.keySet()) {
                if ((match == null || s.length() > match.length()) && prompt.startsWith(s, pos)) {
                    match = s;
                }
            }
            if (match == null) {
                pos++;
                continue;
            }
            encodeText(prompt.substring(fragmentStart, pos), variant, ids, tokens);
            ids.add(splitters.get(match));
            tokens.add(match);
            pos += match.length();
            fragmentStart = pos;
        }
        encodeText(prompt.substring(fragmentStart), variant, ids, tokens);
    }

    /** Cleans one piece of prompt text (no added tokens in it) and appends its BPE ids and strings. */
    private void encodeText(String text, Variant variant, List<Integer> ids, List<String> tokens) {
        if (text.isEmpty()) {
            return;
        }
        String clean = variant == Variant.OPENAI ? TextCleaner.cleanOpenAi(text) : TextCleaner.cleanTransformers(text);
        Matcher m = PRE_TOKENIZER.matcher(clean);
        while (m.find()) {
            for (String piece : bpe.encode(BytesToUnicode.encode(m.group()))) {
                int id = vocab.id(piece);
                if (id < 0) { // cannot happen with a vocabulary that passed the load checks
                    throw new IllegalStateException("BPE produced '" + piece + "', which " + vocab.source()
                            + " lacks");
                }
                ids.add(id);
                tokens.add(piece);
            }
        }
    }
}
