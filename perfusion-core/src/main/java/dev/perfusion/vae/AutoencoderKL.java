package dev.perfusion.vae;

import dev.perfusion.autograd.Ops;
import dev.perfusion.io.ComponentFiles;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.nn.Conv2d;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.nn.Module;
import dev.perfusion.nn.WeightStorage;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.BinaryOp;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The variational autoencoder of Stable Diffusion v1.x, diffusers' {@code AutoencoderKL}: images in [−1, 1] to a
 * diagonal Gaussian over latents 2^(n−1) times smaller per side, and latents back to images.
 * <pre>
 *   encode:  moments = quant_conv(encoder(x))            [B, 3, H, W] → [B, 2L, H/f, W/f]
 *            μ, logvar = moments split on channels         [B, L, H/f, W/f] each; logvar clamped to [−30, 20]
 *   decode:  x̂ = decoder(post_quant_conv(z))              [B, L, h, w] → [B, 3, f·h, f·w]
 * </pre>
 * f = 8 and L = 4 for SD v1.5. No scaling factor is applied in either direction: SD's diffusion latents are
 * {@code scalingFactor() · z}, and {@code decode} takes {@code latents / scalingFactor()}.
 *
 * <p>Keys: {@code encoder.*} ({@link Encoder}), {@code decoder.*} ({@link Decoder}), {@code quant_conv} and
 * {@code post_quant_conv} (1×1 convolutions), exactly as in a diffusers {@code vae/} folder.
 *
 * <p>Differentiable: {@link #decode} and {@link #encode} record on the autograd tape when their input requires grad
 * (weights stay frozen unless {@link #requiresGrad(boolean)} is set), for img2img-style guidance.
 *
 * <p>Source: diffusers 0.30.3 {@code models/autoencoders/autoencoder_kl.py} ({@code AutoencoderKL}) and
 * {@code models/autoencoders/vae.py} ({@code DiagonalGaussianDistribution}).
 */
public final class AutoencoderKL extends Module {
    private final AutoencoderKLConfig config;
    private final Encoder encoder;
    private final Decoder decoder;
    private final Conv2d quantConv;
    private final Conv2d postQuantConv;

    /** Builds the model of {@code config}; parameters are zero until {@link #loadStateDict} or {@link #initialize}. */
    public AutoencoderKL(Backend backend, AutoencoderKLConfig config) {
        super(backend);
        this.config = config;
        int l = config.latentChannels();
        this.encoder = registerModule("encoder", new Encoder(backend, config));
        this.decoder = registerModule("decoder", new Decoder(backend, config));
        this.quantConv = config.useQuantConv()
                ? registerModule("quant_conv", new Conv2d(backend, 2 * l, 2 * l, 1, 1, 0, true)) : null;
        this.postQuantConv = config.usePostQuantConv()
                ? registerModule("post_quant_conv", new Conv2d(backend, l, l, 1, 1, 0, true)) : null;
    }

    /**
     * Loads a diffusers {@code vae/} folder: {@code config.json} and its safetensors weights (fp32, or fp16/bf16 kept
     * in their precision: {@link WeightStorage#AS_STORED}), strictly — every missing, unexpected or mis-shaped key is
     * reported in one error. Legacy attention names are converted first ({@link VaeKeys#renameLegacyAttention}).
     *
     * @throws IllegalArgumentException naming the file for a bad config or weights that do not match it
     */
    public static AutoencoderKL load(Path vaeDir, Backend backend) throws IOException {
        return load(vaeDir, backend, WeightStorage.AS_STORED);
    }

    /** {@link #load(Path, Backend)} with a choice of how half-precision weights are kept. */
    public static AutoencoderKL load(Path vaeDir, Backend backend, WeightStorage storage) throws IOException {
        AutoencoderKLConfig config = AutoencoderKLConfig.read(vaeDir);
        Path file = ComponentFiles.weightsFile(vaeDir);
        AutoencoderKL vae = new AutoencoderKL(backend, config);
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            Map<String, Tensor> renamed = state;
            try {
                for (String name : st.names()) {
                    state.put(name, st.tensor(name, backend));
                }
                renamed = VaeKeys.renameLegacyAttention(state);
                vae.loadStateDict(renamed, true, storage);
            } catch (RuntimeException e) {
                // nothing was loaded: every tensor read is still ours to free
                state.values().forEach(Tensor::close);
                renamed.values().forEach(Tensor::close);
                vae.close();
                throw new IllegalArgumentException("cannot load " + file + ": " + e.getMessage(), e);
            }
        }
        return vae;
    }

    /** Encodes without probing intermediates; see {@link #encode(Tensor, BiConsumer)}. */
    public LatentDistribution encode(Tensor image) {
        return encode(image, null);
    }

    /**
     * The posterior over latents of {@code image}.
     *
     * @param image [B, in, H, W] in [−1, 1], H and W multiples of f = 2^(levels−1)
     * @param probe receives the named intermediates ({@code encoder.conv_in}, {@code encoder.down_blocks.i},
     *              {@code encoder.mid_block.resnets.0}, {@code encoder.mid_block.attentions.0},
     *              {@code encoder.mid_block}, {@code encoder.conv_norm_out}, {@code encoder.conv_out},
     *              {@code quant_conv}) as they are made; it must read them at once. May be null.
     * @return μ, clamped logvar and σ, each [B, L, H/f, W/f], owned by the caller
     */
    public LatentDistribution encode(Tensor image, BiConsumer<String, Tensor> probe) {
        int f = config.downsampleFactor();
        if (image.rank() != 4 || image.dim(1) != config.inChannels()) {
            throw new IllegalArgumentException("AutoencoderKL.encode needs an image [B, " + config.inChannels()
                    + ", H, W], got " + image.shape());
        }
        if (image.dim(2) % f != 0 || image.dim(3) % f != 0 || image.dim(2) == 0 || image.dim(3) == 0) {
            throw new IllegalArgumentException("AutoencoderKL.encode needs H and W to be positive multiples of " + f
                    + " (2^(levels−1)), got " + image.dim(2) + "×" + image.dim(3));
        }
        int l = config.latentChannels();
        Tensor h = encoder.forward(image, Probes.prefixed(probe, "encoder"));  // [B, 2L, H/f, W/f]
        Tensor moments = h;
        if (quantConv != null) {
            moments = quantConv.forward(h);                                    // [B, 2L, H/f, W/f]
            Probes.tap(probe, "quant_conv", moments);
        }
        Tensor mean = Ops.slice(moments, 1, 0, l);                             // [B, L, H/f, W/f]
        Tensor rawLogvar = Ops.slice(moments, 1, l, 2 * l);                    // [B, L, H/f, W/f]
        Tensor logvar = clamp(rawLogvar, LatentDistribution.LOGVAR_MIN, LatentDistribution.LOGVAR_MAX); // [B, L, h, w]
        Tensor half = Ops.scale(logvar, 0.5f);                                 // [B, L, H/f, W/f]
        Tensor std = Ops.exp(half);                                            // [B, L, H/f, W/f]
        Intermediates.release(std, half, rawLogvar == logvar ? null : rawLogvar);
        Intermediates.release(mean, h, moments == h ? null : moments);
        return new LatentDistribution(mean, logvar, std);
    }

    /**
     * x clamped to [lo, hi]. Untracked: element-wise min/max on the backend. Tracked: x·m + c with a constant mask
     * m (1 inside the range) and offset c (the bound outside it), so the gradient is 1 inside and 0 outside, as
     * {@code torch.clamp}'s.
     */
    static Tensor clamp(Tensor x, float lo, float hi) {
        Backend be = x.backend();
        if (!x.requiresGrad()) {
            try (Tensor low = be.full(Shape.of(1), lo);                       // [1]
                 Tensor high = be.full(Shape.of(1), hi);                      // [1]
                 Tensor atLeast = be.binary(BinaryOp.MAXIMUM, x, low)) {      // like x
                return be.binary(BinaryOp.MINIMUM, atLeast, high);            // like x
            }
        }
        float[] v = x.toFloatArray();
        float[] mask = new float[v.length];
        float[] offset = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            if (v[i] < lo) {
                offset[i] = lo;
            } else if (v[i] > hi) {
                offset[i] = hi;
            } else {
                mask[i] = 1f;
            }
        }
        Tensor m = be.fromArray(mask, x.shape());                             // like x
        Tensor c = be.fromArray(offset, x.shape());                           // like x
        Tensor kept = Ops.mul(x, m);                                          // like x
        return Ops.add(kept, c);                                              // like x
    }

    /** Decodes without probing intermediates; see {@link #decode(Tensor, BiConsumer)}. */
    public Tensor decode(Tensor latent) {
        return decode(latent, null);
    }

    /**
     * The image of {@code latent} (not divided by the scaling factor here: pass {@code latents / scalingFactor()}).
     *
     * @param latent [B, L, h, w]
     * @param probe  receives {@code post_quant_conv}, {@code decoder.conv_in}, {@code decoder.mid_block.resnets.0},
     *               {@code decoder.mid_block.attentions.0}, {@code decoder.mid_block}, {@code decoder.up_blocks.i}
     *               and {@code decoder.conv_norm_out} as they are made; it must read them at once. May be null.
     * @return image [B, out, f·h, f·w], about [−1, 1], owned by the caller
     */
    public Tensor decode(Tensor latent, BiConsumer<String, Tensor> probe) {
        if (latent.rank() != 4 || latent.dim(1) != config.latentChannels() || latent.dim(2) == 0 || latent.dim(3) == 0) {
            throw new IllegalArgumentException("AutoencoderKL.decode needs a latent [B, " + config.latentChannels()
                    + ", h, w], got " + latent.shape());
        }
        Tensor z = latent;
        if (postQuantConv != null) {
            z = postQuantConv.forward(latent);                                 // [B, L, h, w]
            Probes.tap(probe, "post_quant_conv", z);
        }
        Tensor image = decoder.forward(z, Probes.prefixed(probe, "decoder"));  // [B, out, f·h, f·w]
        return Intermediates.release(image, z == latent ? null : z);
    }

    /** The factor SD multiplies sampled latents by after encoding (0.18215 for SD v1.x); not applied here. */
    public float scalingFactor() {
        return (float) config.scalingFactor();
    }

    /** The configuration this model was built from. */
    public AutoencoderKLConfig config() {
        return config;
    }

    /** The encoder ({@code encoder.*}). */
    public Encoder encoder() {
        return encoder;
    }

    /** The decoder ({@code decoder.*}). */
    public Decoder decoder() {
        return decoder;
    }
}
