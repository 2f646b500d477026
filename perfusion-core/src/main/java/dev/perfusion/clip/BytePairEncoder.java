package dev.perfusion.clip;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CLIP's byte-pair encoding of one pre-token (a regex match, already written in {@link BytesToUnicode}
 * symbols), with {@code </w>} marking the end of the word, and a cache of results.
 *
 * <p>Algorithm (OpenAI {@code SimpleTokenizer.bpe}): start from the symbols, the last one carrying
 * {@code </w>}; repeatedly take the adjacent pair with the lowest merge rank and merge every non-overlapping
 * occurrence of it, scanning left to right; stop when no adjacent pair has a rank or one symbol is left.
 * A one-symbol word is just {@code symbol</w>}. The special tokens {@code <|startoftext|>} and
 * {@code <|endoftext|>} come back unchanged (CLIP seeds its cache with them), so a literal special token in a
 * prompt maps to its id.
 *
 * <p>Thread-safe. The cache is bounded: when it holds {@value #CACHE_LIMIT} words it is cleared (prompts
 * repeat a few thousand distinct words at most; an unbounded map would grow without limit in a server).
 */
final class BytePairEncoder {
    static final int CACHE_LIMIT = 50_000;

    private final BpeVocabulary vocab;
    private final ConcurrentHashMap<String, String[]> cache = new ConcurrentHashMap<>();

    BytePairEncoder(BpeVocabulary vocab) {
        this.vocab = vocab;
    }

    /** The BPE pieces of {@code word} (in byte symbols); the caller must not modify the returned array. */
    String[] encode(String word) {
        if (word.equals(BpeVocabulary.BOS_TOKEN) || word.equals(BpeVocabulary.EOS_TOKEN)) {
            return new String[] {word};
        }
        String[] cached = cache.get(word);
        if (cached != null) {
            return cached;
        }
        String[] pieces = merge(word);
        if (cache.size() >= CACHE_LIMIT) {
            cache.clear();
        }
        cache.put(word, pieces);
        return pieces;
    }

    /** Number of cached words (for tests). */
    int cacheSize() {
        return cache.size();
    }

    private String[] merge(String word) {
        List<String> symbols = new ArrayList<>(word.length());
        for (int i = 0; i < word.length(); ) {
            int n = Character.charCount(word.codePointAt(i));
            symbols.add(word.substring(i, i + n));
            i += n;
        }
        if (symbols.isEmpty()) {
            return new String[0];
        }
        int last = symbols.size() - 1;
        symbols.set(last, symbols.get(last) + BpeVocabulary.END_OF_WORD);
        while (symbols.size() > 1) {
            // the adjacent pair merged first (lowest rank); ranks are unique per pair, so no ties
            int bestRank = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                int r = vocab.rank(symbols.get(i), symbols.get(i + 1));
                if (r >= 0 && r < bestRank) {
                    bestRank = r;
                    first = symbols.get(i);
                    second = symbols.get(i + 1);
                }
            }
            if (first == null) {
                break;
            }
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); ) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(symbols.get(i));
                    i++;
                }
            }
            symbols = merged;
        }
        return symbols.toArray(new String[0]);
    }
}
