package dev.perfusion.examples;

import dev.perfusion.perfusion.Covariance;
import dev.perfusion.perfusion.Fingerprints;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code perfusion covariance}: estimates the text-encoding covariance C of a base model from a caption corpus and
 * writes C⁻¹ (the file every concept of that model is trained and sampled with).
 */
@Command(name = "covariance", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Estimates the covariance of the text encoder's token encodings over a caption corpus (one "
                + "caption per line; a .tsv takes its first column and skips its header) and writes C⁻¹ as a "
                + "covariance file for the model."})
public final class CovarianceCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "diffusers folder or single-file .safetensors")
    Path model;

    @Option(names = "--captions", required = true, description = "caption file: one caption per line, or a .tsv")
    Path captions;

    @Option(names = "--out", required = true, description = "covariance file to write")
    Path out;

    @Option(names = "--limit", defaultValue = "0", description = "use at most this many captions (0: all)")
    int limit;

    @Option(names = "--batch", defaultValue = "16", description = "captions per text-encoder call (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--ridge", defaultValue = "0", description = "add ridge·mean(diag C)·I before inverting (default: ${DEFAULT-VALUE})")
    double ridge;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, nd4j, reference or cuda (default: ${DEFAULT-VALUE})")
    String backendName;

    @Override
    public Integer call() throws Exception {
        List<String> lines = readCaptions(captions, limit);
        Path dir = out.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("output folder " + dir + " does not exist");
        }
        try (Backend be = Backends.create(backendName); StableDiffusionPipeline p = StableDiffusionPipeline.load(model, be)) {
            long start = System.nanoTime();
            Covariance c = Covariance.estimate(p.textEncoder(), p.tokenizer(), lines, batch, (done, total) -> {
                double s = (System.nanoTime() - start) / 1e9;
                double eta = done > 0 ? s / done * (total - done) : 0;
                System.err.printf(Locale.ROOT, "%s%d/%d captions  %.0f s  ETA %.0f s%s", System.console() != null ? "\r" : "",
                        done, total, s, eta, System.console() != null ? "" : "\n");
            });
            if (System.console() != null) {
                System.err.println();
            }
            c.write(out, Fingerprints.baseModel(p.textEncoder(), p.unet()), String.valueOf(captions.getFileName()), ridge);
            System.out.printf(Locale.ROOT, "wrote %s: C⁻¹ [%d, %d] from %,d captions (%,d tokens), condition %.3g%n",
                    out, c.dim(), c.dim(), c.captions(), c.tokens(), c.condition());
        }
        return 0;
    }

    /** Captions, one per line; a .tsv file's first column after its header line (PartiPrompts' layout). */
    static List<String> readCaptions(Path file, int limit) throws Exception {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("caption file " + file + " does not exist");
        }
        boolean tsv = file.getFileName().toString().endsWith(".tsv");
        List<String> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            boolean header = tsv;
            while ((line = r.readLine()) != null && (limit <= 0 || out.size() < limit)) {
                if (header) {
                    header = false;
                    continue;
                }
                String caption = tsv ? line.split("\t", 2)[0] : line;
                if (!caption.isBlank()) {
                    out.add(caption.strip());
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no captions in " + file);
        }
        return out;
    }
}
