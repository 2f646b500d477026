package dev.perfusion.io;

import dev.perfusion.io.LdmKeyMap.Component;
import dev.perfusion.io.LdmKeyMap.Target;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A single-file Stable Diffusion v1.x checkpoint in the original LDM layout (e.g.
 * {@code v1-5-pruned-emaonly.safetensors}), opened as three diffusers-named state dicts plus the configs detected
 * from its shapes. Nothing here depends on the model classes: {@link #unet}, {@link #textEncoder} and {@link #vae}
 * give tensors under the keys the diffusers / transformers models register, and {@link #unetConfigJson()} etc.
 * give the {@code config.json} those models would be built from.
 *
 * <pre>{@code
 * try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(Path.of("v1-5-pruned-emaonly.safetensors"))) {
 *     Map<String, Tensor> unetWeights = ckpt.unet(backend);   // "down_blocks.0.resnets.0.conv1.weight" → …
 *     DiffusersConfig unetConfig = ckpt.unetConfig();          // block_out_channels [320, 640, 1280, 1280] …
 * }
 * }</pre>
 *
 * <p>Key names are translated by {@link LdmKeyMap} (strict: unknown tensors are an error); tensors keep the file's
 * dtype (fp32, fp16 or bf16) and are read through the {@link SafeTensors} mapping, so only the component asked
 * for is touched. The VAE's attention weights are 1×1 convolutions in the file and Linear weights in diffusers;
 * their bytes are identical, so they are read with the Linear shape directly.
 */
public final class SingleFileCheckpoint implements AutoCloseable {
    private final Path path;
    private final SafeTensors file;
    private final LdmKeyMap keys;
    private final SingleFileArchitecture architecture;

    private SingleFileCheckpoint(Path path, SafeTensors file, LdmKeyMap keys, SingleFileArchitecture architecture) {
        this.path = path;
        this.file = file;
        this.keys = keys;
        this.architecture = architecture;
    }

    /**
     * Opens a single-file SD v1.x checkpoint, maps its keys and detects its architecture; the text encoder's head
     * count is inferred as width / 64 (CLIP ViT-L/14: 768 → 12).
     *
     * @throws SafeTensorsFormatException when the file is not valid safetensors (e.g. truncated)
     * @throws IOException                when it cannot be read
     * @throws IllegalArgumentException   naming the file, when it is not an SD v1.x checkpoint (saying what it is),
     *                                    holds tensors that are not part of one (all listed), or its shapes are
     *                                    inconsistent
     */
    public static SingleFileCheckpoint open(Path path) throws IOException {
        return open(path, 0);
    }

    /**
     * As {@link #open(Path)}, with the text encoder's head count given (shapes do not show it); for models whose
     * text width is not a multiple of 64.
     *
     * @param textEncoderHeads the text encoder's attention heads, or 0 to infer width / 64
     */
    public static SingleFileCheckpoint open(Path path, int textEncoderHeads) throws IOException {
        if (textEncoderHeads < 0) {
            throw new IllegalArgumentException("textEncoderHeads must be positive (or 0 to infer), got " + textEncoderHeads);
        }
        SafeTensors st = SafeTensors.open(path);
        try {
            Map<String, Shape> shapes = new LinkedHashMap<>();
            for (String name : st.names()) {
                shapes.put(name, st.info(name).shape());
            }
            LdmKeyMap keys = LdmKeyMap.of(shapes);
            SingleFileArchitecture architecture = SingleFileArchitecture.detect(keys, textEncoderHeads);
            return new SingleFileCheckpoint(path, st, keys, architecture);
        } catch (IllegalArgumentException e) {
            st.close();
            throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            st.close();
            throw e;
        }
    }

    /** The file, as given to {@link #open}. */
    public Path path() {
        return path;
    }

    /** The file's {@code __metadata__} (empty when it has none). */
    public Map<String, String> metadata() {
        return file.metadata();
    }

    /** The key mapping (LDM → diffusers) of this file, with the keys it skipped. */
    public LdmKeyMap keyMap() {
        return keys;
    }

    /** The architecture detected from the shapes. */
    public SingleFileArchitecture architecture() {
        return architecture;
    }

    /** True when the file holds {@code component}'s weights (the UNet always; the others usually). */
    public boolean has(Component component) {
        return keys.has(component);
    }

    // ------------------------------------------------------------------ weights

    /**
     * The UNet's weights under diffusers' {@code UNet2DConditionModel} keys ({@code conv_in.weight},
     * {@code down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight}, …), in file order. The caller
     * owns the tensors.
     */
    public Map<String, Tensor> unet(Backend backend) {
        return load(Component.UNET, backend);
    }

    /** The text encoder's weights under transformers' {@code CLIPTextModel} keys ({@code text_model.…}). */
    public Map<String, Tensor> textEncoder(Backend backend) {
        return load(Component.TEXT_ENCODER, backend);
    }

    /** The VAE's weights under diffusers' {@code AutoencoderKL} keys ({@code encoder.…}, {@code decoder.…}, …). */
    public Map<String, Tensor> vae(Backend backend) {
        return load(Component.VAE, backend);
    }

    private Map<String, Tensor> load(Component component, Backend backend) {
        if (!keys.has(component)) {
            throw new IllegalStateException(path + " holds no " + component.label() + " weights");
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, String> e : keys.keys(component).entrySet()) {
                String ldmKey = e.getValue();
                Target t = keys.target(ldmKey);
                // same bytes, possibly a new shape (VAE attention [C, C, 1, 1] → [C, C])
                out.put(e.getKey(), backend.fromBytes(file.buffer(ldmKey), file.info(ldmKey).dtype(), t.shape()));
            }
        } catch (RuntimeException | Error e) {
            out.values().forEach(Tensor::close);
            throw e;
        }
        return out;
    }

    // ------------------------------------------------------------------ configs

    /** The detected UNet's diffusers {@code config.json} text. */
    public String unetConfigJson() {
        return require(architecture.unet(), Component.UNET).configJson();
    }

    /** The detected text encoder's transformers {@code config.json} text. */
    public String textEncoderConfigJson() {
        return require(architecture.textEncoder(), Component.TEXT_ENCODER).configJson();
    }

    /** The detected VAE's diffusers {@code config.json} text. */
    public String vaeConfigJson() {
        return require(architecture.vae(), Component.VAE).configJson();
    }

    /** {@link #unetConfigJson()} parsed; its source names this file. */
    public DiffusersConfig unetConfig() {
        return DiffusersConfig.parse(unetConfigJson(), source(Component.UNET));
    }

    /** {@link #textEncoderConfigJson()} parsed; its source names this file. */
    public DiffusersConfig textEncoderConfig() {
        return DiffusersConfig.parse(textEncoderConfigJson(), source(Component.TEXT_ENCODER));
    }

    /** {@link #vaeConfigJson()} parsed; its source names this file. */
    public DiffusersConfig vaeConfig() {
        return DiffusersConfig.parse(vaeConfigJson(), source(Component.VAE));
    }

    private String source(Component component) {
        return path + " (" + component.label() + " config detected from tensor shapes)";
    }

    private <T> T require(T part, Component component) {
        if (part == null) {
            throw new IllegalStateException(path + " holds no " + component.label() + " weights");
        }
        return part;
    }

    /** Releases the file mapping; tensors already returned stay valid. */
    @Override
    public void close() {
        file.close();
    }
}
