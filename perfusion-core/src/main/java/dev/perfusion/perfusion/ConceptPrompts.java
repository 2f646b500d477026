package dev.perfusion.perfusion;

import dev.perfusion.autograd.Ops;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTextOutput;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.pipeline.PromptEncoder;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prompts with learned concepts (DESIGN §4): registers each concept's placeholder as an added token of the
 * pipeline's tokenizer, encodes prompts with the concepts' embeddings v* and builds the Perfusion
 * {@link EditContext} for the encoded batch.
 *
 * <p>Token ids: added token k (in the order the tokenizer got them) has id V + k, V = vocabSize(); its embedding is
 * row k of the extra rows E [K, D] that {@link CLIPTextModel#embed(Tensor, Tensor)} appends to the vocabulary. On a
 * fresh tokenizer the c-th concept is added token c. A tokenizer that already holds tokens (an earlier call with
 * other concepts) keeps their ids; their rows are zero here and a prompt that uses them is rejected.
 *
 * <p>Encoding: E = CLIP(embed(ids, extraRows)) = {@code forwardEmbeds(embed(ids, extra), ids).last_hidden_state}.
 * Local key-locking: keys and values both come from E. Global: keys from E_super, the encoding of each prompt with
 * every placeholder replaced by its super-class word (method §1.5).
 */
public final class ConceptPrompts implements PromptEncoder, AutoCloseable {
    /** What looks like a placeholder in a prompt: {@code <word>} without spaces or nested brackets. */
    private static final Pattern PLACEHOLDER = Pattern.compile("<[^<>\\s]+>");

    private final CLIPTokenizer tokenizer;
    private final CLIPTextModel textEncoder;
    private final Backend backend;
    private final List<Concept> concepts;
    private final Map<String, Concept> byPlaceholder;
    private final int[] ids;
    private final Tensor extraRows;

    private ConceptPrompts(CLIPTokenizer tokenizer, CLIPTextModel textEncoder, Backend backend, List<Concept> concepts,
                           Map<String, Concept> byPlaceholder, int[] ids, Tensor extraRows) {
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.backend = backend;
        this.concepts = concepts;
        this.byPlaceholder = byPlaceholder;
        this.ids = ids;
        this.extraRows = extraRows;
    }

    /**
     * Registers the concepts' placeholders in the pipeline's tokenizer and builds their embedding rows.
     *
     * @param concepts in prompt order (concept c is gate column c of the {@link KeyLockedEdit} built for them)
     * @throws IllegalArgumentException for no concepts, two concepts with one placeholder, a placeholder that is a
     *                                  vocabulary word, a concept of another text width, or a tokenizer whose ids do
     *                                  not follow V + k
     */
    public static ConceptPrompts register(StableDiffusionPipeline pipeline, List<Concept> concepts) {
        return register(pipeline.tokenizer(), pipeline.textEncoder(), pipeline.backend(), concepts);
    }

    /** {@link #register(StableDiffusionPipeline, List)} on loose parts. */
    public static ConceptPrompts register(CLIPTokenizer tokenizer, CLIPTextModel textEncoder, Backend backend,
                                         List<Concept> concepts) {
        if (concepts == null || concepts.isEmpty()) {
            throw new IllegalArgumentException("no concepts given");
        }
        int d = textEncoder.config().hiddenSize();
        Map<String, Concept> byPlaceholder = new HashMap<>();
        for (Concept c : concepts) {
            if (byPlaceholder.put(c.placeholder(), c) != null) {
                throw new IllegalArgumentException("two concepts use the placeholder " + c.placeholder()
                        + "; each concept needs its own");
            }
            if (c.dim() != d) {
                throw new IllegalArgumentException("concept " + c.placeholder() + " has text width " + c.dim()
                        + ", the model's text encoder has " + d);
            }
            ConceptFile.checkPlaceholder(tokenizer, c.placeholder());
        }
        int v = tokenizer.vocabSize();
        int[] ids = new int[concepts.size()];
        for (int k = 0; k < concepts.size(); k++) {
            String p = concepts.get(k).placeholder();
            int id = tokenizer.addToken(p);
            int expected = v + tokenizer.addedTokens().indexOf(p);
            if (id != expected || id < v) {
                throw new IllegalArgumentException("tokenizer gave placeholder " + p + " id " + id + ", expected "
                        + expected + " (vocabulary size " + v + " + its index among the added tokens, DESIGN §4)");
            }
            ids[k] = id;
        }
        int rows = tokenizer.totalSize() - v;
        float[] extra = new float[rows * d];
        for (int k = 0; k < concepts.size(); k++) {
            System.arraycopy(concepts.get(k).embedding(), 0, extra, (ids[k] - v) * d, d);
        }
        Tensor extraRows = backend.fromArray(extra, Shape.of(rows, d)); // [K, D]
        return new ConceptPrompts(tokenizer, textEncoder, backend, List.copyOf(concepts), Map.copyOf(byPlaceholder),
                ids, extraRows);
    }

    /** The concepts, in the order given. */
    public List<Concept> concepts() {
        return concepts;
    }

    /** The token id of concept {@code c}'s placeholder. */
    public int tokenId(int c) {
        return ids[c];
    }

    /** The extra embedding rows [K, D]: row id − V is the embedding of added token id. */
    public Tensor extraRows() {
        return extraRows;
    }

    /**
     * Checks that every {@code <…>} in the prompt is one of these concepts' placeholders (or a vocabulary entry
     * such as {@code <|endoftext|>}).
     *
     * @throws IllegalArgumentException naming the unknown placeholder and the known ones
     */
    public void checkPrompt(String prompt) {
        Matcher m = PLACEHOLDER.matcher(prompt);
        while (m.find()) {
            String p = m.group();
            if (byPlaceholder.containsKey(p)) {
                continue;
            }
            int id = tokenizer.tokenId(p);
            if (id >= 0 && id < tokenizer.vocabSize()) {
                continue;
            }
            throw new IllegalArgumentException("prompt '" + prompt + "' uses placeholder " + p
                    + ", which is not one of the concepts given: " + byPlaceholder.keySet().stream().sorted().toList());
        }
        for (String added : tokenizer.addedTokens()) {
            if (!byPlaceholder.containsKey(added) && prompt.contains(added)) {
                throw new IllegalArgumentException("prompt '" + prompt + "' uses placeholder " + added
                        + " of a concept that is not loaded for this generation");
            }
        }
    }

    /** Token ids [B, 77] (INT64) of the prompts, after {@link #checkPrompt}. */
    public Tensor tokenize(List<String> prompts) {
        long[] out = new long[prompts.size() * CLIPTokenizer.CONTEXT_LENGTH];
        for (int b = 0; b < prompts.size(); b++) {
            checkPrompt(prompts.get(b));
            int[] one = tokenizer.encode(prompts.get(b));
            for (int i = 0; i < one.length; i++) {
                out[b * CLIPTokenizer.CONTEXT_LENGTH + i] = one[i];
            }
        }
        return backend.fromArray(out, Shape.of(prompts.size(), CLIPTokenizer.CONTEXT_LENGTH)); // [B, 77]
    }

    /**
     * E = CLIP's last_hidden_state of the prompts with the placeholders' embeddings v* (detached).
     *
     * @return [B, 77, D]
     */
    @Override
    public Tensor encode(List<String> prompts) {
        Tensor idT = tokenize(prompts);                                       // [B, 77]
        Tensor embeds = textEncoder.embed(idT, extraRows);                    // [B, 77, D]
        try (CLIPTextOutput out = textEncoder.forwardEmbeds(embeds, idT)) {
            return Ops.detach(out.lastHiddenState());                         // [B, 77, D]
        } finally {
            embeds.close();
            idT.close();
        }
    }

    /**
     * The prompt with each placeholder of a concept that edits attention replaced by its super-class word (global
     * key-locking). {@link TrainMode#EMBEDDING_ONLY} placeholders stay: such a concept has no key to lock, and its
     * keys come from its embedding as in textual inversion.
     */
    public String superPrompt(String prompt) {
        checkPrompt(prompt);
        String out = prompt;
        for (Concept c : concepts) {
            if (c.editsAttention()) {
                out = out.replace(c.placeholder(), c.superclass());
            }
        }
        return out;
    }

    /**
     * The edit context of one UNet batch. Only the concepts that edit attention take part
     * ({@link Concept#editsAttention()}): {@link TrainMode#EMBEDDING_ONLY} concepts act through their embedding alone,
     * so they are left out of the projector and the gates (their i* would otherwise project part of every token
     * out of K and V). With none left, the context is {@link EditContext#none} and nothing is installed.
     *
     * @param edit         the edit of {@link #concepts()} in the same order, or of only those that edit attention
     *                     (in the same order); an edit derived for the latter is owned by the returned context
     * @param batchPrompts the prompt of each row of {@code text}
     * @param text         E [B, 77, D] of {@code batchPrompts} (from {@link #encode}); for classifier-free guidance
     *                     the whole batch [unconditional…, conditional…]
     * @param locking      LOCAL: keys and values from E; GLOBAL: keys from E_super (encoded here)
     */
    public EditContext context(KeyLockedEdit edit, List<String> batchPrompts, Tensor text, KeyLocking locking) {
        int[] editing = editingConcepts();
        if (edit.concepts() != concepts.size() && edit.concepts() != editing.length) {
            throw new IllegalArgumentException("the edit has " + edit.concepts() + " concepts, these prompts "
                    + concepts.size() + " (" + editing.length + " of them edit attention)");
        }
        if (text.rank() != 3 || text.dim(0) != batchPrompts.size()) {
            throw new IllegalArgumentException(batchPrompts.size() + " prompts for text states " + text.shape());
        }
        if (editing.length == 0) {
            return EditContext.none(locking, text.dim(0), text.dim(1));
        }
        KeyLockedEdit used = edit.concepts() == editing.length ? edit : edit.select(editing);
        try {
            EditContext ctx;
            if (locking == KeyLocking.LOCAL) {
                ctx = EditContext.local(used, text);
            } else {
                List<String> sup = batchPrompts.stream().map(this::superPrompt).toList();
                Tensor superText = encode(sup);                               // [B, 77, D]
                try {
                    ctx = EditContext.global(used, text, superText);
                } finally {
                    superText.close();
                }
            }
            return used == edit ? ctx : ctx.owning(used);
        } catch (RuntimeException e) {
            if (used != edit) {
                used.close();
            }
            throw e;
        }
    }

    /** Indices of the concepts that install the K/V edit, in order. */
    int[] editingConcepts() {
        return java.util.stream.IntStream.range(0, concepts.size()).filter(c -> concepts.get(c).editsAttention())
                .toArray();
    }

    /** Frees the extra embedding rows (the tokenizer keeps the added tokens). */
    @Override
    public void close() {
        extraRows.close();
    }

    /** Placeholders in order (for messages). */
    @Override
    public String toString() {
        List<String> ps = new ArrayList<>();
        concepts.forEach(c -> ps.add(c.placeholder()));
        return "ConceptPrompts" + ps;
    }
}
