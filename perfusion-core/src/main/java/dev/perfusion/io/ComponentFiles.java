package dev.perfusion.io;

import dev.perfusion.nn.Module;
import dev.perfusion.nn.WeightStorage;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The files of one component folder of a diffusers model ({@code unet/}, {@code vae/}, {@code text_encoder/}):
 * {@code config.json} and one safetensors weights file, fp32 or fp16.
 */
public final class ComponentFiles {
    /** Weight file names tried in order: transformers, diffusers, then their fp16 variants. */
    public static final List<String> WEIGHT_FILES = List.of(
            "model.safetensors", "diffusion_pytorch_model.safetensors",
            "model.fp16.safetensors", "diffusion_pytorch_model.fp16.safetensors");

    private ComponentFiles() {
    }

    /** The weights file of a component folder; a clear error when it is missing or only a pickle is there. */
    public static Path weightsFile(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("missing model folder " + dir);
        }
        for (String name : WEIGHT_FILES) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        for (String pickle : List.of("pytorch_model.bin", "diffusion_pytorch_model.bin")) {
            if (Files.isRegularFile(dir.resolve(pickle))) {
                throw new IllegalArgumentException(dir.resolve(pickle) + " is a PyTorch pickle, which this library does "
                        + "not read (it can run code); convert the model to safetensors");
            }
        }
        throw new IllegalArgumentException("no weights in " + dir + " (looked for " + String.join(", ", WEIGHT_FILES) + ")");
    }

    /**
     * Loads every tensor of {@code file} into {@code module} strictly: all missing, unexpected and mismatched keys
     * are reported in one error naming the file. Keys listed in {@code ignored} are skipped (buffers that carry
     * no weights, such as transformers' {@code text_model.embeddings.position_ids}). Half-precision weights are
     * widened to FLOAT32 ({@link WeightStorage#FLOAT32}).
     */
    public static void loadStrict(Module module, Path file, Backend backend, List<String> ignored) throws IOException {
        loadStrict(module, file, backend, ignored, WeightStorage.FLOAT32);
    }

    /**
     * {@link #loadStrict(Module, Path, Backend, List)} with a choice of how half-precision weights are stored:
     * {@link WeightStorage#AS_STORED} keeps an fp16 file's FLOAT16/BFLOAT16 tensors as they are (half the memory of
     * {@link WeightStorage#FLOAT32}; on a backend that wraps the mapped file, such as {@code Nd4jBackend}, the
     * weights stay file-backed pages), at the cost of one widening cast per weight per forward.
     */
    public static void loadStrict(Module module, Path file, Backend backend, List<String> ignored,
                                  WeightStorage storage) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            for (String name : st.names()) {
                if (!ignored.contains(name)) {
                    state.put(name, st.tensor(name, backend));
                }
            }
            try {
                module.loadStateDict(state, true, storage);
            } catch (RuntimeException e) {
                state.values().forEach(Tensor::close);
                throw new IllegalArgumentException("cannot load " + file + ": " + e.getMessage(), e);
            }
        }
    }
}
