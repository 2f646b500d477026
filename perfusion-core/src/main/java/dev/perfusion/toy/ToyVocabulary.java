package dev.perfusion.toy;

import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.JsonWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The toy world's text vocabulary: a CLIP-format byte-level BPE tokenizer folder ({@code vocab.json},
 * {@code merges.txt}, {@code tokenizer_config.json}, {@code special_tokens_map.json}) in which every word of
 * {@link #WORDS} is exactly one token, so that the project's own {@link CLIPTokenizer} (and transformers'
 * {@code CLIPTokenizer}) reads it unchanged.
 *
 * <p>Layout, as OpenAI's CLIP builds its vocabulary: ids 0–255 are the 256 byte symbols of
 * {@code bytes_to_unicode()} (printable bytes first, then the remapped ones), 256–511 the same with {@code </w>},
 * then one id per merge in merge-rank order ({@code id = 512 + rank}), then {@code <|startoftext|>} and
 * {@code <|endoftext|>} as the two <b>last</b> ids: CLIP's text model pools at {@code argmax(input_ids)}, which must
 * be the end token. Any other text still tokenizes, into byte or partial-word pieces, because every byte symbol is
 * in the vocabulary.
 *
 * <p>Merges. Each word {@code w = c1 c2 … cn} is built left to right: {@code (c1, c2)}, {@code (c1c2, c3)}, …,
 * {@code (c1…c(n−1), cn</w>)}; words sharing a prefix share those merges. BPE always applies the applicable merge of
 * lowest rank, so a merge of one word can hijack another ({@code r e} of "red" inside "green" before {@code g r}).
 * The ranks are therefore a topological order of the constraints "at each step of each word, the intended merge
 * ranks below every other merge applicable at that step" (ties broken by merged length, then first use), which makes
 * BPE follow the intended path; the construction then re-runs BPE on every word and fails loudly if any word is not
 * one token. For {@link #WORDS} that is {@value #WORDS_VOCAB_SIZE} ids in all.
 *
 * <pre>{@code
 * ToyVocabulary.write(Path.of("toy-sd/tokenizer"));
 * CLIPTokenizer tok = CLIPTokenizer.fromFolder(Path.of("toy-sd/tokenizer"));
 * tok.encode("a small red circle on the left, on a white background");  // BOS, 12 word ids, EOS, EOS…
 * }</pre>
 */
public final class ToyVocabulary {
    /**
     * The words of the toy grammar's captions (see {@link Scene#caption()}), the comma, and the template words of
     * "a photo of …". Each becomes one token {@code word</w>}.
     */
    public static final List<String> WORDS = List.of(
            "a", "small", "large", "red", "green", "blue", "yellow", "circle", "square", "triangle", "thing",
            "on", "the", "left", "right", "in", "center", "and", "white", "black", "background", ",", "photo", "of");

    /** Vocabulary size (ids) of {@link #WORDS}: 512 byte symbols, the merges, and the two special tokens. */
    public static final int WORDS_VOCAB_SIZE = 595;

    /** {@code model_max_length} written to {@code tokenizer_config.json}: CLIP's 77 positions. */
    public static final int MODEL_MAX_LENGTH = CLIPTokenizer.CONTEXT_LENGTH;

    /** The four files of the folder. */
    public static final List<String> FILES = List.of("vocab.json", "merges.txt", "tokenizer_config.json",
            "special_tokens_map.json");

    private static final String END_OF_WORD = "</w>";
    private static final String BOS = CLIPTokenizer.BOS_TOKEN;
    private static final String EOS = CLIPTokenizer.EOS_TOKEN;

    /** CLIP's pre-tokenizer (as in {@link CLIPTokenizer}): a word must be exactly one of its matches. */
    private static final Pattern PRE_TOKEN = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}\\u0345]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

    private ToyVocabulary() {
    }

    /** Writes the tokenizer folder of {@link #WORDS} (see {@link #write(Path, List)}). */
    public static void write(Path dir) {
        write(dir, WORDS);
    }

    /**
     * Writes a tokenizer folder for {@code words} at {@code dir}, atomically: the files are written into a new
     * sibling folder which is then renamed to {@code dir}, so a reader sees either the old folder or the complete
     * new one. An existing {@code dir} is replaced only when it holds nothing but the four tokenizer files.
     *
     * @throws IllegalArgumentException for a bad word list (see {@link #merges}) or an existing {@code dir} that is
     *         not a tokenizer folder (a file, or a folder with other files)
     * @throws UncheckedIOException when writing fails (nothing is left behind but the untouched old folder)
     */
    public static void write(Path dir, List<String> words) {
        List<String> merges = merges(words);
        Map<String, Integer> vocab = vocabOfMerges(merges);
        Path target = dir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        if (parent == null) {
            throw new IllegalArgumentException("tokenizer folder " + dir + " has no parent folder");
        }
        try {
            checkReplaceable(target);
            Files.createDirectories(parent);
            Path temp = createSibling(target, "tmp");
            try {
                Files.writeString(temp.resolve("vocab.json"), vocabJson(vocab), StandardCharsets.UTF_8);
                Files.writeString(temp.resolve("merges.txt"), mergesTxt(merges), StandardCharsets.UTF_8);
                Files.writeString(temp.resolve("tokenizer_config.json"), CLIPTokenizer.TOKENIZER_CONFIG_JSON,
                        StandardCharsets.UTF_8);
                Files.writeString(temp.resolve("special_tokens_map.json"), CLIPTokenizer.SPECIAL_TOKENS_MAP_JSON,
                        StandardCharsets.UTF_8);
                if (Files.exists(target)) {
                    // rename the old folder aside, the new one in, then delete the old one's files
                    Path old = createSibling(target, "old");
                    Files.delete(old);
                    move(target, old);
                    move(temp, target);
                    deleteFolder(old);
                } else {
                    move(temp, target);
                }
            } catch (IOException | RuntimeException e) {
                deleteFolder(temp);
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write toy tokenizer folder " + target, e);
        }
    }

    /**
     * A tokenizer for {@link #WORDS}, built through a temporary folder (written, loaded, deleted): the same object
     * {@code CLIPTokenizer.fromFolder} gives for a folder written by {@link #write(Path)}.
     */
    public static CLIPTokenizer tokenizer() {
        try {
            Path tmp = Files.createTempDirectory("toy-tokenizer");
            try {
                Path dir = tmp.resolve("tokenizer");
                write(dir);
                return CLIPTokenizer.fromFolder(dir);
            } finally {
                deleteFolder(tmp.resolve("tokenizer"));
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build the toy tokenizer in a temporary folder", e);
        }
    }

    /**
     * The ranked merges ({@code "left right"}, in byte symbols) that make each word one token.
     *
     * @throws IllegalArgumentException if the list is empty, has a duplicate, or has a word that is not exactly
     *         one CLIP pre-token in lower case (letters only, one digit, or a run of other non-space characters),
     *         or if no ranking makes every word one token
     */
    public static List<String> merges(List<String> words) {
        checkWords(words);
        // 1. each word's intended path: the states BPE should pass through, and the merge taken at each
        List<List<String>> states = new ArrayList<>();
        List<String> intended = new ArrayList<>();
        List<String> stateWord = new ArrayList<>();
        Map<String, Integer> firstUse = new LinkedHashMap<>();
        for (String w : words) {
            List<String> s = symbols(w);
            while (s.size() > 1) {
                String pair = s.get(0) + ' ' + s.get(1);
                states.add(s);
                intended.add(pair);
                stateWord.add(w);
                firstUse.putIfAbsent(pair, firstUse.size());
                s = applyMerge(s, s.get(0), s.get(1));
            }
        }
        // 2. constraints: in each state the intended merge must rank below every other applicable merge
        Map<String, Set<String>> after = new HashMap<>();
        Map<String, Integer> indegree = new HashMap<>();
        for (String m : firstUse.keySet()) {
            after.put(m, new LinkedHashSet<>());
            indegree.put(m, 0);
        }
        for (int k = 0; k < states.size(); k++) {
            List<String> s = states.get(k);
            String want = intended.get(k);
            for (int i = 0; i + 1 < s.size(); i++) {
                String p = s.get(i) + ' ' + s.get(i + 1);
                if (!p.equals(want) && firstUse.containsKey(p) && after.get(want).add(p)) {
                    indegree.merge(p, 1, Integer::sum);
                }
            }
        }
        // 3. topological order; among free merges the shortest result first, then the first used
        Comparator<String> natural = Comparator.<String>comparingInt(m -> mergedLength(m))
                .thenComparingInt(firstUse::get);
        PriorityQueue<String> free = new PriorityQueue<>(natural);
        for (String m : firstUse.keySet()) {
            if (indegree.get(m) == 0) {
                free.add(m);
            }
        }
        List<String> ranked = new ArrayList<>(firstUse.size());
        while (!free.isEmpty()) {
            String m = free.poll();
            ranked.add(m);
            for (String n : after.get(m)) {
                if (indegree.merge(n, -1, Integer::sum) == 0) {
                    free.add(n);
                }
            }
        }
        if (ranked.size() < firstUse.size()) {
            List<String> cyclic = new ArrayList<>(firstUse.keySet());
            cyclic.removeAll(ranked);
            Set<String> involved = new LinkedHashSet<>();
            for (int k = 0; k < states.size(); k++) {
                if (cyclic.contains(intended.get(k))) {
                    involved.add(stateWord.get(k));
                }
            }
            throw new IllegalArgumentException("no merge ranking makes every word one token: merges " + cyclic
                    + " of words " + involved + " would have to rank below each other");
        }
        // 4. belt and braces: run BPE on every word with these ranks
        Map<String, Integer> rank = new HashMap<>();
        for (int i = 0; i < ranked.size(); i++) {
            rank.put(ranked.get(i), i);
        }
        for (String w : words) {
            List<String> pieces = bpe(symbols(w), rank);
            if (pieces.size() != 1) {
                throw new IllegalStateException("internal error: word '" + w + "' encodes to " + pieces);
            }
        }
        return List.copyOf(ranked);
    }

    /** The vocabulary (token → id, in id order) of {@code words}: byte symbols, merges, then BOS and EOS. */
    public static Map<String, Integer> vocab(List<String> words) {
        return vocabOfMerges(merges(words));
    }

    private static Map<String, Integer> vocabOfMerges(List<String> merges) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int i = 0; i < 256; i++) {
            vocab.put(String.valueOf(symbolForVocabIndex(i)), i);
        }
        for (int i = 0; i < 256; i++) {
            vocab.put(symbolForVocabIndex(i) + END_OF_WORD, 256 + i);
        }
        for (String m : merges) {
            // left-to-right prefixes never give one string by two merges, but keep ids unique if they did
            vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        }
        vocab.put(BOS, vocab.size());
        vocab.put(EOS, vocab.size());
        return vocab;
    }

    // ---- files ---------------------------------------------------------------------------------------------

    /** {@code vocab.json} as transformers writes it: one line, id order, ", " and ": " separators. */
    private static String vocabJson(Map<String, Integer> vocab) {
        StringBuilder sb = new StringBuilder(vocab.size() * 12).append('{');
        boolean first = true;
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            if (!first) {
                sb.append(", ");
            }
            first = false;
            JsonWriter.appendString(sb, e.getKey());
            sb.append(": ").append(e.getValue());
        }
        return sb.append('}').toString();
    }

    /** {@code merges.txt}: a {@code #version: 0.2} header, then one merge per line in rank order. */
    private static String mergesTxt(List<String> merges) {
        StringBuilder sb = new StringBuilder("#version: 0.2\n");
        for (String m : merges) {
            sb.append(m).append('\n');
        }
        return sb.toString();
    }



    private static void checkReplaceable(Path target) throws IOException {
        if (!Files.exists(target)) {
            return;
        }
        if (!Files.isDirectory(target)) {
            throw new IllegalArgumentException("cannot write a tokenizer folder at " + target + ": it is a file");
        }
        try (Stream<Path> s = Files.list(target)) {
            List<String> foreign = s.map(p -> p.getFileName().toString()).filter(n -> !FILES.contains(n)).toList();
            if (!foreign.isEmpty()) {
                throw new IllegalArgumentException("will not replace " + target + ": besides the tokenizer files "
                        + FILES + " it holds " + foreign);
            }
        }
    }

    /** A new empty folder {@code .name.<random>.<tag>} next to {@code target}. */
    private static Path createSibling(Path target, String tag) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path p = target.resolveSibling("." + target.getFileName() + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16) + "." + tag);
            try {
                return Files.createDirectory(p);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 16) {
                    throw e;
                }
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    /** Deletes a folder of plain files (the only kind this class creates), ignoring one that is gone. */
    private static void deleteFolder(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    // ---- BPE construction ------------------------------------------------------------------------------------

    private static void checkWords(List<String> words) {
        if (words == null || words.isEmpty()) {
            throw new IllegalArgumentException("the word list is empty");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            if (w == null || w.isEmpty()) {
                throw new IllegalArgumentException("word " + i + " is " + (w == null ? "null" : "empty"));
            }
            if (!seen.add(w)) {
                throw new IllegalArgumentException("word '" + w + "' appears twice in the list");
            }
            java.util.regex.Matcher m = PRE_TOKEN.matcher(w);
            if (!w.equals(w.toLowerCase(Locale.ROOT)) || !m.lookingAt() || m.end() != w.length()) {
                throw new IllegalArgumentException("word " + i + " '" + w + "' is not one lower-case CLIP pre-token "
                        + "(letters only, one digit, or other non-space characters): the tokenizer would split it");
            }
        }
    }

    /** The word's UTF-8 bytes as byte symbols, the last carrying {@code </w>}. */
    private static List<String> symbols(String word) {
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        List<String> s = new ArrayList<>(utf8.length);
        for (byte b : utf8) {
            s.add(String.valueOf(BYTE_TO_SYMBOL[b & 0xFF]));
        }
        s.set(s.size() - 1, s.get(s.size() - 1) + END_OF_WORD);
        return s;
    }

    /** Every non-overlapping occurrence of (a, b), left to right, merged: what BPE does with its chosen pair. */
    private static List<String> applyMerge(List<String> s, String a, String b) {
        List<String> out = new ArrayList<>(s.size());
        for (int i = 0; i < s.size(); ) {
            if (i + 1 < s.size() && s.get(i).equals(a) && s.get(i + 1).equals(b)) {
                out.add(a + b);
                i += 2;
            } else {
                out.add(s.get(i));
                i++;
            }
        }
        return out;
    }

    /** CLIP's BPE loop: merge the lowest-ranked adjacent pair until none has a rank. */
    private static List<String> bpe(List<String> s, Map<String, Integer> rank) {
        while (s.size() > 1) {
            int best = Integer.MAX_VALUE;
            int at = -1;
            for (int i = 0; i + 1 < s.size(); i++) {
                Integer r = rank.get(s.get(i) + ' ' + s.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    at = i;
                }
            }
            if (at < 0) {
                break;
            }
            s = applyMerge(s, s.get(at), s.get(at + 1));
        }
        return s;
    }

    /** Length in byte symbols of a merge's result ({@code </w>} not counted). */
    private static int mergedLength(String merge) {
        return merge.replace(" ", "").replace(END_OF_WORD, "").length();
    }

    // ---- bytes_to_unicode (CLIP simple_tokenizer.py) ---------------------------------------------------------

    /** Byte → symbol: printable Latin-1 bytes stand for themselves, the other 68 map to U+0100.. in byte order. */
    private static final char[] BYTE_TO_SYMBOL = new char[256];
    /** Vocabulary index 0–255 → byte: the printable bytes in order, then the remapped ones. */
    private static final int[] VOCAB_ORDER = new int[256];

    static {
        boolean[] printable = new boolean[256];
        int k = 0;
        for (int b = 0; b < 256; b++) {
            if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
                printable[b] = true;
                VOCAB_ORDER[k++] = b;
            }
        }
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            if (printable[b]) {
                BYTE_TO_SYMBOL[b] = (char) b;
            } else {
                BYTE_TO_SYMBOL[b] = (char) next++;
                VOCAB_ORDER[k++] = b;
            }
        }
    }

    private static char symbolForVocabIndex(int index) {
        return BYTE_TO_SYMBOL[VOCAB_ORDER[index]];
    }
}
