package dev.perfusion.nn;

import dev.perfusion.tensor.DType;

/**
 * How {@link Module#loadStateDict(java.util.Map, boolean, WeightStorage)} stores floating weights that arrive in
 * a half type ({@link DType#FLOAT16}, {@link DType#BFLOAT16}: fp16 checkpoints such as SD v1.5's
 * {@code diffusion_pytorch_model.fp16.safetensors}). Computation is FLOAT32 either way.
 *
 * <p>The trade-off, for SD v1.5 (UNet 860 M parameters, CLIP text 123 M, VAE 84 M):
 * <table>
 *   <caption>FLOAT32 against AS_STORED for an fp16 checkpoint</caption>
 *   <tr><th></th><th>{@link #FLOAT32}</th><th>{@link #AS_STORED}</th></tr>
 *   <tr><td>weight memory</td><td>4 bytes/parameter (UNet 3.4 GB)</td>
 *       <td>2 bytes/parameter (UNet 1.7 GB), file-backed pages when the backend maps the file</td></tr>
 *   <tr><td>per forward</td><td>nothing extra</td>
 *       <td>one half → float32 cast of each weight (a pass over 2 bytes read, 4 written per parameter),
 *       released as soon as the block's result is computed in inference</td></tr>
 * </table>
 * With autograd recording (training through a frozen half-precision UNet), the widened copies are read by the
 * backward pass, so they live until the step's {@link dev.perfusion.tensor.TensorScope} closes: the saving is
 * at rest and in inference, not during a recorded step.
 */
public enum WeightStorage {
    /**
     * Widen every half-precision value to FLOAT32 on load (the default of
     * {@link Module#loadStateDict(java.util.Map, boolean)}): no per-forward cost, twice the memory of an fp16
     * checkpoint.
     */
    FLOAT32,

    /**
     * Keep FLOAT16 and BFLOAT16 values in their dtype: a tensor already on the module's backend is kept itself
     * (no copy; memory-mapped when the backend wraps the file's buffer, as {@code Nd4jBackend} does for a
     * direct little-endian buffer), a tensor on another backend is copied in its own dtype. FLOAT32 values load
     * as with {@link #FLOAT32}. Blocks widen each half weight for the duration of one forward
     * ({@link Parameter#compute()}). A parameter that requires grad is still widened on load (trainable tensors
     * are always FLOAT32; see {@link Parameter#requiresGrad(boolean)}).
     */
    AS_STORED
}
