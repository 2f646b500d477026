package dev.perfusion.examples;

import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTextOutput;
import dev.perfusion.perfusion.Concept;
import dev.perfusion.perfusion.ConceptFile;
import dev.perfusion.perfusion.Covariance;
import dev.perfusion.perfusion.EditContext;
import dev.perfusion.perfusion.KeyLockedEdit;
import dev.perfusion.perfusion.PerfusionInstallation;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.UNet2DConditionModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Perfusion concepts applied to one model component, for {@code perfusion components --concept …}: the text encoder
 * maps token id vocab_size + k to the k-th concept's embedding; the UNet runs the gated rank-one edit in every attn2
 * for the given encoder hidden states (local key-locking).
 */
final class ComponentConcepts {
    private ComponentConcepts() {
    }

    /** Reads the concept files, in order; placeholders must differ. */
    static List<Concept> read(List<Path> files) throws IOException {
        List<Concept> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Path f : files) {
            Concept c = ConceptFile.read(f);
            if (!seen.add(c.placeholder())) {
                throw new IllegalArgumentException("two concepts use the placeholder " + c.placeholder() + " (" + f + ")");
            }
            out.add(c);
        }
        return out;
    }

    /** last_hidden_state and pooler_output with ids ≥ vocab_size read from the concepts' embeddings. */
    static CLIPTextOutput encodeText(CLIPTextModel m, Tensor ids, List<Concept> concepts) {
        int d = m.config().hiddenSize();
        float[] rows = new float[concepts.size() * d];
        for (int k = 0; k < concepts.size(); k++) {
            Concept c = concepts.get(k);
            if (c.dim() != d) {
                throw new IllegalArgumentException("concept " + c.placeholder() + " has a " + c.dim()
                        + "-wide embedding; this text encoder is " + d + " wide");
            }
            System.arraycopy(c.embedding(), 0, rows, k * d, d);
        }
        Backend be = m.backend();
        Tensor extra = be.fromArray(rows, Shape.of(concepts.size(), d)); // [n, D]
        Tensor embeds = m.embed(ids, extra);                               // [B, L, D]
        return m.forwardEmbeds(embeds, ids);
    }

    /**
     * Installs the edit of {@code concepts} in every attn2 of {@code unet} for the text states {@code ehs}; closing the
     * result restores the plain attention.
     */
    static AutoCloseable installEdit(UNet2DConditionModel unet, List<Concept> concepts, Path covariance, Float beta,
                                     Float tau, Tensor ehs) throws IOException {
        if (covariance == null) {
            throw new IllegalArgumentException("--concept needs --covariance FILE (the C⁻¹ the concepts were trained with)");
        }
        Covariance.InverseFile cInv = Covariance.read(covariance);
        for (Concept c : concepts) {
            if (c.dim() != cInv.dim() || ehs.dim(2) != cInv.dim()) {
                throw new IllegalArgumentException("covariance " + covariance + " is " + cInv.dim() + " wide; concept "
                        + c.placeholder() + " is " + c.dim() + " and the encoder hidden states " + ehs.dim(2));
            }
            if (!c.covariance().equals(cInv.fingerprint())) {
                throw new IllegalArgumentException("concept " + c.placeholder() + " was trained with covariance "
                        + c.covariance() + ", not " + covariance + " (" + cInv.fingerprint() + ")");
            }
            c.checkLayers(Concept.layersOf(unet.crossAttentionLayers()));
        }
        KeyLockedEdit edit = KeyLockedEdit.forConcepts(unet.backend(), cInv.cInv(), concepts, beta, tau);
        EditContext ctx = EditContext.local(edit, ehs);
        PerfusionInstallation inst = PerfusionInstallation.install(unet, concepts, ctx);
        return () -> {
            inst.close();
            ctx.close();
            edit.close();
        };
    }
}
