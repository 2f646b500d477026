package dev.perfusion.clip;

import dev.perfusion.io.JsonReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * CLIP's byte-level BPE data: the vocabulary (token string → id) and the ranked merges, read either from a
 * diffusers/transformers {@code tokenizer/} folder ({@code vocab.json} + {@code merges.txt}) or from OpenAI's
 * {@code bpe_simple_vocab_16e6.txt.gz}.
 *
 * <p>Both sources describe the same tokenizer (golden README §7): the merges are lines 2..48,895 of the
 * decompressed {@code .gz} (48,894 merges; {@code merges.txt} has a {@code #version: 0.2} header line instead
 * of the {@code .gz}'s first line), and the vocabulary is built as OpenAI's {@code SimpleTokenizer} builds it:
 * ids 0–255 the byte symbols in {@link BytesToUnicode} order, 256–511 the same with {@code </w>}, then one id per
 * merge (the two halves concatenated) in merge order, then {@code <|startoftext|>} (49,406) and
 * {@code <|endoftext|>} (49,407). Both references read at most {@value #MAX_MERGES} merges
 * ({@code 49152 - 256 - 2}); further lines are ignored here too.
 *
 * <p>Instances are immutable. Malformed input gives an {@link IllegalArgumentException} naming the file (and the
 * line, for merges); I/O failures an {@link UncheckedIOException} naming the file.
 */
final class BpeVocabulary {
    /** Merges read by OpenAI's and transformers' CLIP tokenizers: {@code 49152 - 256 - 2}. */
    static final int MAX_MERGES = 49152 - 256 - 2;
    static final String END_OF_WORD = "</w>";
    static final String BOS_TOKEN = "<|startoftext|>";
    static final String EOS_TOKEN = "<|endoftext|>";

    private final Map<String, Integer> encoder;
    private final String[] decoder;
    /** Merge pair {@code "left right"} → rank (0 = merged first). */
    private final Map<String, Integer> ranks;
    private final List<String> merges;
    private final String source;

    private BpeVocabulary(Map<String, Integer> encoder, List<String> merges, String source) {
        this.encoder = Collections.unmodifiableMap(encoder);
        this.merges = List.copyOf(merges);
        this.source = source;
        int maxId = -1;
        for (int id : encoder.values()) {
            maxId = Math.max(maxId, id);
        }
        this.decoder = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : encoder.entrySet()) {
            decoder[e.getValue()] = e.getKey();
        }
        Map<String, Integer> r = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) {
            r.putIfAbsent(merges.get(i), i); // a repeated merge keeps its first (lowest) rank, like a dict
        }
        this.ranks = r;
    }

    /** Reads {@code vocab.json} and {@code merges.txt} from a diffusers/transformers {@code tokenizer/} folder. */
    static BpeVocabulary fromFolder(Path tokenizerDir) {
        if (!Files.isDirectory(tokenizerDir)) {
            throw new IllegalArgumentException("CLIP tokenizer folder not found: " + tokenizerDir
                    + " (expected a diffusers tokenizer/ folder with vocab.json and merges.txt)");
        }
        Path vocabFile = tokenizerDir.resolve("vocab.json");
        Path mergesFile = tokenizerDir.resolve("merges.txt");
        for (Path p : List.of(vocabFile, mergesFile)) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException("CLIP tokenizer file missing: " + p
                        + " (a diffusers tokenizer/ folder has vocab.json and merges.txt)");
            }
        }
        List<String> lines = splitLines(readUtf8(mergesFile), 1 + MAX_MERGES);
        // merges.txt starts with a "#version: 0.2" line; transformers skips the first line unconditionally,
        // we skip it only when it is such a header, so a header-less file keeps its first merge.
        int first = !lines.isEmpty() && lines.get(0).startsWith("#") ? 1 : 0;
        List<String> merges = parseMerges(lines, first, mergesFile);
        Map<String, Integer> encoder = readVocabJson(vocabFile);
        checkConsistent(encoder, merges, vocabFile, mergesFile, first);
        return new BpeVocabulary(encoder, merges, tokenizerDir.toString());
    }

    /** Reads OpenAI's {@code bpe_simple_vocab_16e6.txt.gz} and builds the vocabulary as CLIP does. */
    static BpeVocabulary fromBpeGz(Path gzFile) {
        if (!Files.isRegularFile(gzFile)) {
            throw new IllegalArgumentException("CLIP BPE file not found: " + gzFile
                    + " (expected OpenAI's bpe_simple_vocab_16e6.txt.gz)");
        }
        try (InputStream in = Files.newInputStream(gzFile)) {
            return fromBpeGz(in, gzFile.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read CLIP BPE file " + gzFile, e);
        }
    }

    /** Reads OpenAI's merges file from a gzip stream (e.g. the copy bundled with this library); {@code source} names it in errors. */
    static BpeVocabulary fromBpeGz(InputStream gz, String source) {
        byte[] raw;
        try (InputStream in = new GZIPInputStream(gz)) {
            raw = in.readAllBytes();
        } catch (ZipException | java.io.EOFException e) {
            throw new IllegalArgumentException("CLIP BPE file " + source + " is not a valid gzip file: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read CLIP BPE file " + source, e);
        }
        return fromBpeText(raw, source);
    }

    private static BpeVocabulary fromBpeText(byte[] raw, String gzFile) {
        List<String> lines = splitLines(decodeUtf8(raw, gzFile), 1 + MAX_MERGES); // the file has 262,146 lines
        List<String> merges = parseMerges(lines, 1, gzFile); // line 1 is a version comment
        Map<String, Integer> encoder = new LinkedHashMap<>();
        for (int i = 0; i < 256; i++) {
            encoder.put(String.valueOf(BytesToUnicode.symbolForVocabIndex(i)), i);
        }
        for (int i = 0; i < 256; i++) {
            encoder.put(BytesToUnicode.symbolForVocabIndex(i) + END_OF_WORD, 256 + i);
        }
        for (int i = 0; i < merges.size(); i++) {
            String merged = merges.get(i).replace(" ", "");
            Integer previous = encoder.putIfAbsent(merged, encoder.size());
            if (previous != null) {
                throw new IllegalArgumentException("CLIP BPE file " + gzFile + " line " + (i + 2) + ": merge '"
                        + merges.get(i) + "' makes '" + merged + "', which is already token " + previous
                        + " (a corrupt or foreign merges list)");
            }
        }
        encoder.put(BOS_TOKEN, encoder.size());
        encoder.put(EOS_TOKEN, encoder.size());
        return new BpeVocabulary(encoder, merges, gzFile.toString());
    }

    /** Token string → id; unmodifiable. */
    Map<String, Integer> encoder() {
        return encoder;
    }

    /** The merges in rank order, each as {@code "left right"}; unmodifiable. */
    List<String> merges() {
        return merges;
    }

    /** Number of ids (one more than the largest id). */
    int size() {
        return decoder.length;
    }

    /** The id of {@code token}, or -1. */
    int id(String token) {
        Integer id = encoder.get(token);
        return id == null ? -1 : id;
    }

    /** The token string of {@code id}, or null when no token has that id. */
    String token(int id) {
        return id >= 0 && id < decoder.length ? decoder[id] : null;
    }

    /** The merge rank of the pair, or -1 when the pair is never merged. */
    int rank(String left, String right) {
        Integer r = ranks.get(left + ' ' + right);
        return r == null ? -1 : r;
    }

    /** Where this vocabulary was read from (for messages). */
    String source() {
        return source;
    }

    // ---------------------------------------------------------------------------------------------------

    private static Map<String, Integer> readVocabJson(Path vocabFile) {
        Object root;
        try {
            root = JsonReader.parse(readUtf8(vocabFile));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("CLIP vocab file " + vocabFile + " is not valid JSON: "
                    + e.getMessage(), e);
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("CLIP vocab file " + vocabFile
                    + " must be a JSON object mapping token strings to ids");
        }
        Map<String, Integer> encoder = new LinkedHashMap<>(map.size() * 2);
        Map<Integer, String> seen = new HashMap<>(map.size() * 2);
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String token = (String) e.getKey();
            if (!(e.getValue() instanceof Long id) || id < 0 || id > Integer.MAX_VALUE - 1) {
                throw new IllegalArgumentException("CLIP vocab file " + vocabFile + ": token '" + token
                        + "' has id " + e.getValue() + ", expected a non-negative integer");
            }
            String other = seen.put(id.intValue(), token);
            if (other != null) {
                throw new IllegalArgumentException("CLIP vocab file " + vocabFile + ": id " + id
                        + " is given to both '" + other + "' and '" + token + "'");
            }
            encoder.put(token, id.intValue());
        }
        return encoder;
    }

    /** Checks that BPE can never produce a string the vocabulary lacks, and that the special tokens exist. */
    private static void checkConsistent(Map<String, Integer> encoder, List<String> merges, Path vocabFile,
            Path mergesFile, int firstMergeLine) {
        for (int i = 0; i < 256; i++) {
            String s = String.valueOf(BytesToUnicode.symbolForVocabIndex(i));
            for (String sym : new String[] {s, s + END_OF_WORD}) {
                if (!encoder.containsKey(sym)) {
                    throw new IllegalArgumentException("CLIP vocab file " + vocabFile + " lacks the byte symbol '"
                            + sym + "' (not a byte-level CLIP vocabulary?)");
                }
            }
        }
        for (String special : new String[] {BOS_TOKEN, EOS_TOKEN}) {
            if (!encoder.containsKey(special)) {
                throw new IllegalArgumentException("CLIP vocab file " + vocabFile + " lacks the special token "
                        + special);
            }
        }
        for (int i = 0; i < merges.size(); i++) {
            String merged = merges.get(i).replace(" ", "");
            if (!encoder.containsKey(merged)) {
                throw new IllegalArgumentException("CLIP merges file " + mergesFile + " line "
                        + (i + 1 + firstMergeLine) + ": merge '" + merges.get(i) + "' makes '" + merged
                        + "', which " + vocabFile.getFileName() + " lacks (files from different tokenizers?)");
            }
        }
    }

    /**
     * Parses merge lines from index {@code first}: each must be two non-empty symbols separated by one space.
     * Trailing empty lines are ignored (both references strip the text first); at most {@link #MAX_MERGES}.
     */
    private static List<String> parseMerges(List<String> lines, int first, Object file) {
        int end = lines.size();
        while (end > first && lines.get(end - 1).isEmpty()) {
            end--;
        }
        end = Math.min(end, first + MAX_MERGES);
        List<String> merges = new ArrayList<>(Math.max(0, end - first));
        for (int i = first; i < end; i++) {
            String line = lines.get(i);
            int space = line.indexOf(' ');
            if (space <= 0 || space == line.length() - 1 || line.indexOf(' ', space + 1) >= 0) {
                throw new IllegalArgumentException("CLIP merges file " + file + " line " + (i + 1)
                        + ": expected two symbols separated by one space, found '" + abbreviate(line) + "'");
            }
            merges.add(line);
        }
        return merges;
    }

    /** The first {@code maxLines} lines of the text (without their CR LF or LF). */
    private static List<String> splitLines(String text, int maxLines) {
        List<String> lines = new ArrayList<>(Math.min(maxLines, 1 << 16));
        int start = 0;
        while (start <= text.length() && lines.size() < maxLines) {
            int nl = text.indexOf('\n', start);
            int stop = nl < 0 ? text.length() : nl;
            String line = text.substring(start, stop);
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            lines.add(line);
            if (nl < 0) {
                break;
            }
            start = nl + 1;
        }
        return lines;
    }

    private static String readUtf8(Path file) {
        try {
            return decodeUtf8(Files.readAllBytes(file), file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read CLIP tokenizer file " + file, e);
        }
    }

    private static String decodeUtf8(byte[] bytes, Object file) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("CLIP tokenizer file " + file + " is not valid UTF-8", e);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
