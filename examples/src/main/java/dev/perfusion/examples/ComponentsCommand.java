package dev.perfusion.examples;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.clip.CLIPTextModel;
import dev.perfusion.clip.CLIPTextOutput;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.io.SafeTensorsFormatException;
import dev.perfusion.io.TensorInfo;
import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.unet.UNet2DConditionModel;
import dev.perfusion.vae.AutoencoderKL;
import dev.perfusion.vae.LatentDistribution;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code perfusion components}: runs one component of a diffusers model folder on named tensors read from a
 * safetensors file and writes its outputs to another, so that a converted model can be checked against PyTorch
 * tensor by tensor.
 *
 * <pre>
 *   text_encoder  input_ids [B, L] I64|I32, L ≤ 77       → last_hidden_state [B, L, D], pooler_output [B, D]
 *   unet          sample [B, 4, h, w] F32, timestep [] or [B] I64|I32|F32, encoder_hidden_states [B, M, D] F32
 *                                                       → sample [B, 4, h, w]
 *   vae_encode    sample [B, 3, H, W] F32, H, W = k·8    → mean, logvar [B, 4, H/8, W/8] (logvar clamped to [−30, 20])
 *   vae_decode    latent [B, 4, h, w] F32                → sample [B, 3, 8h, 8w]
 * </pre>
 * No VAE scaling factor is applied in either direction (as {@code vae.encode(x).latent_dist} and
 * {@code vae.decode(z).sample} in diffusers). Everything is checked before the model runs, and the output file is
 * written atomically at the end, so a failed run leaves nothing behind; failures print one line naming the
 * problem and exit with 1 (2 for command-line usage errors).
 */
@Command(name = "components", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Runs one component of a diffusers model folder on named tensors and writes",
                "its outputs, to check a converted model against PyTorch:",
                "",
                "  perfusion components --model DIR",
                "      --component text_encoder|unet|vae_encode|vae_decode",
                "      --inputs IN.safetensors --out OUT.safetensors",
                "      [--backend reference|nd4j|cuda|auto]",
                "",
                "Tensor names (float tensors F32; no VAE scaling factor either way):",
                "  text_encoder  input_ids [B,77] I64 or I32 (any length L <= 77 works)",
                "                -> last_hidden_state [B,77,D], pooler_output [B,D]",
                "  unet          sample [B,4,h,w], timestep [] or [B] I64 or F32,",
                "                encoder_hidden_states [B,77,D] -> sample [B,4,h,w]",
                "  vae_encode    sample [B,3,H,W] in [-1,1], H and W multiples of 8",
                "                -> mean, logvar [B,4,H/8,W/8] (logvar clamped to [-30,20])",
                "  vae_decode    latent [B,4,h,w] -> sample [B,3,8h,8w]",
                "Other tensors in the inputs file are ignored.",
                "",
                "A missing folder, file or tensor, a wrong dtype or shape, or a missing",
                "output folder prints one line naming it and exits with 1; nothing is",
                "written. Prints the component, backend, shapes and time, one line each.",
                "",
                "PyTorch side (safetensors.torch), e.g.:",
                "  save_file({'input_ids': ids}, 'in.safetensors')",
                "  load_file('out.safetensors')['last_hidden_state']",
                "      vs text_encoder(ids).last_hidden_state",
                ""})
public final class ComponentsCommand implements Callable<Integer> {
    private static final List<DType> IDS = List.of(DType.INT64, DType.INT32);
    private static final List<DType> F32 = List.of(DType.FLOAT32);
    private static final List<DType> STEP = List.of(DType.INT64, DType.INT32, DType.FLOAT32);

    /** An input tensor a component needs: its name, accepted dtypes and rank(s) ({@code -1} when 0 or 1). */
    private record Input(String name, List<DType> dtypes, int rank) {
    }

    /** The components, their sub-folder of the model folder and their input tensors. */
    private enum Component {
        TEXT_ENCODER("text_encoder", "text_encoder", new Input("input_ids", IDS, 2)),
        UNET("unet", "unet", new Input("sample", F32, 4), new Input("timestep", STEP, -1),
                new Input("encoder_hidden_states", F32, 3)),
        VAE_ENCODE("vae_encode", "vae", new Input("sample", F32, 4)),
        VAE_DECODE("vae_decode", "vae", new Input("latent", F32, 4));

        final String cliName;
        final String folder;
        final List<Input> inputs;

        Component(String cliName, String folder, Input... inputs) {
            this.cliName = cliName;
            this.folder = folder;
            this.inputs = List.of(inputs);
        }

        static String names() {
            return Arrays.stream(values()).map(c -> c.cliName).collect(Collectors.joining(", "));
        }
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "diffusers model folder (with text_encoder/, unet/, vae/)")
    Path model;

    @Option(names = "--component", required = true, paramLabel = "NAME",
            description = "text_encoder, unet, vae_encode or vae_decode")
    String componentName;

    @Option(names = "--inputs", required = true, paramLabel = "IN.safetensors", description = "input tensors, by name")
    Path inputs;

    @Option(names = "--out", required = true, paramLabel = "OUT.safetensors",
            description = "where to write the outputs (its folder must exist)")
    Path out;

    @Option(names = "--concept", paramLabel = "FILE",
            description = "Perfusion concept file(s): text_encoder maps token id vocab_size+k to concept k's embedding; "
                    + "unet applies the key-locked edit in every attn2 (needs --covariance)")
    List<Path> conceptFiles = List.of();

    @Option(names = "--covariance", paramLabel = "FILE", description = "the covariance (C⁻¹) file the concepts were trained with")
    Path covariance;

    @Option(names = "--beta", description = "gate bias β for every concept (default: each concept's own)")
    Float beta;

    @Option(names = "--tau", description = "gate temperature τ for every concept (default: each concept's own)")
    Float tau;

    @Option(names = "--backend", defaultValue = "auto", paramLabel = "NAME",
            description = "reference, nd4j, cuda or auto (default: ${DEFAULT-VALUE})")
    String backendName;

    @Override
    public Integer call() throws Exception {
        try {
            run();
            return 0;
        } catch (IllegalArgumentException | IOException e) {
            // the user's files or options are wrong: one line, no stack trace
            spec.commandLine().getErr().println("perfusion components: error: " + describe(e));
            spec.commandLine().getErr().flush();
            return 1;
        }
    }

    private void run() throws Exception {
        Component c = component();
        Path dir = componentFolder(c);
        if (!Files.isRegularFile(inputs)) {
            throw new IllegalArgumentException("inputs file " + inputs + " does not exist");
        }
        checkOutputPath();
        try (SafeTensors in = SafeTensors.open(inputs)) {
            // names, dtypes and ranks first: they need no model, so mistakes show before a long load
            for (Input input : c.inputs) {
                checkInput(in, c, input);
            }
            long start = System.nanoTime();
            try (Backend be = Backends.create(backendName);
                 Module m = load(c, dir, be)) {
                long loaded = System.nanoTime();
                try (AutoCloseable ng = Autograd.noGrad(); TensorScope scope = TensorScope.open()) {
                    Map<String, Tensor> outputs = switch (c) {
                        case TEXT_ENCODER -> textEncoder((CLIPTextModel) m, in, be);
                        case UNET -> unet((UNet2DConditionModel) m, in, be);
                        case VAE_ENCODE -> vaeEncode((AutoencoderKL) m, in, be);
                        case VAE_DECODE -> vaeDecode((AutoencoderKL) m, in, be);
                    };
                    long ran = System.nanoTime();
                    SafeTensors.write(out, outputs, Map.of("perfusion.component", c.cliName,
                            "perfusion.backend", be.name()));
                    String inShapes = c.inputs.stream().map(i -> i.name() + " " + infoText(in.info(i.name())))
                            .collect(Collectors.joining(", "));
                    String outShapes = outputs.entrySet().stream().map(e -> e.getKey() + " "
                            + e.getValue().dtype().safetensorsName() + " " + e.getValue().shape())
                            .collect(Collectors.joining(", "));
                    PrintWriter o = spec.commandLine().getOut();
                    o.printf(Locale.ROOT, "component: %s (%s)%n", c.cliName, dir);
                    o.printf(Locale.ROOT, "backend:   %s%n", be.name());
                    o.printf(Locale.ROOT, "inputs:    %s (from %s)%n", inShapes, inputs);
                    o.printf(Locale.ROOT, "outputs:   %s (to %s)%n", outShapes, out);
                    o.printf(Locale.ROOT, "time:      load %.0f ms, run %.0f ms%n", (loaded - start) / 1e6,
                            (ran - loaded) / 1e6);
                    o.flush();
                }
            }
        }
    }

    private Component component() {
        for (Component c : Component.values()) {
            if (c.cliName.equals(componentName)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown component '" + componentName + "'; choose one of "
                + Component.names());
    }

    /** The component's sub-folder; a clear error when the model folder or the sub-folder is missing. */
    private Path componentFolder(Component c) {
        if (!Files.isDirectory(model)) {
            throw new IllegalArgumentException("model folder " + model + (Files.exists(model) ? " is not a folder"
                    : " does not exist"));
        }
        Path dir = model.resolve(c.folder);
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model folder " + model + " has no " + c.folder
                    + "/ sub-folder (needed by " + c.cliName + ")");
        }
        return dir;
    }

    private void checkOutputPath() {
        if (Files.isDirectory(out)) {
            throw new IllegalArgumentException("output " + out + " is a folder; give a file name such as "
                    + out.resolve("out.safetensors"));
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new IllegalArgumentException("output folder " + parent + " (of --out " + out + ") does not exist");
        }
    }

    /** The input's presence, dtype and rank; dimensions that depend on the model's config are checked later. */
    private void checkInput(SafeTensors in, Component c, Input input) {
        if (!in.contains(input.name())) {
            List<String> names = in.names();
            String listed = names.isEmpty() ? "no tensors" : names.size() <= 20
                    ? "tensors " + String.join(", ", names)
                    : names.size() + " tensors: " + String.join(", ", names.subList(0, 20)) + ", …";
            throw new IllegalArgumentException("inputs file " + inputs + " has no tensor '" + input.name()
                    + "' (needed by " + c.cliName + "); it has " + listed);
        }
        TensorInfo info = in.info(input.name());
        if (!input.dtypes().contains(info.dtype())) {
            throw new IllegalArgumentException("input '" + input.name() + "' in " + inputs + " is "
                    + info.dtype().safetensorsName() + "; " + c.cliName + " needs "
                    + input.dtypes().stream().map(DType::safetensorsName).collect(Collectors.joining(" or ")));
        }
        int rank = info.shape().rank();
        boolean rankOk = input.rank() < 0 ? rank <= 1 : rank == input.rank();
        if (!rankOk) {
            throw new IllegalArgumentException("input '" + input.name() + "' in " + inputs + " has shape "
                    + info.shape() + "; " + c.cliName + " needs "
                    + (input.rank() < 0 ? "0-d or [B]" : "rank " + input.rank()));
        }
    }

    private static Module load(Component c, Path dir, Backend be) throws IOException {
        return switch (c) {
            case TEXT_ENCODER -> CLIPTextModel.load(dir, be);
            case UNET -> UNet2DConditionModel.load(dir, be);
            case VAE_ENCODE, VAE_DECODE -> AutoencoderKL.load(dir, be);
        };
    }

    private Map<String, Tensor> textEncoder(CLIPTextModel m, SafeTensors in, Backend be) throws IOException {
        Shape ids = in.info("input_ids").shape();
        int p = m.config().maxPositionEmbeddings();
        require(ids.dim(0) >= 1 && ids.dim(1) >= 1 && ids.dim(1) <= p, "input_ids", ids,
                "[B, L] with B ≥ 1 and 1 ≤ L ≤ " + p + " (SD pads to 77)");
        CLIPTextOutput r = conceptFiles.isEmpty() ? m.forward(in.tensor("input_ids", be))
                : ComponentConcepts.encodeText(m, in.tensor("input_ids", be), ComponentConcepts.read(conceptFiles));
        Map<String, Tensor> outputs = new LinkedHashMap<>();
        outputs.put("last_hidden_state", r.lastHiddenState()); // [B, L, D]
        outputs.put("pooler_output", r.pooledOutput());        // [B, D]
        return outputs;
    }

    private Map<String, Tensor> unet(UNet2DConditionModel m, SafeTensors in, Backend be) throws Exception {
        Shape x = in.info("sample").shape();
        Shape t = in.info("timestep").shape();
        Shape ehs = in.info("encoder_hidden_states").shape();
        int ch = m.config().inChannels();
        int f = 1 << (m.config().levels() - 1);
        require(x.dim(0) >= 1 && x.dim(1) == ch && positiveMultiple(x.dim(2), f) && positiveMultiple(x.dim(3), f),
                "sample", x, "[B, " + ch + ", h, w] with h and w positive multiples of " + f
                        + " (the UNet's downsampling)");
        int b = x.dim(0);
        int d = m.config().crossAttentionDim();
        require(ehs.dim(0) == b && ehs.dim(1) >= 1 && ehs.dim(2) == d, "encoder_hidden_states", ehs,
                "[" + b + ", M, " + d + "] (the sample's batch, cross_attention_dim " + d + ")");
        require(t.rank() == 0 || t.dim(0) == b || t.dim(0) == 1, "timestep", t, "0-d, [1] or [" + b + "]");
        Tensor text = in.tensor("encoder_hidden_states", be);              // [B, M, D]
        Tensor y;
        if (conceptFiles.isEmpty()) {
            y = m.forward(in.tensor("sample", be), in.tensor("timestep", be), text); // [B, out, h, w]
        } else {
            try (AutoCloseable edit = ComponentConcepts.installEdit(m, ComponentConcepts.read(conceptFiles), covariance,
                    beta, tau, text)) {
                y = m.forward(in.tensor("sample", be), in.tensor("timestep", be), text); // [B, out, h, w]
            }
        }
        Map<String, Tensor> outputs = new LinkedHashMap<>();
        outputs.put("sample", y);
        return outputs;
    }

    private Map<String, Tensor> vaeEncode(AutoencoderKL m, SafeTensors in, Backend be) {
        Shape x = in.info("sample").shape();
        int ch = m.config().inChannels();
        int f = m.config().downsampleFactor();
        require(x.dim(0) >= 1 && x.dim(1) == ch && positiveMultiple(x.dim(2), f) && positiveMultiple(x.dim(3), f),
                "sample", x, "[B, " + ch + ", H, W] with H and W positive multiples of " + f
                        + " (the VAE's downsampling)");
        LatentDistribution dist = m.encode(in.tensor("sample", be));
        Map<String, Tensor> outputs = new LinkedHashMap<>();
        outputs.put("mean", dist.mean());                                    // [B, L, H/f, W/f]
        outputs.put("logvar", dist.logvar());                                // [B, L, H/f, W/f]
        return outputs;
    }

    private Map<String, Tensor> vaeDecode(AutoencoderKL m, SafeTensors in, Backend be) {
        Shape z = in.info("latent").shape();
        int l = m.config().latentChannels();
        require(z.dim(0) >= 1 && z.dim(1) == l && z.dim(2) >= 1 && z.dim(3) >= 1, "latent", z,
                "[B, " + l + ", h, w] with B, h, w ≥ 1");
        Tensor image = m.decode(in.tensor("latent", be));                    // [B, out, f·h, f·w]
        Map<String, Tensor> outputs = new LinkedHashMap<>();
        outputs.put("sample", image);
        return outputs;
    }

    private void require(boolean ok, String name, Shape shape, String needed) {
        if (!ok) {
            throw new IllegalArgumentException("input '" + name + "' in " + inputs + " has shape " + shape + "; "
                    + componentName + " needs " + needed);
        }
    }

    private static boolean positiveMultiple(int n, int f) {
        return n > 0 && n % f == 0;
    }

    private static String infoText(TensorInfo info) {
        return info.dtype().safetensorsName() + " " + info.shape();
    }

    /** One line for an error: the message, with the file for I/O errors that carry only a path. */
    private static String describe(Exception e) {
        if (e instanceof NoSuchFileException nsf) {
            return "no such file " + nsf.getFile();
        }
        String msg = e.getMessage();
        if (msg == null || msg.isBlank()) {
            return e.getClass().getSimpleName();
        }
        return e instanceof IOException && !(e instanceof SafeTensorsFormatException)
                ? e.getClass().getSimpleName() + ": " + msg : msg;
    }
}
