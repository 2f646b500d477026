package dev.perfusion.perfusion;

import dev.perfusion.nn.Attention;
import dev.perfusion.nn.AttentionProcessor;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.CrossAttentionLayer;
import dev.perfusion.unet.UNet2DConditionModel;
import java.util.ArrayList;
import java.util.List;

/**
 * Perfusion's processors installed on every {@code attn2} of a UNet; closing puts the previous processors back
 * (the UNet itself is never forked). The edit context may be replaced between UNet calls with
 * {@link #setContext}, e.g. once per prompt batch.
 *
 * <pre>
 *   try (KeyLockedEdit edit = …; EditContext ctx = EditContext.local(edit, text);
 *        PerfusionInstallation p = PerfusionInstallation.install(unet, concepts, ctx)) {
 *       unet.forward(latents, t, text);   // every attn2 projects K, V through the edit
 *   }
 * </pre>
 */
public final class PerfusionInstallation implements AutoCloseable {
    private final List<Attention> blocks;
    private final List<AttentionProcessor> previous;
    private final List<Tensor> owned;
    private volatile EditContext context;
    private boolean closed;

    private PerfusionInstallation(List<Attention> blocks, List<AttentionProcessor> previous, List<Tensor> owned,
                                  EditContext context) {
        this.blocks = blocks;
        this.previous = previous;
        this.owned = owned;
        this.context = context;
    }

    /**
     * Installs the edit for {@code concepts} (in prompt order). Only the concepts that edit attention take part
     * ({@link Concept#editsAttention()}): editing concept c (counting those only) is row c of every layer's targets
     * and gate column c of the context's {@link KeyLockedEdit}, as {@link ConceptPrompts#context} builds it. The key
     * targets are each concept's {@link Concept#keyTargets(int)}: the locked super-category keys
     * ({@link TrainMode#PERFUSION}) or the learned ones ({@link TrainMode#NO_KEY_LOCKING}). When no concept edits
     * attention (all {@link TrainMode#EMBEDDING_ONLY}), nothing is installed: the UNet runs unchanged and only the
     * concepts' embeddings act.
     *
     * @param context the current context, or null to set one later with {@link #setContext} before the UNet runs
     * @throws IllegalArgumentException when a concept's layers (paths, widths, order) are not the UNet's
     */
    public static PerfusionInstallation install(UNet2DConditionModel unet, List<Concept> concepts, EditContext context) {
        List<CrossAttentionLayer> layers = unet.crossAttentionLayers();
        if (concepts.isEmpty()) {
            throw new IllegalArgumentException("install Perfusion with at least one concept");
        }
        List<ConceptLayer> expected = Concept.layersOf(layers);
        for (Concept c : concepts) {
            c.checkLayers(expected);
        }
        List<Concept> editing = concepts.stream().filter(Concept::editsAttention).toList();
        if (editing.isEmpty()) {
            return new PerfusionInstallation(List.of(), List.of(), List.of(), context);
        }
        Backend be = unet.backend();
        int n = editing.size();
        List<Tensor> owned = new ArrayList<>();
        List<Tensor[]> targets = new ArrayList<>();
        for (int l = 0; l < layers.size(); l++) {
            int d = layers.get(l).width();
            float[] k = new float[n * d];
            float[] v = new float[n * d];
            for (int c = 0; c < n; c++) {
                System.arraycopy(editing.get(c).keyTargets(l), 0, k, c * d, d);
                System.arraycopy(editing.get(c).values(l), 0, v, c * d, d);
            }
            Tensor kt = be.fromArray(k, Shape.of(n, d)); // [n, d]
            Tensor vt = be.fromArray(v, Shape.of(n, d)); // [n, d]
            owned.add(kt);
            owned.add(vt);
            targets.add(new Tensor[] {kt, vt});
        }
        try {
            return install(layers, targets, context, owned);
        } catch (RuntimeException e) {
            owned.forEach(Tensor::close);
            throw e;
        }
    }

    /** Whether processors were installed (false when no concept edits attention). */
    public boolean installed() {
        return !blocks.isEmpty();
    }

    /**
     * Installs processors with caller-owned targets (training: O*_V tensors that require grad).
     *
     * @param targets per layer {O*_K [n, d], O*_V [n, d]}, in the order of {@code layers}
     */
    public static PerfusionInstallation install(List<CrossAttentionLayer> layers, List<Tensor[]> targets,
                                                EditContext context) {
        return install(layers, targets, context, List.of());
    }

    private static PerfusionInstallation install(List<CrossAttentionLayer> layers, List<Tensor[]> targets,
                                                 EditContext context, List<Tensor> owned) {
        if (layers.size() != targets.size()) {
            throw new IllegalArgumentException(layers.size() + " cross-attention layers but " + targets.size()
                    + " target pairs");
        }
        checkConceptCount(context, targets);
        List<Attention> blocks = new ArrayList<>();
        List<AttentionProcessor> previous = new ArrayList<>();
        PerfusionInstallation inst = new PerfusionInstallation(blocks, previous, owned, context);
        for (int l = 0; l < layers.size(); l++) {
            CrossAttentionLayer layer = layers.get(l);
            Tensor[] kv = targets.get(l);
            if (kv[0].rank() != 2 || kv[0].dim(1) != layer.width()) {
                inst.closed = true; // restore what was replaced so far; the caller frees the targets
                for (int i = 0; i < blocks.size(); i++) {
                    blocks.get(i).setProcessor(previous.get(i));
                }
                throw new IllegalArgumentException("layer " + layer.path() + " is " + layer.width()
                        + " wide; its targets are " + kv[0].shape());
            }
            Attention a = layer.attention();
            blocks.add(a);
            previous.add(a.processor());
            a.setProcessor(new PerfusionAttnProcessor(inst::context, kv[0], kv[1]));
        }
        return inst;
    }

    /** The context the processors use now (null when none is set). */
    public EditContext context() {
        return context;
    }

    /**
     * Replaces the context (the caller owns and closes contexts).
     *
     * @throws IllegalArgumentException when the context's edit has another number of concepts than the targets
     */
    public void setContext(EditContext context) {
        if (context != null && !blocks.isEmpty()) {
            PerfusionAttnProcessor p = (PerfusionAttnProcessor) blocks.get(0).processor();
            checkConceptCount(context, List.<Tensor[]>of(new Tensor[] {p.keyTargets()}));
        }
        this.context = context;
    }

    private static void checkConceptCount(EditContext context, List<Tensor[]> targets) {
        if (context == null || targets.isEmpty()) {
            return;
        }
        if (!context.hasEdit()) {
            throw new IllegalArgumentException("the edit context has no edit (its concepts are all EMBEDDING_ONLY) but "
                    + targets.get(0)[0].dim(0) + " concepts edit attention");
        }
        int gates = context.keys().gates().dim(2);
        int rows = targets.get(0)[0].dim(0);
        if (gates != rows) {
            throw new IllegalArgumentException("the edit context gates " + gates + " concepts but the targets hold "
                    + rows + ": build the KeyLockedEdit from the same concepts, in the same order, leaving out "
                    + "EMBEDDING_ONLY ones (ConceptPrompts.context does)");
        }
    }

    /** Restores the processors that were there before and frees the targets this installation made. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int i = 0; i < blocks.size(); i++) {
            blocks.get(i).setProcessor(previous.get(i));
        }
        for (Tensor t : owned) {
            t.close();
        }
    }
}
