package dev.perfusion.perfusion;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTokenizer;
import dev.perfusion.io.JsonReader;
import dev.perfusion.io.JsonWriter;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.io.TensorInfo;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.UNet2DConditionModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes concept files ({@code *.perfusion}, DESIGN §4): a safetensors file with float32 tensors
 * {@code embedding} [D], {@code i_star} [D], {@code keys} [Σd], {@code values} [Σd] (16 layers concatenated in UNet
 * run order) and string metadata {@code format=perfusion-concept}, {@code format_version=1}, {@code placeholder},
 * {@code superclass}, {@code beta}, {@code tau} (decimal strings), {@code layers} (JSON
 * {@code [{"path": …, "width": …}, …]}), {@code base_model}, {@code covariance} (fingerprints, {@link Fingerprints})
 * and {@code training} (JSON). For SD v1.5 (D = 768, Σd = 12,480) the file is about 104 KiB (≤ 110,000 bytes).
 *
 * <p>Training modes ({@link TrainMode}, the evaluation's ablations): the metadata {@code mode} holds the mode's name
 * ({@code PERFUSION}, {@code NO_KEY_LOCKING} or {@code EMBEDDING_ONLY}); a file without it (written before modes
 * existed) is {@code PERFUSION}. The tensors per mode:
 * <ul>
 *   <li>{@code PERFUSION}: {@code embedding}, {@code i_star}, {@code keys} (the locked super-category keys o*_K),
 *       {@code values} (o*_V), as above.</li>
 *   <li>{@code NO_KEY_LOCKING}: the same four, where {@code keys} is W_K·ē_super, the starting point of the key
 *       targets, plus {@code learned_keys} [Σd] float32: the learned key targets o*_K of every layer, concatenated
 *       in the same layer order. The edit uses {@code learned_keys}, not {@code keys}.</li>
 *   <li>{@code EMBEDDING_ONLY}: {@code embedding} and {@code i_star} only (no per-layer tensors; {@code layers} is
 *       {@code []}); sampling uses the embedding and installs no attention edit.</li>
 * </ul>
 */
public final class ConceptFile {
    /** {@code format} metadata value. */
    public static final String FORMAT = "perfusion-concept";
    /** {@code format_version} this code reads and writes. */
    public static final int VERSION = 1;
    /** Name of the learned key targets' tensor in {@link TrainMode#NO_KEY_LOCKING} files. */
    public static final String LEARNED_KEYS = "learned_keys";

    private ConceptFile() {
    }

    /** What a concept must match to be used with a model (see {@link #load}). */
    public record Requirements(List<ConceptLayer> layers, int dim, String baseModel, String covariance,
                               CLIPTokenizer tokenizer, boolean allowFingerprintMismatch) {
        /**
         * The requirements of a loaded model: its attn2 layers and text width, its {@link Fingerprints#baseModel}
         * (hashes the weights: about a second for SD v1.5), the given covariance fingerprint.
         *
         * @param covariance {@link Fingerprints#covariance} of the C⁻¹ in use, or null to skip that check
         */
        public static Requirements of(CLIPTextModel textEncoder, UNet2DConditionModel unet, CLIPTokenizer tokenizer,
                                      String covariance, boolean allowFingerprintMismatch) {
            return new Requirements(Concept.layersOf(unet.crossAttentionLayers()), textEncoder.config().hiddenSize(),
                    Fingerprints.baseModel(textEncoder, unet), covariance, tokenizer, allowFingerprintMismatch);
        }
    }

    /** Writes {@code concept} to {@code path} atomically (the file appears complete or not at all). */
    public static void write(Path path, Concept concept) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("format_version", Integer.toString(VERSION));
        meta.put("placeholder", concept.placeholder());
        meta.put("superclass", concept.superclass());
        meta.put("beta", Float.toString(concept.beta()));
        meta.put("tau", Float.toString(concept.tau()));
        List<Object> layers = new ArrayList<>();
        for (ConceptLayer l : concept.layers()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", l.path());
            m.put("width", l.width());
            layers.add(m);
        }
        meta.put("layers", JsonWriter.write(layers));
        meta.put("base_model", concept.baseModel() == null ? "" : concept.baseModel());
        meta.put("covariance", concept.covariance() == null ? "" : concept.covariance());
        meta.put("training", concept.training());
        meta.put("mode", concept.mode().name());
        Backend be = new ReferenceBackend();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("embedding", be.fromArray(concept.embedding(), Shape.of(concept.dim())));
        tensors.put("i_star", be.fromArray(concept.iStar(), Shape.of(concept.dim())));
        if (concept.editsAttention()) {
            tensors.put("keys", be.fromArray(concept.keys(), Shape.of(concept.totalWidth())));
            tensors.put("values", be.fromArray(concept.values(), Shape.of(concept.totalWidth())));
        }
        if (concept.mode() == TrainMode.NO_KEY_LOCKING) {
            tensors.put(LEARNED_KEYS, be.fromArray(concept.learnedKeys(), Shape.of(concept.totalWidth())));
        }
        try {
            SafeTensors.write(path, tensors, meta);
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    /**
     * Reads a concept file, checking its format, version and internal consistency (tensor sizes against its own
     * {@code layers}), but not whether it fits a model: see {@link #load}.
     *
     * @throws IllegalArgumentException naming the file and what is wrong
     */
    public static Concept read(Path path) throws IOException {
        try (SafeTensors st = SafeTensors.open(path)) {
            Map<String, String> m = st.metadata();
            String format = m.get("format");
            if (!FORMAT.equals(format)) {
                throw new IllegalArgumentException(path + " is not a Perfusion concept file (format '" + format
                        + "', expected '" + FORMAT + "')");
            }
            String version = m.get("format_version");
            if (!Integer.toString(VERSION).equals(version)) {
                throw new IllegalArgumentException(path + ": concept format_version '" + version
                        + "' is not supported (this version reads " + VERSION + ")");
            }
            TrainMode mode;
            try {
                mode = m.containsKey("mode") ? TrainMode.parse(m.get("mode")) : TrainMode.PERFUSION;
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(path + ": concept metadata 'mode': " + e.getMessage(), e);
            }
            List<ConceptLayer> layers = parseLayers(path, required(path, m, "layers"));
            if (!mode.editsAttention() && !layers.isEmpty()) {
                throw new IllegalArgumentException(path + ": an EMBEDDING_ONLY concept edits no layers, but its "
                        + "'layers' lists " + layers.size());
            }
            long total = layers.stream().mapToLong(ConceptLayer::width).sum();
            float[] embedding = vector(path, st, "embedding", -1);
            float[] iStar = vector(path, st, "i_star", embedding.length);
            float[] keys = mode.editsAttention() ? vector(path, st, "keys", total) : new float[0];
            float[] values = mode.editsAttention() ? vector(path, st, "values", total) : new float[0];
            float[] learned = mode == TrainMode.NO_KEY_LOCKING ? vector(path, st, LEARNED_KEYS, total) : null;
            return new Concept(required(path, m, "placeholder"), required(path, m, "superclass"), embedding, iStar, keys,
                    values, number(path, m, "beta"), number(path, m, "tau"), layers, m.getOrDefault("base_model", ""),
                    m.getOrDefault("covariance", ""), m.getOrDefault("training", "{}"), mode, learned);
        }
    }

    /**
     * Reads a concept file and checks that it fits a model: D and the layers (paths, widths, order), the base-model
     * and covariance fingerprints (a mismatch fails unless {@code allowFingerprintMismatch}), that the placeholder
     * is not already a vocabulary word and that the super-class word is one token.
     */
    public static Concept load(Path path, Requirements req) throws IOException {
        Concept c = read(path);
        try {
            check(c, req);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
        }
        return c;
    }

    /** The checks of {@link #load} on a concept in memory. */
    public static void check(Concept c, Requirements req) {
        if (c.dim() != req.dim()) {
            throw new IllegalArgumentException("concept " + c.placeholder() + " has text width " + c.dim()
                    + ", the model's text encoder has " + req.dim());
        }
        c.checkLayers(req.layers());
        if (!req.allowFingerprintMismatch()) {
            if (req.baseModel() != null && !req.baseModel().equals(c.baseModel())) {
                throw new IllegalArgumentException("concept " + c.placeholder() + " was trained on base model "
                        + c.baseModel() + ", this model is " + req.baseModel()
                        + " (different weights: results would be wrong; override only if you know they are equivalent)");
            }
            if (req.covariance() != null && !req.covariance().equals(c.covariance())) {
                throw new IllegalArgumentException("concept " + c.placeholder() + " was trained with covariance "
                        + c.covariance() + ", the one given is " + req.covariance());
            }
        }
        CLIPTokenizer tok = req.tokenizer();
        if (tok != null) {
            checkPlaceholder(tok, c.placeholder());
            List<String> sup = tok.tokenize(c.superclass());
            if (sup.size() != 1) {
                throw new IllegalArgumentException("super-class '" + c.superclass() + "' is " + sup.size()
                        + " CLIP tokens " + sup + "; Perfusion needs a one-token super-class word (method §6 #14)");
            }
        }
    }

    /**
     * Rejects a placeholder that is a vocabulary word: a prompt could not use that word any more, and the concept
     * would silently shadow it.
     */
    public static void checkPlaceholder(CLIPTokenizer tok, String placeholder) {
        int id = tok.tokenId(placeholder);
        int word = tok.tokenId(placeholder + "</w>");
        if ((id >= 0 && id < tok.vocabSize()) || (word >= 0 && word < tok.vocabSize())) {
            throw new IllegalArgumentException("placeholder '" + placeholder + "' is already a CLIP vocabulary word"
                    + " (id " + (word >= 0 ? word : id) + "); choose one that is not, e.g. <" + placeholder + ">");
        }
    }

    /** Exact size in bytes of a {@link TrainMode#PERFUSION} concept file's tensor data: (2·D + 2·Σd)·4. */
    public static long tensorBytes(int dim, int totalWidth) {
        return 4L * (2L * dim + 2L * totalWidth);
    }

    private static String required(Path path, Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) {
            throw new IllegalArgumentException(path + ": concept metadata has no '" + key + "'");
        }
        return v;
    }

    private static float number(Path path, Map<String, String> m, String key) {
        String v = required(path, m, key);
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(path + ": concept metadata '" + key + "' is not a number: '" + v + "'");
        }
    }

    private static List<ConceptLayer> parseLayers(Path path, String json) {
        List<ConceptLayer> out = new ArrayList<>();
        try {
            for (Object o : (List<?>) JsonReader.parse(json)) {
                Map<?, ?> m = (Map<?, ?>) o;
                out.add(new ConceptLayer((String) m.get("path"), ((Number) m.get("width")).intValue()));
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(path + ": concept metadata 'layers' is not a list of {path, width}: "
                    + e.getMessage(), e);
        }
        return out;
    }

    private static float[] vector(Path path, SafeTensors st, String name, long expected) {
        if (!st.contains(name)) {
            throw new IllegalArgumentException(path + ": concept file has no tensor '" + name + "'");
        }
        TensorInfo info = st.info(name);
        if (info.dtype() != DType.FLOAT32 || info.shape().rank() != 1
                || (expected >= 0 && info.shape().dim(0) != expected)) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' is " + info.dtype() + " " + info.shape()
                    + ", expected FLOAT32 [" + (expected >= 0 ? expected : "D") + "]");
        }
        Backend be = new ReferenceBackend();
        try (Tensor t = st.tensor(name, be)) {
            return t.toFloatArray();
        }
    }
}
