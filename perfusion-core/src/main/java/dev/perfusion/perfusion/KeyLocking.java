package dev.perfusion.perfusion;

/**
 * Where the keys' text comes from (reference/perfusion-method.md §1.5).
 */
public enum KeyLocking {
    /**
     * Keys and values are edited projections of the prompt's own encoding E: tokens whose score s(e) is high get
     * keys driven to the super-category key o*_K. Used in training and by default at inference (β ≈ 0.6–0.75).
     */
    LOCAL,
    /**
     * Inference only ([C] {@code ROELinear}): K = h_K(E_super) for all tokens, E_super being the encoding of the
     * prompt with each placeholder replaced by its super-category word; V = h_V(E). Use β ≈ 0.4–0.6.
     */
    GLOBAL
}
