package dev.perfusion.perfusion;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTextOutput;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.io.TensorInfo;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The uncentered covariance C = E[e eᵀ] of the text encoder's outputs (the inputs of every {@code to_k}/{@code to_v}),
 * and its inverse C⁻¹, which Perfusion's scores use (reference/perfusion-method.md §1.3, §7 step 0).
 *
 * <p>Estimate, as lucidrains' {@code calculate_input_covariance} ([L]) and the method's pseudo-code (§7) do:
 * <pre>
 *   S = Σ_captions Σ_{n = BOS … first EOS} e_n e_nᵀ        (double; padding after the first EOS excluded)
 *   C = S / N_captions                                      (divided by the number of captions, not tokens:
 *                                                             the scale of C does not change s(e) or P, §1.3)
 *   C⁻¹ = inverse(C) in double, stored as float32
 * </pre>
 * The token rule is {@code bos..eos} (DESIGN §4; method §6 #11: [C]'s all-77-positions rule lets the padding
 * dominate). The method prescribes a plain inverse (§7: {@code Cinv := float32(inverse(S / N))}; [L]:
 * {@code torch.inverse(C)}), so no regularisation is added by default; {@link #inverse(double)} offers the ridge
 * C + λ·mean(diag C)·I that the golden files use for their tiny model (golden README §10, λ = 0.05), for encoders
 * whose C is badly conditioned. An ill-conditioned C (estimated κ₁ = ‖C‖₁‖C⁻¹‖₁ above {@link #MAX_CONDITION}:
 * float32 C⁻¹ would then carry relative errors of order κ·6e-8) is refused with a clear error.
 */
public final class Covariance {
    /** {@code format} metadata value of covariance files. */
    public static final String FORMAT = "perfusion-covariance";
    /** {@code format_version} this code reads and writes. */
    public static final int VERSION = 1;
    /** {@code token_rule}: BOS through the first EOS inclusive, padding excluded. */
    public static final String TOKEN_RULE = "bos..eos";
    /** Largest accepted condition number estimate κ₁ of C (SD v1.5's is about 3.9e3, method §1.3). */
    public static final double MAX_CONDITION = 1e7;

    /** Progress of {@link #estimate}: captions encoded so far, and the total (-1 when unknown). */
    @FunctionalInterface
    public interface Listener {
        void progress(long done, long total);
    }

    private final int dim;
    private final double[] matrix;
    private final long captions;
    private final long tokens;

    /**
     * @param matrix   C [D, D] row-major (already divided by the caption count)
     * @param captions number of captions it was estimated from
     * @param tokens   number of token encodings summed
     */
    public Covariance(int dim, double[] matrix, long captions, long tokens) {
        if (dim <= 0 || matrix.length != (long) dim * dim) {
            throw new IllegalArgumentException("covariance must be [" + dim + ", " + dim + "], got " + matrix.length
                    + " values");
        }
        this.dim = dim;
        this.matrix = matrix.clone();
        this.captions = captions;
        this.tokens = tokens;
    }

    /**
     * Streams {@code captions} through the text encoder in batches (no gradients) and estimates C.
     *
     * @param batchSize captions per text-encoder call (e.g. 16)
     * @param listener  progress, or null
     * @throws IllegalArgumentException when there are no captions
     */
    public static Covariance estimate(CLIPTextModel textEncoder, CLIPTokenizer tokenizer, Iterable<String> captions,
                                      int batchSize, Listener listener) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be > 0, got " + batchSize);
        }
        int d = textEncoder.config().hiddenSize();
        long total = captions instanceof Collection<?> c ? c.size() : -1;
        double[] sum = new double[d * d]; // upper triangle accumulated, mirrored at the end
        long n = 0;
        long tokens = 0;
        List<String> batch = new ArrayList<>(batchSize);
        for (String caption : captions) {
            batch.add(caption);
            if (batch.size() == batchSize) {
                tokens += accumulate(textEncoder, tokenizer, batch, sum, d);
                n += batch.size();
                batch.clear();
                if (listener != null) {
                    listener.progress(n, total);
                }
            }
        }
        if (!batch.isEmpty()) {
            tokens += accumulate(textEncoder, tokenizer, batch, sum, d);
            n += batch.size();
            if (listener != null) {
                listener.progress(n, total);
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("no captions to estimate the covariance from");
        }
        for (int i = 0; i < d; i++) {
            for (int j = i; j < d; j++) {
                double v = sum[i * d + j] / n;
                sum[i * d + j] = v;
                sum[j * d + i] = v;
            }
        }
        return new Covariance(d, sum, n, tokens);
    }

    /** Adds Σ e eᵀ (upper triangle) over BOS..first EOS of each caption; returns the number of tokens added. */
    private static long accumulate(CLIPTextModel te, CLIPTokenizer tok, List<String> batch, double[] sum, int d) {
        int len = CLIPTokenizer.CONTEXT_LENGTH;
        long[] ids = new long[batch.size() * len];
        int[] last = new int[batch.size()];
        for (int b = 0; b < batch.size(); b++) {
            int[] one = tok.encode(batch.get(b));
            last[b] = len - 1;
            for (int i = 0; i < len; i++) {
                ids[b * len + i] = one[i];
            }
            for (int i = 1; i < len; i++) {
                if (one[i] == tok.eosId()) {
                    last[b] = i;
                    break;
                }
            }
        }
        float[] e;
        Backend be = te.backend();
        try (AutoCloseable ng = Autograd.noGrad();
             Tensor idT = be.fromArray(ids, Shape.of(batch.size(), len)); // [B, 77]
             CLIPTextOutput out = te.forward(idT)) {
            e = out.lastHiddenState().toFloatArray();                     // [B, 77, D]
        } catch (Exception ex) {
            if (ex instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(ex);
        }
        long count = 0;
        double[] row = new double[d];
        for (int b = 0; b < batch.size(); b++) {
            for (int t = 0; t <= last[b]; t++) {
                int base = (b * len + t) * d;
                for (int k = 0; k < d; k++) {
                    row[k] = e[base + k];
                }
                for (int i = 0; i < d; i++) {
                    double ri = row[i];
                    int off = i * d;
                    for (int j = i; j < d; j++) {
                        sum[off + j] += ri * row[j];
                    }
                }
                count++;
            }
        }
        return count;
    }

    /** D. */
    public int dim() {
        return dim;
    }

    /** C [D, D] (a copy, row-major). */
    public double[] matrix() {
        return matrix.clone();
    }

    /** The number of captions C was estimated from. */
    public long captions() {
        return captions;
    }

    /** The number of token encodings summed. */
    public long tokens() {
        return tokens;
    }

    /** C⁻¹ in double, without regularisation (the method's choice, §7). */
    public double[] inverse() {
        return inverse(0);
    }

    /**
     * (C + ridge·mean(diag C)·I)⁻¹ in double, symmetrised ((A + Aᵀ)/2: C is symmetric, so only rounding is removed).
     *
     * @param ridge λ ≥ 0 (0: plain inverse)
     * @throws IllegalArgumentException when the matrix is singular or its condition estimate exceeds
     *                                  {@link #MAX_CONDITION}
     */
    public double[] inverse(double ridge) {
        if (!(ridge >= 0)) {
            throw new IllegalArgumentException("ridge must be ≥ 0, got " + ridge);
        }
        double[] a = matrix.clone();
        if (ridge > 0) {
            double mean = 0;
            for (int i = 0; i < dim; i++) {
                mean += matrix[i * dim + i];
            }
            mean /= dim;
            for (int i = 0; i < dim; i++) {
                a[i * dim + i] += ridge * mean;
            }
        }
        double[] inv = DenseMatrix.invert(a, dim, "the text covariance C (too few captions?)");
        double cond = DenseMatrix.norm1(a, dim) * DenseMatrix.norm1(inv, dim);
        if (!(cond <= MAX_CONDITION)) {
            throw new IllegalArgumentException(String.format(
                    "the text covariance C is ill-conditioned (κ₁ ≈ %.3g > %.0g; %d captions): its float32 inverse would be"
                            + " inaccurate. Use more (and more varied) captions, or a ridge (e.g. 0.05)", cond,
                    MAX_CONDITION, captions));
        }
        for (int i = 0; i < dim; i++) {
            for (int j = i + 1; j < dim; j++) {
                double v = 0.5 * (inv[i * dim + j] + inv[j * dim + i]);
                inv[i * dim + j] = v;
                inv[j * dim + i] = v;
            }
        }
        return inv;
    }

    /** The condition number estimate κ₁ = ‖C‖₁·‖C⁻¹‖₁. */
    public double condition() {
        double[] inv = DenseMatrix.invert(matrix, dim, "the text covariance C");
        return DenseMatrix.norm1(matrix, dim) * DenseMatrix.norm1(inv, dim);
    }

    /**
     * Writes the covariance file (DESIGN §4) atomically: {@code c_inv} [D, D] float32 = (C + ridge·mean(diag C)·I)⁻¹
     * computed in double, with metadata format, format_version, base_model, captions, token_rule, corpus (and
     * ridge when it is not 0).
     */
    public void write(Path path, String baseModel, String corpus, double ridge) throws IOException {
        double[] inv = inverse(ridge);
        float[] f = new float[inv.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) inv[i];
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("format_version", Integer.toString(VERSION));
        meta.put("base_model", baseModel == null ? "" : baseModel);
        meta.put("captions", Long.toString(captions));
        meta.put("token_rule", TOKEN_RULE);
        meta.put("corpus", corpus == null ? "" : corpus);
        if (ridge != 0) {
            meta.put("ridge", Double.toString(ridge));
        }
        Backend be = new ReferenceBackend();
        try (Tensor t = be.fromArray(f, Shape.of(dim, dim))) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("c_inv", t);
            SafeTensors.write(path, tensors, meta);
        }
    }

    /** A covariance file read back: C⁻¹ [D, D] float32 and its metadata. */
    public record InverseFile(int dim, float[] cInv, Map<String, String> metadata) {
        /** {@link Fingerprints#covariance} of {@link #cInv}. */
        public String fingerprint() {
            return Fingerprints.covariance(cInv);
        }

        /** The base-model fingerprint recorded in the file. */
        public String baseModel() {
            return metadata.getOrDefault("base_model", "");
        }
    }

    /**
     * Reads a covariance file, checking format, version, token rule and shape.
     *
     * @throws IllegalArgumentException naming the file and what is wrong
     */
    public static InverseFile read(Path path) throws IOException {
        try (SafeTensors st = SafeTensors.open(path)) {
            Map<String, String> m = st.metadata();
            if (!FORMAT.equals(m.get("format"))) {
                throw new IllegalArgumentException(path + " is not a Perfusion covariance file (format '"
                        + m.get("format") + "', expected '" + FORMAT + "')");
            }
            if (!Integer.toString(VERSION).equals(m.get("format_version"))) {
                throw new IllegalArgumentException(path + ": covariance format_version '" + m.get("format_version")
                        + "' is not supported (this version reads " + VERSION + ")");
            }
            if (!TOKEN_RULE.equals(m.get("token_rule"))) {
                throw new IllegalArgumentException(path + ": covariance token_rule '" + m.get("token_rule")
                        + "' is not '" + TOKEN_RULE + "', the rule this library's scores assume");
            }
            if (!st.contains("c_inv")) {
                throw new IllegalArgumentException(path + ": covariance file has no tensor 'c_inv'");
            }
            TensorInfo info = st.info("c_inv");
            Shape s = info.shape();
            if (info.dtype() != DType.FLOAT32 || s.rank() != 2 || s.dim(0) != s.dim(1)) {
                throw new IllegalArgumentException(path + ": 'c_inv' is " + info.dtype() + " " + s
                        + ", expected FLOAT32 [D, D]");
            }
            try (Tensor t = st.tensor("c_inv", new ReferenceBackend())) {
                return new InverseFile(s.dim(0), t.toFloatArray(), Map.copyOf(m));
            }
        }
    }
}
