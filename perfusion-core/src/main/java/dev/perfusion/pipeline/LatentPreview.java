package dev.perfusion.pipeline;

import dev.perfusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * A cheap RGB approximation of SD v1.x latents without the VAE: a fixed linear map from the 4 latent channels to
 * RGB (the widely used approximation factors for SD v1.x latents), one pixel per latent cell. Good enough to watch
 * a generation converge.
 */
public final class LatentPreview {
    /** rgb[c] = Σ_k latent[k]·F[k][c]. */
    private static final float[][] FACTORS = {
        {0.298f, 0.207f, 0.208f},
        {0.187f, 0.286f, 0.173f},
        {-0.158f, 0.189f, 0.264f},
        {-0.184f, -0.271f, -0.473f},
    };

    private LatentPreview() {
    }

    /** Previews of latents [B, 4, h, w] (unscaled, as the sampler holds them), h × w pixels each. */
    public static List<BufferedImage> of(Tensor latents) {
        if (latents.rank() != 4 || latents.dim(1) != 4) {
            throw new IllegalArgumentException("latent preview needs [B, 4, h, w], got " + latents.shape());
        }
        int b = latents.dim(0);
        int h = latents.dim(2);
        int w = latents.dim(3);
        float[] v = latents.toFloatArray();
        List<BufferedImage> out = new ArrayList<>(b);
        int plane = h * w;
        for (int n = 0; n < b; n++) {
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            for (int i = 0; i < plane; i++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    float s = 0;
                    for (int k = 0; k < 4; k++) {
                        s += v[(n * 4 + k) * plane + i] * FACTORS[k][c];
                    }
                    int byteValue = Math.round(255 * Math.min(1f, Math.max(0f, (s + 1f) / 2f)));
                    rgb = (rgb << 8) | byteValue;
                }
                img.setRGB(i % w, i / w, rgb);
            }
            out.add(img);
        }
        return out;
    }
}
