package dev.perfusion.toy;

import dev.perfusion.perfusion.Concept;
import dev.perfusion.perfusion.ConceptFile;
import dev.perfusion.perfusion.ConceptLayer;
import dev.perfusion.perfusion.TrainMode;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The files of {@link ToyEvaluation}: results.csv, the sweep plot, summary.md, and the measures they need. */
final class ToyEvaluationReport {
    /** SD v1.5's text width D. */
    static final int SD15_DIM = 768;

    private ToyEvaluationReport() {
    }

    /**
     * How many of the ablation's points PERFUSION's curve dominates: a point (a, f) (alignment, fidelity) is dominated
     * when f ≤ F(a), F the upper envelope of PERFUSION's points: the best fidelity of a PERFUSION point with
     * alignment ≥ a, or the linear interpolation between two PERFUSION points whose alignments bracket a. So
     * PERFUSION "dominates" an ablation when every ablation point lies on or under its curve.
     */
    static int dominated(List<ToyEvaluation.Point> perfusion, List<ToyEvaluation.Point> ablation) {
        int count = 0;
        for (ToyEvaluation.Point q : ablation) {
            if (q.fidelity() <= envelope(perfusion, q.alignment()) + 1e-12) {
                count++;
            }
        }
        return count;
    }

    private static double envelope(List<ToyEvaluation.Point> ps, double a) {
        double best = Double.NEGATIVE_INFINITY;
        for (ToyEvaluation.Point p : ps) {
            if (p.alignment() >= a) {
                best = Math.max(best, p.fidelity());
            }
            for (ToyEvaluation.Point r : ps) {
                if (p.alignment() < a && a < r.alignment()) {
                    double t = (a - p.alignment()) / (r.alignment() - p.alignment());
                    best = Math.max(best, p.fidelity() + t * (r.fidelity() - p.fidelity()));
                }
            }
        }
        return best;
    }

    /**
     * {tensor bytes by {@link ConceptFile#tensorBytes}, measured file bytes} of a PERFUSION concept at SD v1.5
     * widths: D = 768 and the 16 attn2 layers of SD v1.5's UNet (widths 320, 320, 640, 640, 1280, 1280; 1280; 1280 ×
     * 3, 640 × 3, 320 × 3: Σd = 12,480), with {@code like}'s metadata; the probe file is written in {@code dir} and
     * deleted.
     */
    static long[] sd15ConceptBytes(Concept like, Path dir) throws IOException {
        List<ConceptLayer> layers = new ArrayList<>();
        int[] downWidths = {320, 640, 1280};
        for (int b = 0; b < 3; b++) {
            for (int a = 0; a < 2; a++) {
                layers.add(new ConceptLayer("down_blocks." + b + ".attentions." + a + ".transformer_blocks.0.attn2",
                        downWidths[b]));
            }
        }
        layers.add(new ConceptLayer("mid_block.attentions.0.transformer_blocks.0.attn2", 1280));
        int[] upWidths = {1280, 640, 320};
        for (int b = 1; b <= 3; b++) {
            for (int a = 0; a < 3; a++) {
                layers.add(new ConceptLayer("up_blocks." + b + ".attentions." + a + ".transformer_blocks.0.attn2",
                        upWidths[b - 1]));
            }
        }
        int total = layers.stream().mapToInt(ConceptLayer::width).sum();
        Concept c = new Concept(like.placeholder(), like.superclass(), new float[SD15_DIM], new float[SD15_DIM],
                new float[total], new float[total], like.beta(), like.tau(), layers, like.baseModel(),
                like.covariance(), like.training());
        Path probe = dir.resolve(".sd15-size-probe.perfusion");
        try {
            ConceptFile.write(probe, c);
            return new long[] {ConceptFile.tensorBytes(SD15_DIM, total), Files.size(probe)};
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    /** results.csv: mode, concept, beta (empty without a gate), fidelity, alignment, strict, images. */
    static void writeCsv(ToyEvaluation.Result r, Path file) throws IOException {
        StringBuilder sb = new StringBuilder("mode,concept,beta,fidelity,alignment,strict,images\n");
        for (ToyEvaluation.Point p : r.points()) {
            sb.append(String.format(Locale.ROOT, "%s,%s,%s,%.6f,%.6f,%.6f,%d%n", p.mode(), p.conceptLabel(),
                    p.beta() == null ? "" : String.format(Locale.ROOT, "%.3f", p.beta()), p.fidelity(), p.alignment(),
                    p.strict(), p.images()));
        }
        writeAtomically(file, sb.toString());
    }

    /** The sweep plot: per mode, the mean-over-concepts points in β order, alignment (x) against fidelity (y). */
    static BufferedImage plot(ToyEvaluation.Result r) {
        Map<String, List<ToySweepPlot.Point>> curves = new LinkedHashMap<>();
        for (TrainMode m : ToyEvaluation.modes()) {
            List<ToySweepPlot.Point> pts = new ArrayList<>();
            for (ToyEvaluation.Point p : r.curve(m, null)) {
                pts.add(new ToySweepPlot.Point(p.alignment(), p.fidelity(), p.beta() == null ? "no gate"
                        : String.format(Locale.ROOT, "β %.2f", p.beta())));
            }
            if (!pts.isEmpty()) {
                curves.put(modeLabel(m), pts);
            }
        }
        return ToySweepPlot.draw(curves, "Toy world: fidelity vs text alignment over β (mean of concepts)",
                "text alignment (fraction of checker checks passed)", "fidelity (1 − mean |Δ RGB| / 255)");
    }

    static String modeLabel(TrainMode m) {
        return switch (m) {
            case PERFUSION -> "Perfusion (key-locked)";
            case NO_KEY_LOCKING -> "no key-locking";
            case EMBEDDING_ONLY -> "embedding only (TI)";
        };
    }

    /** summary.md: markdown tables for docs/EVALUATION.md. */
    static void writeSummary(ToyEvaluation e, ToyEvaluation.Result r, Map<String, Double> timings, Path file)
            throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("## Toy-world evaluation\n\n");
        sb.append(String.format(Locale.ROOT, "Model `%s`; concepts %s, %d training images each (exact masks: %s). "
                        + "Training budget per concept and mode: %d optimizer steps × batch %d × accumulation %d "
                        + "(learning rates v* %s, o* %s). Sampling: %s, %d steps, guidance %s, %d seeds %s; β sweep "
                        + "%s, τ %s. Covariance from %d grammar captions (ridge %s).%n%n",
                e.model().getFileName(), e.concepts().stream().map(NovelConcept::placeholder).toList(),
                e.imagesPerConcept(), e.masks() ? "yes" : "no", e.trainSteps(), e.batchSize(), e.gradientAccumulation(),
                e.lrEmbedding(), e.lrValues(), e.sampler() == null ? "model default" : e.sampler(), e.samplingSteps(),
                e.guidance(), e.seeds().size(), e.seeds(), e.betas(), e.tau() == null ? "from the concept" : e.tau(),
                e.covarianceCaptions(), r.covarianceRidge()));
        sb.append("Fidelity = 1 − mean |ΔRGB|/255 between the image and the concept rendered at its prompted position "
                + "(best of ±2 px jitter, over the concept's support dilated by 1 px). Alignment = fraction of checker "
                + "checks passed (other object's colour, shape, size, position; background; concept present at its "
                + "position). Strict = every check passed.\n\n");
        float db = r.defaultBeta();
        sb.append(String.format(Locale.ROOT, "### Per mode (mean over concepts), default β = %.2f%n%n", db));
        sb.append("| mode | fidelity @ default β | alignment @ default β | strict @ default β | best fidelity (β) "
                + "| best alignment (β) |\n|---|---|---|---|---|---|\n");
        for (TrainMode m : ToyEvaluation.modes()) {
            List<ToyEvaluation.Point> c = r.curve(m, null);
            if (c.isEmpty()) {
                continue;
            }
            ToyEvaluation.Point at = atBeta(c, db);
            ToyEvaluation.Point bf = c.stream().max(Comparator.comparingDouble(ToyEvaluation.Point::fidelity)).orElseThrow();
            ToyEvaluation.Point ba = c.stream().max(Comparator.comparingDouble(ToyEvaluation.Point::alignment)).orElseThrow();
            sb.append(String.format(Locale.ROOT, "| %s | %.4f | %.4f | %.3f | %.4f (%s) | %.4f (%s) |%n", modeLabel(m),
                    at.fidelity(), at.alignment(), at.strict(), bf.fidelity(), betaText(bf), ba.alignment(),
                    betaText(ba)));
        }
        sb.append("\n### Every point\n\n| mode | concept | β | fidelity | alignment | strict | images |\n"
                + "|---|---|---|---|---|---|---|\n");
        for (ToyEvaluation.Point p : r.points()) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %.4f | %.4f | %.3f | %d |%n", modeLabel(p.mode()),
                    p.conceptLabel(), betaText(p), p.fidelity(), p.alignment(), p.strict(), p.images()));
        }
        sb.append("\n### Does key-locked Perfusion dominate the ablations?\n\n"
                + "A point of an ablation is dominated when it lies on or under Perfusion's fidelity/alignment curve "
                + "(some Perfusion β has at least its alignment and fidelity, or the segment between two Perfusion "
                + "points passes above it).\n\n| ablation | concept | points dominated | dominates |\n|---|---|---|---|\n");
        List<NovelConcept> cs = new ArrayList<>(e.concepts());
        cs.add(null);
        for (TrainMode m : ToyEvaluation.modes()) {
            if (m == TrainMode.PERFUSION) {
                continue;
            }
            for (NovelConcept c : cs) {
                List<ToyEvaluation.Point> abl = r.curve(m, c);
                int d = dominated(r.curve(TrainMode.PERFUSION, c), abl);
                sb.append(String.format(Locale.ROOT, "| %s | %s | %d of %d | %s |%n", modeLabel(m),
                        c == null ? "mean" : c.placeholder(), d, abl.size(), d == abl.size() ? "yes" : "no"));
            }
        }
        sb.append("\n### Two concepts trained separately, composed in one prompt\n\n");
        if (r.compositionTotal() == 0) {
            sb.append("Not run (needs two concepts).\n");
        } else {
            NovelConcept a = e.concepts().get(0);
            NovelConcept b = e.concepts().get(1);
            sb.append("Prompts: ");
            List<String> ps = ToyEvaluation.compositionPrompts(a, b).stream().map(s -> "\"" + s.caption() + "\"").toList();
            sb.append(String.join(", ", ps)).append("; Perfusion concepts at their default β.\n\n");
            sb.append(String.format(Locale.ROOT, "| both concepts at their positions | rate | target |%n|---|---|---|%n"
                    + "| %d of %d | %.1f %% | ≥ 70 %% |%n", r.compositionSuccesses(), r.compositionTotal(),
                    100 * r.compositionRate()));
        }
        sb.append("\n### Concept file sizes\n\n| file | bytes |\n|---|---|\n");
        for (Map.Entry<String, Long> f : r.conceptFileBytes().entrySet()) {
            sb.append(String.format(Locale.ROOT, "| toy `%s` | %,d |%n", f.getKey(), f.getValue()));
        }
        sb.append(String.format(Locale.ROOT, "| SD v1.5 widths (D 768, Σd 12,480), Perfusion: tensor data (2D + 2Σd)·4 "
                + "| %,d |%n| SD v1.5 widths, Perfusion: whole file (header and metadata included, measured) | %,d "
                + "(target ≤ 110,000: %s) |%n", r.sd15TensorBytes(), r.sd15FileBytes(),
                r.sd15FileBytes() <= 110_000 ? "met" : "NOT met"));
        sb.append("\n### Wall time (2 CPU cores)\n\n| stage | seconds |\n|---|---|\n");
        for (Map.Entry<String, Double> t : timings.entrySet()) {
            sb.append(String.format(Locale.ROOT, "| %s | %.1f |%n", t.getKey(), t.getValue()));
        }
        writeAtomically(file, sb.toString());
    }

    /** The point whose β is nearest to {@code beta} (the only point without a gate). */
    static ToyEvaluation.Point atBeta(List<ToyEvaluation.Point> curve, float beta) {
        return curve.stream().min(Comparator.comparingDouble(p -> p.beta() == null ? 0 : Math.abs(p.beta() - beta)))
                .orElseThrow();
    }

    private static String betaText(ToyEvaluation.Point p) {
        return p.beta() == null ? "no gate" : String.format(Locale.ROOT, "%.2f", p.beta());
    }

    static void writeAtomically(Path file, String text) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
