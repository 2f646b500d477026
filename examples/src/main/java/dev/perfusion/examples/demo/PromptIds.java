package dev.perfusion.examples.demo;

import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Toy token ids for the demo: BOS, one id per word (a hash into the vocabulary), EOS, padded with EOS to 77 —
 * the layout of CLIP's ids without its BPE. The first word in angle brackets is the placeholder.
 */
record PromptIds(long[] ids, List<String> words, int placeholderIndex) {
    static PromptIds of(String prompt, int vocab) {
        long bos = vocab - 2;
        long eos = vocab - 1;
        List<String> words = new ArrayList<>(Arrays.asList(prompt.toLowerCase(Locale.ROOT).trim().split("\\s+")));
        if (words.size() > TinyTextEncoder.MAX_TOKENS - 2) {
            throw new IllegalArgumentException("prompt has " + words.size() + " words; at most "
                    + (TinyTextEncoder.MAX_TOKENS - 2) + " fit");
        }
        long[] ids = new long[TinyTextEncoder.MAX_TOKENS];
        Arrays.fill(ids, eos);
        ids[0] = bos;
        int placeholder = -1;
        for (int i = 0; i < words.size(); i++) {
            ids[i + 1] = Math.floorMod(words.get(i).hashCode(), vocab - 2);
            if (placeholder < 0 && words.get(i).startsWith("<") && words.get(i).endsWith(">")) {
                placeholder = i + 1;
            }
        }
        if (placeholder < 0) {
            throw new IllegalArgumentException("the demo prompt needs a placeholder word such as <teddy>: '" + prompt + "'");
        }
        return new PromptIds(ids, List.copyOf(words), placeholder);
    }

    long placeholderId() {
        return ids[placeholderIndex];
    }

    Tensor tensor(Backend be) {
        return be.fromArray(ids, Shape.of(1, ids.length)); // [1, 77]
    }
}
