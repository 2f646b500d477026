package dev.perfusion.unet;

import dev.perfusion.tensor.Tensor;
import java.util.function.BiConsumer;

/**
 * Optional observer of a UNet forward pass: each block reports the outputs of its sub-layers under their
 * diffusers dotted paths ({@code down_blocks.0.attentions.0.transformer_blocks.0.attn2}), the way a PyTorch
 * forward hook would see them. Used by tests to compare intermediates with diffusers and by tools that want to
 * inspect activations.
 *
 * <p>Contract: the listener is called synchronously with a live tensor that the model may free as soon as the
 * call returns; copy what you need (e.g. {@link Tensor#toFloatArray()}) and never close it. Under gradient
 * checkpointing a segment runs twice; the listener sees only the first (forward) run.
 *
 * <p>Paths reported by {@link UNet2DConditionModel}: {@code time_proj}, {@code time_embedding}, {@code conv_in},
 * {@code down_blocks.i} (hidden output), {@code down_blocks.i.resJ} (J-th residual handed to the up path),
 * {@code down_blocks.i.resnets.j}, {@code down_blocks.i.attentions.j} with the internals of each
 * {@link Transformer2DModel} ({@code .norm}, {@code .proj_in}, {@code .transformer_blocks.k} and its
 * {@code .norm1/.attn1/.norm2/.attn2/.norm3/.ff}, {@code .proj_out}), {@code down_blocks.i.downsamplers.0},
 * likewise {@code mid_block…} and {@code up_blocks.i…} (plus {@code up_blocks.i.upsamplers.0}),
 * {@code conv_norm_out}, {@code conv_out}.
 */
public final class ForwardHooks {
    /** Reports nothing. */
    public static final ForwardHooks NONE = new ForwardHooks(null, "");

    private final BiConsumer<String, Tensor> listener;
    private final String prefix;

    private ForwardHooks(BiConsumer<String, Tensor> listener, String prefix) {
        this.listener = listener;
        this.prefix = prefix;
    }

    /** Hooks that pass every reported (path, tensor) to {@code listener}; NONE when it is null. */
    public static ForwardHooks of(BiConsumer<String, Tensor> listener) {
        return listener == null ? NONE : new ForwardHooks(listener, "");
    }

    /** True when someone listens (callers may skip building values that are only reported). */
    public boolean enabled() {
        return listener != null;
    }

    /** Hooks for a child module: its reports are prefixed with {@code name + "."}. */
    public ForwardHooks child(String name) {
        return listener == null ? this : new ForwardHooks(listener, prefix + name + ".");
    }

    /** Reports {@code value} under this prefix + {@code name}. */
    public void emit(String name, Tensor value) {
        if (listener != null) {
            listener.accept(prefix + name, value);
        }
    }
}
