package dev.perfusion.bench.sd15;

import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.JsonWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Writes a transformers {@code tokenizer/} folder for SD v1.x ({@code vocab.json}, {@code merges.txt}, the two
 * small JSON configs and OpenAI's licence) from the copy of OpenAI's {@code bpe_simple_vocab_16e6.txt.gz} that
 * perfusion-core already bundles ({@link CLIPTokenizer#BUNDLED_BPE}), so this module ships no second 1.5 MB copy
 * of the vocabulary and needs no path to perfusion-core's test resources.
 *
 * <p>The two files are the exact re-encoding of the {@code .gz} (golden README §7, checked byte for byte against
 * the golden {@code tiny-sd15/tokenizer/} in the tests):
 * <pre>
 *   merges.txt  = "#version: 0.2\n" + lines 2 .. 48,895 of the decompressed .gz, each ending in "\n"
 *   vocab.json  = {"token": id, ...} on one line, ids 0 .. 49,407 in order, separators ", " and ": ",
 *                 non-ASCII characters unescaped (Python's json.dumps(ensure_ascii=False)), no final newline
 * </pre>
 * The vocabulary order (byte symbols, byte symbols + {@code </w>}, merges, the two special tokens) is built by
 * {@link CLIPTokenizer#bundled()}; this class only serialises it.
 */
final class ClipTokenizerFiles {
    /** 49,152 − 256 − 2: the merges CLIP reads (OpenAI's SimpleTokenizer and transformers' CLIPTokenizer). */
    static final int MERGES = 48_894;

    private ClipTokenizerFiles() {
    }

    /** Writes the tokenizer folder {@code dir} (created if needed). */
    static void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("merges.txt"), mergesTxt(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("vocab.json"), vocabJson(CLIPTokenizer.bundled()), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("tokenizer_config.json"), CLIPTokenizer.TOKENIZER_CONFIG_JSON, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("special_tokens_map.json"), CLIPTokenizer.SPECIAL_TOKENS_MAP_JSON, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("LICENSE-openai-CLIP.txt"), licence(), StandardCharsets.UTF_8);
    }

    /** {@code merges.txt} from the bundled {@code .gz}. */
    static String mergesTxt() throws IOException {
        String text;
        try (InputStream raw = resource(CLIPTokenizer.BUNDLED_BPE); InputStream in = new GZIPInputStream(raw)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        StringBuilder sb = new StringBuilder(text.length() / 4).append("#version: 0.2\n");
        int start = text.indexOf('\n') + 1; // line 1 of the .gz is its own version comment
        for (int i = 0; i < MERGES; i++) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                throw new IllegalStateException(CLIPTokenizer.BUNDLED_BPE + " has only " + i + " merges, expected " + MERGES);
            }
            sb.append(text, start, end).append('\n');
            start = end + 1;
        }
        return sb.toString();
    }

    /** {@code vocab.json}: every id of the tokenizer's vocabulary in id order, on one line. */
    static String vocabJson(CLIPTokenizer tokenizer) {
        StringBuilder sb = new StringBuilder(1 << 20).append('{');
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (id > 0) {
                sb.append(", ");
            }
            JsonWriter.appendString(sb, tokenizer.token(id));
            sb.append(": ").append(id);
        }
        return sb.append('}').toString();
    }


    private static String licence() throws IOException {
        try (InputStream in = resource("/dev/perfusion/clip/LICENSE-openai-CLIP.txt")) {
            return "vocab.json and merges.txt in this folder are derived (exact re-encoding) from\n"
                    + "bpe_simple_vocab_16e6.txt.gz of https://github.com/openai/CLIP, which is distributed under the\n"
                    + "following licence:\n\n" + new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = ClipTokenizerFiles.class.getResourceAsStream(name);
        if (in == null) {
            throw new UncheckedIOException(new IOException(name + " is missing from the class path (perfusion-core's jar)"));
        }
        return in;
    }


}
