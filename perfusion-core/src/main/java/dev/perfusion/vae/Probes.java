package dev.perfusion.vae;

import dev.perfusion.tensor.Tensor;
import java.util.function.BiConsumer;

/**
 * Helpers for the optional probe that VAE forwards hand their named intermediate outputs to (the tests compare them
 * with diffusers' forward-hook outputs). A probe is a {@code BiConsumer<String, Tensor>} given each tensor under
 * its module path ({@code encoder.down_blocks.1}) right after it is made; it must read the values at once, because
 * inference frees intermediates as soon as the next block has used them.
 */
final class Probes {
    private Probes() {
    }

    /** Hands {@code t} to {@code probe} under {@code name}, when there is a probe. */
    static void tap(BiConsumer<String, Tensor> probe, String name, Tensor t) {
        if (probe != null) {
            probe.accept(name, t);
        }
    }

    /** A probe that forwards to {@code probe} with {@code prefix + "."} before every name; null stays null. */
    static BiConsumer<String, Tensor> prefixed(BiConsumer<String, Tensor> probe, String prefix) {
        return probe == null ? null : (name, t) -> probe.accept(prefix + "." + name, t);
    }
}
