package dev.perfusion.bench.sd15;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The {@code config.json} texts of the three models of a Stable Diffusion v1.x pipeline folder, written verbatim
 * by {@link Sd15Generator} and parsed with the model classes' own factories, so that the folder and the weights
 * come from one source. {@link #sd15()} holds SD v1.5's values; tests pass tiny ones ({@link #readFolder}).
 *
 * @param unet        {@code unet/config.json} (diffusers {@code UNet2DConditionModel})
 * @param vae         {@code vae/config.json} (diffusers {@code AutoencoderKL})
 * @param textEncoder {@code text_encoder/config.json} (transformers {@code CLIPTextModel})
 */
public record PipelineConfigs(String unet, String vae, String textEncoder) {

    public PipelineConfigs {
        Objects.requireNonNull(unet, "unet config");
        Objects.requireNonNull(vae, "vae config");
        Objects.requireNonNull(textEncoder, "text encoder config");
    }

    /**
     * SD v1.5 (runwayml/stable-diffusion-v1-5, diffusers 0.6.0 layout): the keys of the published
     * {@code unet/config.json}; 8 is the head count (diffusers' legacy {@code attention_head_dim}), head sizes
     * 40/80/160/160; 64 × 64 latents for 512² images.
     */
    static final String SD15_UNET = """
            {
              "_class_name": "UNet2DConditionModel",
              "_diffusers_version": "0.6.0",
              "act_fn": "silu",
              "attention_head_dim": 8,
              "block_out_channels": [320, 640, 1280, 1280],
              "center_input_sample": false,
              "cross_attention_dim": 768,
              "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
              "downsample_padding": 1,
              "flip_sin_to_cos": true,
              "freq_shift": 0,
              "in_channels": 4,
              "layers_per_block": 2,
              "mid_block_scale_factor": 1,
              "norm_eps": 1e-05,
              "norm_num_groups": 32,
              "out_channels": 4,
              "sample_size": 64,
              "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
            }
            """;

    /**
     * SD v1.5's {@code vae/config.json}. The published 0.6.0 file has no {@code scaling_factor} (diffusers' default
     * 0.18215 applies); it is spelled out here with that value, as later diffusers versions write it.
     */
    static final String SD15_VAE = """
            {
              "_class_name": "AutoencoderKL",
              "_diffusers_version": "0.6.0",
              "act_fn": "silu",
              "block_out_channels": [128, 256, 512, 512],
              "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
              "in_channels": 3,
              "latent_channels": 4,
              "layers_per_block": 2,
              "norm_num_groups": 32,
              "out_channels": 3,
              "sample_size": 512,
              "scaling_factor": 0.18215,
              "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
            }
            """;

    /**
     * SD v1.5's {@code text_encoder/config.json}: the text half of openai/clip-vit-large-patch14. {@code eos_token_id}
     * 2 and {@code bos_token_id} 0 are the legacy values that file carries (transformers then pools at the highest
     * id); the tokenizer's real ids are 49406/49407.
     */
    static final String SD15_TEXT_ENCODER = """
            {
              "_name_or_path": "openai/clip-vit-large-patch14",
              "architectures": ["CLIPTextModel"],
              "attention_dropout": 0.0,
              "bos_token_id": 0,
              "dropout": 0.0,
              "eos_token_id": 2,
              "hidden_act": "quick_gelu",
              "hidden_size": 768,
              "initializer_factor": 1.0,
              "initializer_range": 0.02,
              "intermediate_size": 3072,
              "layer_norm_eps": 1e-05,
              "max_position_embeddings": 77,
              "model_type": "clip_text_model",
              "num_attention_heads": 12,
              "num_hidden_layers": 12,
              "pad_token_id": 1,
              "projection_dim": 768,
              "torch_dtype": "float32",
              "transformers_version": "4.22.0.dev0",
              "vocab_size": 49408
            }
            """;

    /** SD v1.5's three model configs. */
    public static PipelineConfigs sd15() {
        return new PipelineConfigs(SD15_UNET, SD15_VAE, SD15_TEXT_ENCODER);
    }

    /** The configs of an existing pipeline folder ({@code unet/}, {@code vae/}, {@code text_encoder/} config.json). */
    public static PipelineConfigs readFolder(Path modelDir) throws IOException {
        return new PipelineConfigs(
                Files.readString(modelDir.resolve("unet").resolve("config.json"), StandardCharsets.UTF_8),
                Files.readString(modelDir.resolve("vae").resolve("config.json"), StandardCharsets.UTF_8),
                Files.readString(modelDir.resolve("text_encoder").resolve("config.json"), StandardCharsets.UTF_8));
    }
}
