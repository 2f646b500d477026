package dev.perfusion;

import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.perfusion.Concept;
import dev.perfusion.perfusion.ConceptFile;
import dev.perfusion.perfusion.ConceptPrompts;
import dev.perfusion.perfusion.Covariance;
import dev.perfusion.perfusion.EditContext;
import dev.perfusion.perfusion.Fingerprints;
import dev.perfusion.perfusion.KeyLockedEdit;
import dev.perfusion.perfusion.PerfusionInstallation;
import dev.perfusion.perfusion.PerfusionTrainer;
import dev.perfusion.perfusion.SampleRequest;
import dev.perfusion.perfusion.SweepRequest;
import dev.perfusion.perfusion.TrainConfig;
import dev.perfusion.perfusion.TrainListener;
import dev.perfusion.pipeline.GenerationHook;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.GenerationResult;
import dev.perfusion.pipeline.Images;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Tensor;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The library's entry points for Perfusion with Stable Diffusion v1.x (DESIGN §4): training concepts, sampling with
 * them, β sweeps, and covariance estimation.
 *
 * <p>Sampling runs the pipeline with the concepts' placeholders encoded through their embeddings v* and every
 * {@code attn2} K/V projection replaced, for the whole classifier-free-guidance batch [unconditional…, text…], by
 * the gated rank-one edit (method §1.6, §3):
 * <pre>
 *   h(e) = W·(e − P e) + Σ_c σ((s_c(e) − β_c)/τ_c)·o*_c,   s_c(e) = eᵀC⁻¹i*_c / i*_cᵀC⁻¹i*_c
 * </pre>
 */
public final class Perfusion {
    private Perfusion() {
    }

    /**
     * Generates images with the request's concepts.
     *
     * @throws IllegalArgumentException for a concept or covariance that does not fit the model (layers, width,
     *                                  fingerprints unless overridden), unknown placeholders in a prompt, duplicate
     *                                  placeholders, or β/τ overrides for placeholders that are not loaded
     */
    public static GenerationResult sample(StableDiffusionPipeline model, SampleRequest req) {
        Covariance.InverseFile cInv = covariance(model, req);
        List<Concept> concepts = concepts(model, req, cInv);
        int n = concepts.size();
        float[] betas = new float[n];
        float[] taus = new float[n];
        Set<String> placeholders = new HashSet<>();
        for (int c = 0; c < n; c++) {
            Concept k = concepts.get(c);
            placeholders.add(k.placeholder());
            betas[c] = req.betas().getOrDefault(k.placeholder(), k.beta());
            taus[c] = req.taus().getOrDefault(k.placeholder(), k.tau());
        }
        for (String p : req.betas().keySet()) {
            requireKnown(p, placeholders, "β");
        }
        for (String p : req.taus().keySet()) {
            requireKnown(p, placeholders, "τ");
        }
        try (ConceptPrompts prompts = ConceptPrompts.register(model, concepts);
             KeyLockedEdit edit = KeyLockedEdit.of(model.backend(), cInv.cInv(), cInv.dim(),
                     concepts.stream().map(Concept::iStar).toList(), betas, taus)) {
            for (String p : req.generation().prompts()) {
                prompts.checkPrompt(p);
            }
            for (String p : req.generation().negativePrompts()) {
                prompts.checkPrompt(p);
            }
            GenerationHook hook = (batchPrompts, context) -> install(model, prompts, edit, concepts, batchPrompts,
                    context, req);
            return model.generate(req.generation().withConditioning(prompts, hook));
        }
    }

    private static AutoCloseable install(StableDiffusionPipeline model, ConceptPrompts prompts, KeyLockedEdit edit,
                                         List<Concept> concepts, List<String> batchPrompts, Tensor context,
                                         SampleRequest req) {
        EditContext ctx = prompts.context(edit, batchPrompts, context, req.locking());
        try {
            PerfusionInstallation inst = PerfusionInstallation.install(model.unet(), concepts, ctx);
            return () -> {
                inst.close();
                ctx.close();
            };
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }

    private static void requireKnown(String placeholder, Set<String> known, String what) {
        if (!known.contains(placeholder)) {
            throw new IllegalArgumentException(what + " override for " + placeholder
                    + ", which is not one of the concepts: " + known.stream().sorted().toList());
        }
    }

    private static Covariance.InverseFile covariance(StableDiffusionPipeline model, SampleRequest req) {
        Covariance.InverseFile cInv;
        String where;
        if (req.covariance() != null) {
            cInv = req.covariance();
            where = "the covariance given";
        } else {
            try {
                cInv = Covariance.read(req.covarianceFile());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read covariance " + req.covarianceFile(), e);
            }
            where = req.covarianceFile().toString();
        }
        int d = model.textEncoder().config().hiddenSize();
        if (cInv.dim() != d || cInv.cInv().length != (long) d * d) {
            throw new IllegalArgumentException(where + " is C⁻¹ [" + cInv.dim() + ", " + cInv.dim()
                    + "], but this model's text width is " + d + ": it was estimated for another text encoder");
        }
        return cInv;
    }

    private static List<Concept> concepts(StableDiffusionPipeline model, SampleRequest req,
                                          Covariance.InverseFile cInv) {
        ConceptFile.Requirements need = ConceptFile.Requirements.of(model.textEncoder(), model.unet(),
                model.tokenizer(), cInv.fingerprint(), req.allowFingerprintMismatch());
        List<Concept> out = new ArrayList<>();
        for (Concept c : req.concepts()) {
            ConceptFile.check(c, need);
            out.add(c);
        }
        for (Path p : req.conceptFiles()) {
            try {
                out.add(ConceptFile.load(p, need));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read concept " + p, e);
            }
        }
        return out;
    }

    /**
     * Trains a concept on the model (method §4): the placeholder's embedding v* and the 16 value targets o*_V with
     * AdamW, keys locked to the superclass, i* an EMA of the placeholder's encoding; writes the concept file to
     * {@code config.output()} and checkpoints as configured.
     *
     * @param resolution the training resolution when {@code config.resolution()} is 0: the model's
     *                   ({@link PerfusionTrainer#modelResolution}) — 512 for SD v1.x
     * @throws IllegalArgumentException naming the bad input; nothing is written then
     */
    public static PerfusionTrainer.TrainResult train(StableDiffusionPipeline model, TrainConfig config, int resolution,
                                                     TrainListener listener) throws IOException {
        return PerfusionTrainer.create(model, config, resolution).train(listener);
    }

    /** Continues a {@link #train} run from one of its checkpoints; ends exactly as the uninterrupted run would. */
    public static PerfusionTrainer.TrainResult resume(StableDiffusionPipeline model, TrainConfig config, int resolution,
                                                      Path checkpoint, TrainListener listener) throws IOException {
        return PerfusionTrainer.create(model, config, resolution).resume(checkpoint, listener);
    }

    /**
     * Renders the sweep's grid (rows: β, applied to every concept; columns: seeds) and writes it to
     * {@link SweepRequest#output()} atomically, with the settings in the PNG's {@code parameters} text chunk (ASCII
     * words: tEXt chunks are Latin-1, which has no β).
     *
     * @return the grid, {@link SweepRequest#gridWidth()} × {@link SweepRequest#gridHeight()} pixels
     */
    public static BufferedImage sweep(StableDiffusionPipeline model, SweepRequest req) throws IOException {
        GenerationRequest gen = req.sample().generation();
        int w = gen.width();
        int h = gen.height();
        int left = req.labels() ? SweepRequest.LABEL_WIDTH : 0;
        int top = req.labels() ? SweepRequest.LABEL_HEIGHT : 0;
        BufferedImage grid = new BufferedImage(req.gridWidth(), req.gridHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = grid.createGraphics();
        String sampler = null;
        String modelName = null;
        List<String> placeholders = new ArrayList<>();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
            g.setColor(Color.BLACK);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            for (int r = 0; r < req.betas().size(); r++) {
                float beta = req.betas().get(r);
                for (int col = 0; col < req.seeds().size(); col++) {
                    long seed = req.seeds().get(col);
                    SampleRequest.Builder b = req.sample().toBuilder().clearBetas()
                            .generation(gen.withSeed(seed));
                    SampleRequest one = b.build();
                    List<String> ps = placeholdersOf(model, one);
                    for (String p : ps) {
                        b.beta(p, beta);
                    }
                    placeholders = ps;
                    GenerationResult res = sample(model, b.build());
                    sampler = res.sampler();
                    modelName = res.model();
                    g.drawImage(res.images().get(0), left + col * w, top + r * h, null);
                }
                if (req.labels()) {
                    g.drawString(String.format(Locale.ROOT, "beta %.3g", beta), 4, top + r * h + h / 2 + 4);
                }
            }
            if (req.labels()) {
                for (int col = 0; col < req.seeds().size(); col++) {
                    g.drawString("seed " + req.seeds().get(col), left + col * w + 2, top - 4);
                }
            }
        } finally {
            g.dispose();
        }
        Map<String, String> text = new LinkedHashMap<>();
        text.put("parameters", sweepParameters(req, sampler, modelName, placeholders));
        text.put("Software", "perfusion-java");
        Images.writePng(grid, text, req.output());
        return grid;
    }

    private static List<String> placeholdersOf(StableDiffusionPipeline model, SampleRequest req) {
        List<String> out = new ArrayList<>();
        req.concepts().forEach(c -> out.add(c.placeholder()));
        for (Path p : req.conceptFiles()) {
            try {
                out.add(ConceptFile.read(p).placeholder());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read concept " + p, e);
            }
        }
        return out;
    }

    private static String sweepParameters(SweepRequest req, String sampler, String model, List<String> placeholders) {
        GenerationRequest gen = req.sample().generation();
        StringBuilder sb = new StringBuilder(gen.prompts().get(0));
        if (!gen.negativePrompts().isEmpty() && !gen.negativePrompts().get(0).isEmpty()) {
            sb.append("\nNegative prompt: ").append(gen.negativePrompts().get(0));
        }
        sb.append(String.format(Locale.ROOT, "\nSteps: %d, Sampler: %s, CFG scale: %s, Size: %dx%d, Model: %s",
                gen.steps(), sampler, gen.guidanceScale(), gen.width(), gen.height(), model));
        sb.append("\nPerfusion: concepts ").append(placeholders).append(", locking ")
                .append(req.sample().locking().name().toLowerCase(Locale.ROOT));
        if (!req.sample().taus().isEmpty()) {
            sb.append(", tau ").append(req.sample().taus());
        }
        sb.append("\nSweep rows beta: ").append(req.betas()).append("\nSweep columns seed: ").append(req.seeds());
        return sb.toString();
    }

    /**
     * Estimates the text-encoding covariance C over {@code captions} (method §1.3) and writes C⁻¹ to
     * {@code outPath} atomically, stamped with the model's base fingerprint. The plain inverse (no ridge).
     *
     * @param listener progress, or null
     */
    public static Covariance estimateCovariance(StableDiffusionPipeline model, Iterable<String> captions,
                                                Covariance.Listener listener, Path outPath) throws IOException {
        return estimateCovariance(model, captions, 0, listener, outPath);
    }

    /**
     * As {@link #estimateCovariance(StableDiffusionPipeline, Iterable, Covariance.Listener, Path)}, but the file
     * holds (C + ridge·mean(diag C)·I)⁻¹: a small corpus, or one with few distinct words, gives a nearly singular
     * C whose plain inverse {@link Covariance#inverse(double)} rejects (κ₁ above {@link Covariance#MAX_CONDITION}).
     *
     * @param ridge    λ ≥ 0, recorded in the file
     * @param listener progress, or null
     * @throws IllegalArgumentException when λ is negative or not finite, or C + λ·mean(diag C)·I is still
     *                                  ill-conditioned (nothing is written then)
     */
    public static Covariance estimateCovariance(StableDiffusionPipeline model, Iterable<String> captions, double ridge,
                                                Covariance.Listener listener, Path outPath) throws IOException {
        if (!(ridge >= 0) || Double.isInfinite(ridge)) {
            throw new IllegalArgumentException("covariance ridge must be a finite number >= 0, got " + ridge);
        }
        CLIPTextModel te = model.textEncoder();
        Covariance cov = Covariance.estimate(te, model.tokenizer(), captions, 16, listener);
        cov.write(outPath, Fingerprints.baseModel(te, model.unet()), "", ridge);
        return cov;
    }
}
