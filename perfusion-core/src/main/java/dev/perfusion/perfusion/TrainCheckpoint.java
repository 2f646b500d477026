package dev.perfusion.perfusion;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A training checkpoint: all state of a run after {@code step} optimizer steps. Binary, big-endian
 * ({@link java.io.DataOutputStream}): magic {@code PFTRAIN2}, settings JSON, fingerprints, counters, i* (double),
 * v*, o*_K, o*_V (float), the losses, the optimizer state (double), and the learned key targets (float; empty
 * unless {@link TrainMode#NO_KEY_LOCKING}). Checkpoints of the earlier {@code PFTRAIN1} layout (the same without the
 * learned keys, written before training modes existed) are read as {@link TrainMode#PERFUSION} runs. Written to a
 * temporary file in the same folder, synced, then renamed over the target, so a crash leaves the previous
 * checkpoint intact.
 */
record TrainCheckpoint(String settings, String baseModel, String covariance, int step, long micro,
                       boolean initialized, double[] iStar, float[] embedding, float[] keys, float[] values,
                       double[] losses, java.util.Map<String, double[]> optimizer, float[] learnedKeys) {
    static final String MAGIC = "PFTRAIN2";
    /** The layout before training modes: no learned keys, settings without {@code mode}. */
    static final String MAGIC_V1 = "PFTRAIN1";

    void write(Path path) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, path.getFileName().toString(), ".tmp");
        try {
            try (var fos = new java.io.FileOutputStream(tmp.toFile());
                 var out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(fos))) {
                out.writeUTF(MAGIC);
                writeString(out, settings);
                out.writeUTF(baseModel);
                out.writeUTF(covariance);
                out.writeInt(step);
                out.writeLong(micro);
                out.writeBoolean(initialized);
                writeDoubles(out, iStar);
                writeFloats(out, embedding);
                writeFloats(out, keys);
                writeFloats(out, values);
                writeDoubles(out, losses);
                out.writeInt(optimizer.size());
                for (var e : optimizer.entrySet()) {
                    out.writeUTF(e.getKey());
                    writeDoubles(out, e.getValue());
                }
                writeFloats(out, learnedKeys);
                out.flush();
                fos.getFD().sync();
            }
            Files.move(tmp, path, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static TrainCheckpoint read(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("checkpoint " + path + " does not exist");
        }
        try (var in = new java.io.DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(path)))) {
            String magic = in.readUTF();
            boolean v1 = MAGIC_V1.equals(magic);
            if (!MAGIC.equals(magic) && !v1) {
                throw new IllegalArgumentException(path + " is not a Perfusion training checkpoint");
            }
            String settings = readString(in);
            String base = in.readUTF();
            String cov = in.readUTF();
            int step = in.readInt();
            long micro = in.readLong();
            boolean init = in.readBoolean();
            double[] iStar = readDoubles(in);
            float[] emb = readFloats(in);
            float[] keys = readFloats(in);
            float[] values = readFloats(in);
            double[] losses = readDoubles(in);
            int n = in.readInt();
            java.util.Map<String, double[]> opt = new java.util.LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                opt.put(in.readUTF(), readDoubles(in));
            }
            float[] learned = v1 ? new float[0] : readFloats(in);
            return new TrainCheckpoint(settings, base, cov, step, micro, init, iStar, emb, keys, values, losses, opt,
                    learned);
        } catch (java.io.EOFException e) {
            throw new IllegalArgumentException("checkpoint " + path + " is truncated", e);
        }
    }

    /** @throws IllegalArgumentException when the checkpoint belongs to another model, covariance or settings */
    void checkCompatible(TrainConfig cfg, String base, String cov, Path path) {
        if (!baseModel.equals(base)) {
            throw new IllegalArgumentException("checkpoint " + path + " was made with another base model");
        }
        if (!covariance.equals(cov)) {
            throw new IllegalArgumentException("checkpoint " + path + " was made with another covariance");
        }
        if (!settingsMap(settings).equals(settingsMap(PerfusionTrainer.comparableSettings(cfg)))) {
            throw new IllegalArgumentException("checkpoint " + path + " was made with other settings: " + settings);
        }
        if (step > cfg.steps()) {
            throw new IllegalArgumentException("checkpoint " + path + " is at step " + step + ", past the "
                    + cfg.steps() + " steps configured");
        }
    }

    /** Parsed settings; those of a checkpoint from before training modes get {@code mode = PERFUSION}. */
    private static java.util.Map<String, Object> settingsMap(String json) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        if (dev.perfusion.io.JsonReader.parse(json) instanceof java.util.Map<?, ?> parsed) {
            parsed.forEach((k, v) -> m.put(String.valueOf(k), v));
        }
        m.putIfAbsent("mode", TrainMode.PERFUSION.name());
        return m;
    }

    private static void writeString(java.io.DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(java.io.DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static void writeDoubles(java.io.DataOutputStream out, double[] a) throws IOException {
        out.writeInt(a.length);
        for (double v : a) {
            out.writeDouble(v);
        }
    }

    private static double[] readDoubles(java.io.DataInputStream in) throws IOException {
        double[] a = new double[in.readInt()];
        for (int i = 0; i < a.length; i++) {
            a[i] = in.readDouble();
        }
        return a;
    }

    private static void writeFloats(java.io.DataOutputStream out, float[] a) throws IOException {
        out.writeInt(a.length);
        for (float v : a) {
            out.writeFloat(v);
        }
    }

    private static float[] readFloats(java.io.DataInputStream in) throws IOException {
        float[] a = new float[in.readInt()];
        for (int i = 0; i < a.length; i++) {
            a[i] = in.readFloat();
        }
        return a;
    }
}
