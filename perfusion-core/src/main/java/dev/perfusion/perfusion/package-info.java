/**
 * Perfusion (Key-Locked Rank-One Editing, Tewel, Gal, Chechik, Atzmon, SIGGRAPH 2023) for Stable Diffusion v1.x:
 * see DESIGN §4 and reference/perfusion-method.md.
 *
 * <ul>
 *   <li>{@link dev.perfusion.perfusion.KeyLockedEdit}: the gated rank-n edit of the cross-attention K/V projections
 *       (maths and notation); {@link dev.perfusion.perfusion.PerfusionEncoding}: its per-token parts, computed once
 *       per prompt encoding; {@link dev.perfusion.perfusion.EditContext}: local or global key-locking
 *       ({@link dev.perfusion.perfusion.KeyLocking}).</li>
 *   <li>{@link dev.perfusion.perfusion.PerfusionAttnProcessor} and
 *       {@link dev.perfusion.perfusion.PerfusionInstallation}: the edit plugged into every {@code attn2} through the
 *       attention-processor seam, and removed again.</li>
 *   <li>{@link dev.perfusion.perfusion.Concept} and {@link dev.perfusion.perfusion.ConceptFile}: the ≈104 KiB concept
 *       file; {@link dev.perfusion.perfusion.Fingerprints}: base-model and covariance fingerprints;
 *       {@link dev.perfusion.perfusion.Covariance}: C and C⁻¹ of the text encoder's outputs.</li>
 *   <li>{@link dev.perfusion.perfusion.PerfusionTrainer} with {@link dev.perfusion.perfusion.TrainConfig}: training;
 *       {@link dev.perfusion.perfusion.TrainMode}: Perfusion or the evaluation's ablations (no key-locking,
 *       embedding only), recorded in the concept file and honoured at sampling.</li>
 * </ul>
 */
package dev.perfusion.perfusion;
