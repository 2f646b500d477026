package dev.perfusion.toy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The configuration of the toy base model: the classes and config keys of Stable Diffusion v1.x (diffusers'
 * {@code config.json} layout, so {@code StableDiffusionPipeline.load} reads the folder like any SD v1.x model), at a
 * size that trains on a laptop CPU.
 *
 * <table>
 *   <caption>Toy model vs SD v1.5</caption>
 *   <tr><th>component</th><th>toy</th><th>SD v1.5</th></tr>
 *   <tr><td>image</td><td>32 × 32</td><td>512 × 512</td></tr>
 *   <tr><td>VAE</td><td>3 levels (32, 64, 64), factor 4, latent 4 × 8 × 8</td><td>4 levels, factor 8, 4 × 64 × 64</td></tr>
 *   <tr><td>UNet</td><td>2 cross-attention levels (32, 64), 4 heads</td><td>4 levels (320…1280), 8 heads</td></tr>
 *   <tr><td>text encoder</td><td>width 64, 2 layers, 4 heads, toy BPE vocabulary, 77 positions</td>
 *       <td>width 768, 12 layers, 12 heads, 49,408 tokens, 77 positions</td></tr>
 *   <tr><td>scheduler</td><td colspan="2">the same: 1000 steps, scaled-linear β 0.00085 → 0.012</td></tr>
 * </table>
 */
public final class ToyModelConfigs {
    /** Text encoder width = UNet cross-attention width. */
    public static final int TEXT_WIDTH = 64;

    private ToyModelConfigs() {
    }

    /** vae/config.json with the measured latent scaling factor (1 / std of the latents). */
    public static Map<String, Object> vae(double scalingFactor) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "AutoencoderKL");
        m.put("act_fn", "silu");
        m.put("block_out_channels", List.of(32, 64, 64));
        m.put("down_block_types", List.of("DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"));
        m.put("up_block_types", List.of("UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"));
        m.put("in_channels", 3);
        m.put("out_channels", 3);
        m.put("latent_channels", 4);
        m.put("layers_per_block", 1);
        m.put("mid_block_add_attention", true);
        m.put("norm_num_groups", 8);
        m.put("sample_size", ToyWorld.SIZE);
        m.put("scaling_factor", scalingFactor);
        m.put("use_quant_conv", true);
        m.put("use_post_quant_conv", true);
        return m;
    }

    /** unet/config.json. */
    public static Map<String, Object> unet() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "UNet2DConditionModel");
        m.put("act_fn", "silu");
        m.put("attention_head_dim", 4);
        m.put("block_out_channels", List.of(32, 64));
        m.put("cross_attention_dim", TEXT_WIDTH);
        m.put("down_block_types", List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"));
        m.put("up_block_types", List.of("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"));
        m.put("mid_block_type", "UNetMidBlock2DCrossAttn");
        m.put("downsample_padding", 1);
        m.put("flip_sin_to_cos", true);
        m.put("freq_shift", 0);
        m.put("in_channels", 4);
        m.put("out_channels", 4);
        m.put("layers_per_block", 1);
        m.put("norm_eps", 1e-5);
        m.put("norm_num_groups", 8);
        m.put("sample_size", ToyWorld.SIZE / 4);
        m.put("use_linear_projection", false);
        return m;
    }

    /** text_encoder/config.json for a vocabulary of {@code vocabSize} tokens whose last id is the EOS token. */
    public static Map<String, Object> textEncoder(int vocabSize) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of("CLIPTextModel"));
        m.put("model_type", "clip_text_model");
        m.put("hidden_act", "quick_gelu");
        m.put("hidden_size", TEXT_WIDTH);
        m.put("intermediate_size", 4 * TEXT_WIDTH);
        m.put("num_attention_heads", 4);
        m.put("num_hidden_layers", 2);
        m.put("max_position_embeddings", 77);
        m.put("layer_norm_eps", 1e-5);
        m.put("vocab_size", vocabSize);
        m.put("bos_token_id", vocabSize - 2);
        m.put("eos_token_id", vocabSize - 1);
        m.put("pad_token_id", vocabSize - 1);
        m.put("projection_dim", TEXT_WIDTH);
        m.put("torch_dtype", "float32");
        return m;
    }

    /** scheduler/scheduler_config.json: SD v1.5's noise schedule, sampled with DDIM by default. */
    public static Map<String, Object> scheduler() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "DDIMScheduler");
        m.put("num_train_timesteps", 1000);
        m.put("beta_start", 0.00085);
        m.put("beta_end", 0.012);
        m.put("beta_schedule", "scaled_linear");
        m.put("clip_sample", false);
        m.put("set_alpha_to_one", false);
        m.put("steps_offset", 1);
        m.put("prediction_type", "epsilon");
        return m;
    }

    /**
     * {@link #scheduler()} with zero terminal SNR (Lin et al. 2023): β rescaled so that the last training step is
     * pure noise, v-prediction (ε says nothing about x₀ there) and trailing timesteps (sampling starts at t = 999).
     * With SD's schedule 6.8 % of the clean latent survives at t = 999, enough for a denoiser to locate an object
     * from z_t alone and never learn the caption's position words (docs/EVALUATION.md).
     */
    public static Map<String, Object> zeroTerminalSnrScheduler() {
        Map<String, Object> m = scheduler();
        m.put("prediction_type", "v_prediction");
        m.put("rescale_betas_zero_snr", true);
        m.put("timestep_spacing", "trailing");
        return m;
    }

    /** model_index.json. */
    public static Map<String, Object> modelIndex() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "StableDiffusionPipeline");
        m.put("_toy_world", "perfusion issue 7: trained from scratch by ToyBaseTrainer");
        m.put("scheduler", List.of("diffusers", "DDIMScheduler"));
        m.put("text_encoder", List.of("transformers", "CLIPTextModel"));
        m.put("tokenizer", List.of("transformers", "CLIPTokenizer"));
        m.put("unet", List.of("diffusers", "UNet2DConditionModel"));
        m.put("vae", List.of("diffusers", "AutoencoderKL"));
        return m;
    }
}
