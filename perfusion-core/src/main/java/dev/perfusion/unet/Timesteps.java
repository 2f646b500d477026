package dev.perfusion.unet;

import dev.perfusion.nn.Module;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;

/**
 * diffusers' {@code Timesteps} ({@code get_timestep_embedding}): the sinusoidal embedding of the diffusion time
 * step, with no parameters. For C channels, half = ⌊C/2⌋ and k = 0 … half−1:
 * <pre>
 *   f_k    = exp(−ln(10000)·k / (half − freq_shift))
 *   emb    = [sin(t·f_0 … t·f_{half−1}), cos(t·f_0 … t·f_{half−1})]
 *   flip_sin_to_cos: emb = [cos(…), sin(…)]          (SD: true, freq_shift 0)
 * </pre>
 * and a zero column at the end when C is odd. Time steps may be fractional (Euler samplers pass floats).
 *
 * <p>The values are computed on the host in float32 step by step as PyTorch does (float32 exponent, exp, product
 * and sin/cos), because t·f reaches ~1000 rad where a different rounding of f moves sin by ~1e-4.
 *
 * <p>Source: diffusers 0.30.3 {@code src/diffusers/models/embeddings.py}, {@code get_timestep_embedding} and
 * class {@code Timesteps} (scale 1, max_period 10000).
 */
public final class Timesteps extends Module {
    private static final double MAX_PERIOD = 10000.0;

    private final int numChannels;
    private final boolean flipSinToCos;
    private final float downscaleFreqShift;

    /**
     * @param numChannels        C, width of the embedding
     * @param flipSinToCos       put the cosines first
     * @param downscaleFreqShift diffusers' {@code freq_shift}
     */
    public Timesteps(Backend backend, int numChannels, boolean flipSinToCos, float downscaleFreqShift) {
        super(backend);
        if (numChannels < 2) {
            throw new IllegalArgumentException("Timesteps needs at least 2 channels, got " + numChannels);
        }
        if ((numChannels / 2) - downscaleFreqShift == 0) {
            throw new IllegalArgumentException("Timesteps: freq_shift " + downscaleFreqShift + " equals half the width "
                    + numChannels / 2 + " (division by zero)");
        }
        this.numChannels = numChannels;
        this.flipSinToCos = flipSinToCos;
        this.downscaleFreqShift = downscaleFreqShift;
    }

    /**
     * @param timesteps [B] (or 0-d for one step), INT64, INT32 or floating
     * @return [B, C] (a 0-d input gives [1, C])
     */
    public Tensor forward(Tensor timesteps) {
        if (timesteps.rank() > 1) {
            throw new IllegalArgumentException("Timesteps needs a 0-d or [B] tensor of time steps, got " + timesteps.shape());
        }
        return forward(hostValues(timesteps));
    }

    /** The embedding of host time steps: [B] values → [B, C]. */
    public Tensor forward(float[] t) {
        int half = numChannels / 2;
        // float32 at every step, as torch computes it: exponent = (−ln(P)·k) / (half − shift), f = exp(exponent)
        float negLog = (float) -Math.log(MAX_PERIOD);
        float denom = half - downscaleFreqShift;
        float[] freq = new float[half];
        for (int k = 0; k < half; k++) {
            float exponent = (negLog * (float) k) / denom;
            freq[k] = (float) Math.exp(exponent);
        }
        float[] out = new float[t.length * numChannels];
        for (int b = 0; b < t.length; b++) {
            int row = b * numChannels;
            int sinAt = flipSinToCos ? row + half : row;
            int cosAt = flipSinToCos ? row : row + half;
            for (int k = 0; k < half; k++) {
                float arg = t[b] * freq[k];
                out[sinAt + k] = (float) Math.sin(arg);
                out[cosAt + k] = (float) Math.cos(arg);
            }
            // odd C: the last column stays 0 (diffusers pads one zero)
        }
        return backend().fromArray(out, Shape.of(t.length, numChannels)); // [B, C]
    }

    /** Time steps as float32 host values (integer steps converted exactly as torch's {@code .float()}). */
    static float[] hostValues(Tensor timesteps) {
        DType dt = timesteps.dtype();
        if (dt == DType.INT64 || dt == DType.INT32) {
            long[] v = timesteps.toLongArray();
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                f[i] = (float) v[i];
            }
            return f;
        }
        return timesteps.toFloatArray();
    }

    /** C. */
    public int numChannels() {
        return numChannels;
    }

    /** Whether cosines come first. */
    public boolean flipSinToCos() {
        return flipSinToCos;
    }

    /** diffusers' {@code freq_shift}. */
    public float downscaleFreqShift() {
        return downscaleFreqShift;
    }
}
