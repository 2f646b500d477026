package dev.perfusion.examples.demo;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.nn.Module;
import dev.perfusion.nn.Parameter;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Backends;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code perfusion demo}: builds a tiny random model with Stable Diffusion's structure (text encoder, UNet with
 * cross-attention), runs a guided-free denoising loop, saves and strictly reloads the weights as safetensors,
 * and back-propagates a noise-prediction loss through the frozen model into one trainable token embedding —
 * the gradient path Perfusion training uses. The weights are random, so the picture is noise; what the demo
 * shows is that every layer of the library runs end to end on the chosen backend.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run a tiny random SD-structured model end to end (until real SD weights are supported).")
public final class DemoCommand implements Callable<Integer> {
    private static final int VOCAB = 1000;
    private static final int WIDTH = 32;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, nd4j or reference (default: ${DEFAULT-VALUE})")
    String backendName;

    @Option(names = "--seed", defaultValue = "42", description = "seed for weights and noise (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--steps", defaultValue = "10", description = "denoising steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--latent-size", defaultValue = "16", description = "latent height and width, even (default: ${DEFAULT-VALUE})")
    int latentSize;

    @Option(names = "--prompt", defaultValue = "a photo of <teddy> sailing on a lake", description = "prompt (default: ${DEFAULT-VALUE})")
    String prompt;

    @Option(names = "--out", defaultValue = "perfusion-demo", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (steps < 1 || latentSize < 2 || latentSize % 2 != 0) {
            throw new IllegalArgumentException("--steps must be ≥ 1 and --latent-size even and ≥ 2");
        }
        Files.createDirectories(out);
        try (Backend be = Backends.create(backendName);
             TinyTextEncoder text = new TinyTextEncoder(be, VOCAB, WIDTH, 4);
             TinyUNet unet = new TinyUNet(be, 4, WIDTH, WIDTH, 4, 8)) {
            text.initialize(seed);
            unet.initialize(seed + 1);
            System.out.printf(Locale.ROOT, "backend %s; text encoder %,d parameters, UNet %,d parameters%n",
                    be.name(), text.parameterCount(), unet.parameterCount());
            PromptIds ids = PromptIds.of(prompt, VOCAB);
            System.out.println("prompt words (one toy token each: the demo model has a 1,000-token vocabulary): " + ids.words());

            Tensor latents = denoise(be, text, unet, ids);
            writePreview(latents, out.resolve("latents.png"));
            Path weights = out.resolve("tiny-sd.safetensors");
            saveAndReload(be, text, unet, ids, weights);
            trainEmbeddingStep(be, text, unet, ids);
            latents.close();
            System.out.println("outputs in " + out.toAbsolutePath());
        }
        return 0;
    }

    /** A toy denoising loop: x ← x − ε̂(x, t)/steps, printing progress per step. */
    private Tensor denoise(Backend be, TinyTextEncoder text, TinyUNet unet, PromptIds ids) throws Exception {
        boolean interactive = System.console() != null;
        Tensor x = TensorScope.detach(be.randn(Shape.of(1, 4, latentSize, latentSize), seed)); // [1, 4, h, w]
        try (AutoCloseable ng = Autograd.noGrad(); TensorScope scope = TensorScope.open()) {
            Tensor context = text.encode(text.embed(ids.tensor(be)));                      // [1, 77, 32]
            long start = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                int t = 999 - i * 1000 / steps;
                try (TensorScope step = TensorScope.open()) {
                    Tensor eps = unet.forward(x, t, context);                               // [1, 4, h, w]
                    Tensor next = step.keep(Ops.sub(x, Ops.scale(eps, 1f / steps)));       // [1, 4, h, w]
                    x.close();
                    x = TensorScope.detach(next);
                }
                double ms = (System.nanoTime() - start) / 1e6 / (i + 1);
                // a terminal gets one updating progress line; a log file gets one line per step
                System.out.printf(Locale.ROOT, "%sstep %d/%d  t=%d  %.1f ms/step  latent std %.4f%s",
                        interactive ? "\r" : "", i + 1, steps, t, ms, std(x.toFloatArray()), interactive ? "" : "\n");
            }
            if (interactive) {
                System.out.println();
            }
        }
        return x;
    }

    /** Saves both modules in one safetensors file, reloads them strictly into fresh modules, compares outputs. */
    private void saveAndReload(Backend be, TinyTextEncoder text, TinyUNet unet, PromptIds ids, Path file) throws Exception {
        Map<String, Tensor> all = new LinkedHashMap<>();
        text.stateDict().forEach((k, v) -> all.put("text_encoder." + k, v));
        unet.stateDict().forEach((k, v) -> all.put("unet." + k, v));
        SafeTensors.write(file, all, Map.of("format", "perfusion-demo", "seed", Long.toString(seed)));
        System.out.printf(Locale.ROOT, "saved %d tensors to %s (%,d bytes)%n", all.size(), file, Files.size(file));

        try (SafeTensors st = SafeTensors.open(file);
             TinyTextEncoder text2 = new TinyTextEncoder(be, VOCAB, WIDTH, 4);
             TinyUNet unet2 = new TinyUNet(be, 4, WIDTH, WIDTH, 4, 8);
             AutoCloseable ng = Autograd.noGrad();
             TensorScope scope = TensorScope.open()) {
            text2.loadStateDict(prefixed(st, be, "text_encoder."), true);
            unet2.loadStateDict(prefixed(st, be, "unet."), true);
            Tensor x = be.randn(Shape.of(1, 4, latentSize, latentSize), seed + 7);
            float[] a = unet.forward(x, 500, text.encode(text.embed(ids.tensor(be)))).toFloatArray();
            float[] b = unet2.forward(x, 500, text2.encode(text2.embed(ids.tensor(be)))).toFloatArray();
            double maxDiff = 0;
            for (int i = 0; i < a.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            }
            if (maxDiff != 0) {
                throw new IllegalStateException("reloaded model differs from the saved one by " + maxDiff);
            }
            System.out.println("reload check: strict load of every key, outputs identical (max |Δ| = 0)");
        }
    }

    private static Map<String, Tensor> prefixed(SafeTensors st, Backend be, String prefix) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String name : st.names()) {
            if (name.startsWith(prefix)) {
                m.put(name.substring(prefix.length()), st.tensor(name, be));
            }
        }
        return m;
    }

    /**
     * One noise-prediction loss through the frozen text encoder and UNet into a trainable copy of the
     * placeholder word's embedding (as Perfusion trains its concept embedding); checks that no frozen weight
     * received a gradient.
     */
    private void trainEmbeddingStep(Backend be, TinyTextEncoder text, TinyUNet unet, PromptIds ids) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor concept = Ops.detach(text.tokenRow(ids.placeholderId())).requiresGrad(true); // [1, 32]
            Tensor embeds = text.embed(ids.tensor(be));                                          // [1, 77, 32]
            int p = ids.placeholderIndex();
            Tensor edited = Ops.concat(List.of(
                    Ops.slice(embeds, 1, 0, p),
                    Ops.reshape(concept, Shape.of(1, 1, WIDTH)),
                    Ops.slice(embeds, 1, p + 1, TinyTextEncoder.MAX_TOKENS)), 1);               // [1, 77, 32]
            Tensor context = text.encode(edited);                                                // [1, 77, 32]
            Tensor clean = be.randn(Shape.of(1, 4, latentSize, latentSize), seed + 11);          // [1, 4, h, w]
            Tensor noise = be.randn(Shape.of(1, 4, latentSize, latentSize), seed + 12);          // [1, 4, h, w]
            Tensor noisy = Ops.add(Ops.scale(clean, 0.8f), Ops.scale(noise, 0.6f));             // [1, 4, h, w]
            Tensor loss = Ops.mseLoss(unet.forward(noisy, 600, context), noise);                 // []
            loss.backward();
            double norm = Math.sqrt(sumSquares(concept.grad().toFloatArray()));
            for (Module m : List.<Module>of(text, unet)) {
                for (Parameter param : m.parameters()) {
                    if (param.grad() != null) {
                        throw new IllegalStateException("frozen weight " + param.name() + " received a gradient");
                    }
                }
            }
            System.out.printf(Locale.ROOT, "training step: loss %.5f, |dL/d embedding(%s)| = %.3e; frozen weights: no gradients%n",
                    loss.item(), ids.words().get(p - 1), norm);
            concept.zeroGrad();
        }
    }

    /** Channels 0–2 of the latents as an RGB picture, 8× nearest upscaled (the VAE comes with the SD milestone). */
    private static void writePreview(Tensor latents, Path file) throws Exception {
        int h = latents.dim(2);
        int w = latents.dim(3);
        float[] v = latents.toFloatArray();
        int scale = 8;
        BufferedImage img = new BufferedImage(w * scale, h * scale, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h * scale; y++) {
            for (int x = 0; x < w * scale; x++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    float f = v[(c * h + y / scale) * w + x / scale];
                    int byteValue = (int) Math.round(255 * (0.5 + 0.5 * Math.tanh(f)));
                    rgb = (rgb << 8) | byteValue;
                }
                img.setRGB(x, y, rgb);
            }
        }
        ImageIO.write(img, "png", file.toFile());
        System.out.println("wrote " + file);
    }

    private static double std(float[] v) {
        double mean = 0;
        for (float f : v) {
            mean += f;
        }
        mean /= v.length;
        double var = 0;
        for (float f : v) {
            var += (f - mean) * (f - mean);
        }
        return Math.sqrt(var / v.length);
    }

    private static double sumSquares(float[] v) {
        double s = 0;
        for (float f : v) {
            s += (double) f * f;
        }
        return s;
    }
}
