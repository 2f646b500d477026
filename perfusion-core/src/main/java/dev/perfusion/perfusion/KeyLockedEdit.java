package dev.perfusion.perfusion;

import dev.perfusion.autograd.Ops;
import dev.perfusion.nn.Intermediates;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import java.util.List;

/**
 * Perfusion's key-locked, gated rank-one edit of the cross-attention key and value projections, for n ≥ 1
 * concepts that share one text-encoder covariance (reference/perfusion-method.md §1.2, §1.6, §3).
 *
 * <p>Notation (paper symbol → Java name; D = text width 768, d = a layer's width, n = concepts, B batch,
 * M = 77 tokens):
 * <table>
 *   <caption>symbols</caption>
 *   <tr><td>e ∈ R^D</td><td>one token encoding: a row of the text states {@code e} [B, M, D]</td></tr>
 *   <tr><td>C⁻¹</td><td>{@code cInv} [D, D], inverse uncentered covariance of text-encoder outputs (method §1.3)</td></tr>
 *   <tr><td>i*_c</td><td>{@code iStars[c]} [D], concept c's target input</td></tr>
 *   <tr><td>I = [i*_1 … i*_n]</td><td>D×n; held as C⁻¹I ({@code cInvI} [D, n])</td></tr>
 *   <tr><td>E*_c = i*_cᵀC⁻¹i*_c</td><td>{@link #energies()} ("energy": [L] {@code i_energy})</td></tr>
 *   <tr><td>s_c(e) = eᵀC⁻¹i*_c / E*_c</td><td>{@link PerfusionEncoding#scores()} [B, M, n]          (1)</td></tr>
 *   <tr><td>g_c(e) = σ((s_c(e) − β_c)/τ_c)</td><td>{@link PerfusionEncoding#gates()} [B, M, n], β = {@code betas}, τ = {@code taus} (2)</td></tr>
 *   <tr><td>P = I(IᵀC⁻¹I)⁻¹IᵀC⁻¹</td><td>the C⁻¹-orthogonal projector onto span{i*} (method §3)   (3)</td></tr>
 *   <tr><td>e − Pe</td><td>{@link PerfusionEncoding#orthogonal()} [B, M, D]</td></tr>
 *   <tr><td>W</td><td>a layer's {@code to_k.weight} or {@code to_v.weight} [d, D]</td></tr>
 *   <tr><td>o*_c</td><td>concept c's target output of that projection; O* = {@code targets} [n, d]</td></tr>
 *   <tr><td>h(e) = W(e − Pe) + Σ_c g_c(e)·o*_c</td><td>{@link #project} [B, M, d] (paper Eq. 3, extended to n concepts as in App. B) (4)</td></tr>
 * </table>
 * With one concept, (3) is Pe = s(e)·i*, so (4) is the single-concept form of method §1.2,
 * h(e) = W(e − s(e)·i*) + σ((s(e) − β)/τ)·o*; with the gate replaced by s it is ROME's
 * W' = W + Λ(C⁻¹i*)ᵀ, Λ = (o* − Wi*)/E* (method §1.2). Only the o* term is gated: the projected-out part uses the
 * ungated projection, as in both public implementations.
 *
 * <p>Cost (method §1.6): s, g and e − Pe depend on e and the concepts only, so {@link #encode} computes them once
 * per prompt encoding, and each of the 32 projections (16 {@code attn2} × K, V) costs one ordinary projection
 * (e − Pe)·Wᵀ plus a rank-n term g·O*. All in FLOAT32 (C⁻¹ entries and BOS/outlier dimensions are large; never
 * fp16); the n×n Gram matrix is inverted in double on the host.
 *
 * <p>C⁻¹ is used as given, symmetric or not (a float32 inverse is not exactly symmetric): s uses eᵀC⁻¹i* as in
 * (1), and the projector's Gram matrix is built the same way, G_jk = i*_kᵀC⁻¹i*_j, so that P i*_k = i*_k and, for
 * n = 1, Pe = s(e)·i* exactly. For a symmetric C⁻¹ this is (3) verbatim.
 *
 * <p>Exact projector, not lucidrains' defaults (method §6 #2, §3): his default multi-concept path approximates Pe
 * by Σ_c s_c(e)·i*_c (exact only for C⁻¹-orthogonal i*), and his Cholesky path omits C⁻¹ in the projection.
 *
 * <p>Gradients: every per-token step is an {@link Ops} op, so a gradient reaches {@code e} (and through it the
 * concept embedding) in training; i*, C⁻¹, β, τ are constants here.
 */
public final class KeyLockedEdit implements AutoCloseable {
    /** Training gate bias β (method §1.4). */
    public static final float TRAIN_BETA = 0.75f;
    /** Training gate temperature τ (method §1.4). */
    public static final float TRAIN_TAU = 0.1f;
    /** Default inference gate bias β with local key-locking (method §1.4: 0.6–0.75). */
    public static final float INFER_BETA = 0.7f;
    /** Default inference gate temperature τ (method §1.4). */
    public static final float INFER_TAU = 0.15f;

    private final Backend backend;
    private final int dim;
    private final int n;
    private final double[] energies;
    private final float[] betas;
    private final float[] taus;
    private final Tensor cInvI;          // [D, n]  C⁻¹I: scores r = e·C⁻¹I
    private final Tensor projectorRows;  // [n, D]  G⁻ᵀIᵀ: Pe = r·G⁻ᵀIᵀ
    private final Tensor invEnergy;      // [n]     1/E*
    private final Tensor invTau;         // [n]     1/τ
    private final Tensor negBetaOverTau; // [n]     −β/τ
    private final float[] cInv;          // [D, D]  the caller's C⁻¹ (not copied), for select
    private final List<float[]> iStars;  // n × [D]

    private KeyLockedEdit(Backend backend, int dim, int n, double[] energies, float[] betas, float[] taus,
                          float[] cInvI, float[] projectorRows, float[] cInv, List<float[]> iStars) {
        this.backend = backend;
        this.cInv = cInv;
        this.iStars = iStars;
        this.dim = dim;
        this.n = n;
        this.energies = energies;
        this.betas = betas;
        this.taus = taus;
        float[] ie = new float[n];
        float[] it = new float[n];
        float[] nb = new float[n];
        for (int c = 0; c < n; c++) {
            ie[c] = (float) (1.0 / energies[c]);
            it[c] = (float) (1.0 / taus[c]);
            nb[c] = (float) (-(double) betas[c] / taus[c]);
        }
        this.cInvI = backend.fromArray(cInvI, Shape.of(dim, n));                 // [D, n]
        this.projectorRows = backend.fromArray(projectorRows, Shape.of(n, dim)); // [n, D]
        this.invEnergy = backend.fromArray(ie, Shape.of(n));                     // [n]
        this.invTau = backend.fromArray(it, Shape.of(n));                        // [n]
        this.negBetaOverTau = backend.fromArray(nb, Shape.of(n));                // [n]
    }

    /**
     * Prepares the edit for concepts with target inputs {@code iStars} under one covariance.
     *
     * @param cInv   C⁻¹ [D, D] row-major
     * @param dim    D
     * @param iStars n vectors i*_c of length D (n ≥ 1)
     * @param betas  β_c per concept (length n)
     * @param taus   τ_c per concept (length n), each &gt; 0
     * @throws IllegalArgumentException for mismatched sizes, τ ≤ 0, a concept with i*ᵀC⁻¹i* ≤ 0, or linearly
     *                                  dependent i* (singular Gram matrix IᵀC⁻¹I)
     */
    public static KeyLockedEdit of(Backend backend, float[] cInv, int dim, List<float[]> iStars, float[] betas,
                                   float[] taus) {
        int n = iStars.size();
        if (dim <= 0 || cInv.length != (long) dim * dim) {
            throw new IllegalArgumentException("C⁻¹ must be [" + dim + ", " + dim + "], got " + cInv.length + " values");
        }
        if (n == 0 || betas.length != n || taus.length != n) {
            throw new IllegalArgumentException("need n ≥ 1 concepts with one β and τ each: " + n + " i*, "
                    + betas.length + " β, " + taus.length + " τ");
        }
        double[] iMat = new double[dim * n]; // I [D, n]
        for (int c = 0; c < n; c++) {
            float[] v = iStars.get(c);
            if (v.length != dim) {
                throw new IllegalArgumentException("i* of concept " + c + " has " + v.length + " values, not " + dim);
            }
            if (!(taus[c] > 0) || !Float.isFinite(betas[c])) {
                throw new IllegalArgumentException("concept " + c + ": τ must be > 0 and β finite, got β " + betas[c]
                        + ", τ " + taus[c]);
            }
            for (int k = 0; k < dim; k++) {
                iMat[k * n + c] = v[k];
            }
        }
        double[] ci = new double[dim * dim];
        for (int k = 0; k < ci.length; k++) {
            ci[k] = cInv[k];
        }
        double[] cInvIMat = DenseMatrix.multiply(ci, iMat, dim, dim, n); // C⁻¹I [D, n]
        // G_jk = i*_kᵀ C⁻¹ i*_j = Σ_a I[a,k]·(C⁻¹I)[a,j]   (see the class comment on non-symmetric C⁻¹)
        double[] g = new double[n * n];
        for (int j = 0; j < n; j++) {
            for (int k = 0; k < n; k++) {
                double s = 0;
                for (int a = 0; a < dim; a++) {
                    s += iMat[a * n + k] * cInvIMat[a * n + j];
                }
                g[j * n + k] = s;
            }
        }
        double[] energies = new double[n];
        for (int c = 0; c < n; c++) {
            energies[c] = g[c * n + c];
            if (!(energies[c] > 0) || !Double.isFinite(energies[c])) {
                throw new IllegalArgumentException("concept " + c + ": i*ᵀC⁻¹i* = " + energies[c]
                        + " (must be > 0: is i* zero, or C⁻¹ not positive definite?)");
            }
        }
        double[] gInv = DenseMatrix.invert(g, n, "the concepts' Gram matrix IᵀC⁻¹I (are two i* parallel?)");
        // Pe = I a, a = G⁻¹ r  ⇒  as rows: Pe_row = r_row · (G⁻ᵀ Iᵀ); (G⁻ᵀIᵀ)[j, a] = Σ_k G⁻¹[k, j]·I[a, k]
        float[] rows = new float[n * dim];
        for (int j = 0; j < n; j++) {
            for (int a = 0; a < dim; a++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += gInv[k * n + j] * iMat[a * n + k];
                }
                rows[j * dim + a] = (float) s;
            }
        }
        float[] cInvIF = new float[dim * n];
        for (int k = 0; k < cInvIF.length; k++) {
            cInvIF[k] = (float) cInvIMat[k];
        }
        return new KeyLockedEdit(backend, dim, n, energies, betas.clone(), taus.clone(), cInvIF, rows, cInv,
                iStars.stream().map(float[]::clone).toList());
    }

    /**
     * The edit of a subset of these concepts (in the order given), as {@link #of} would build it from their i*, β
     * and τ: the projector P then spans only their i*. Used to leave out concepts that install no edit
     * ({@link TrainMode#EMBEDDING_ONLY}). The caller closes the result.
     *
     * @param concepts indices into this edit's concepts, at least one
     */
    public KeyLockedEdit select(int[] concepts) {
        List<float[]> is = new java.util.ArrayList<>();
        float[] b = new float[concepts.length];
        float[] t = new float[concepts.length];
        for (int k = 0; k < concepts.length; k++) {
            int c = concepts[k];
            if (c < 0 || c >= n) {
                throw new IllegalArgumentException("concept index " + c + " is not one of this edit's " + n);
            }
            is.add(iStars.get(c));
            b[k] = betas[c];
            t[k] = taus[c];
        }
        return of(backend, cInv, dim, is, b, t);
    }

    /**
     * The edit of {@code concepts} (in prompt order) with each concept's own default β and τ, or the given
     * overrides. All concepts take part, whatever their {@link TrainMode}; {@link ConceptPrompts#context} leaves out
     * the {@link TrainMode#EMBEDDING_ONLY} ones ({@link #select}) when it builds the edit context.
     *
     * @param cInv C⁻¹ [D, D] (from {@link Covariance#read})
     * @param beta β for every concept, or null for each concept's {@link Concept#beta()}
     * @param tau  τ for every concept, or null for each concept's {@link Concept#tau()}
     */
    public static KeyLockedEdit forConcepts(Backend backend, float[] cInv, List<Concept> concepts, Float beta, Float tau) {
        if (concepts.isEmpty()) {
            throw new IllegalArgumentException("no concepts");
        }
        int n = concepts.size();
        float[] betas = new float[n];
        float[] taus = new float[n];
        for (int c = 0; c < n; c++) {
            betas[c] = beta != null ? beta : concepts.get(c).beta();
            taus[c] = tau != null ? tau : concepts.get(c).tau();
        }
        return of(backend, cInv, concepts.get(0).dim(), concepts.stream().map(Concept::iStar).toList(), betas, taus);
    }

    /**
     * Computes, once for all 32 projections, the per-token parts of the edit of text states {@code e}: scores (1),
     * gates (2) and the projected-out component e − Pe (3).
     *
     * @param e text states [B, M, D] (CLIP's last_hidden_state, FLOAT32)
     */
    public PerfusionEncoding encode(Tensor e) {
        if (e.rank() != 3 || e.dim(2) != dim) {
            throw new IllegalArgumentException("Perfusion edit needs text states [B, M, " + dim + "], got " + e.shape());
        }
        Tensor r = Ops.matmul(e, cInvI);                        // [B, M, n]  eᵀC⁻¹i*_c
        Tensor scores = Ops.mul(r, invEnergy);                  // [B, M, n]  s_c
        Tensor z0 = Ops.mul(scores, invTau);                    // [B, M, n]  s/τ
        Tensor z = Ops.add(z0, negBetaOverTau);                 // [B, M, n]  (s − β)/τ
        Tensor gates = Ops.sigmoid(z);                          // [B, M, n]  g_c
        Tensor pe = Ops.matmul(r, projectorRows);               // [B, M, D]  Pe
        Tensor orthogonal = Ops.sub(e, pe);                     // [B, M, D]  e − Pe
        Intermediates.release(orthogonal, r, pe);
        Intermediates.release(gates, z0, z);
        return new PerfusionEncoding(orthogonal, scores, gates);
    }

    /**
     * One edited projection (4): h = (e − Pe)·Wᵀ + bias + weights·O*.
     *
     * @param orthogonal e − Pe [B, M, D] ({@link PerfusionEncoding#orthogonal()})
     * @param w          the projection's weight [d, D] (FLOAT32: take it with {@code Parameter.compute()})
     * @param bias       [d] or null (SD's to_k/to_v have none)
     * @param weights    the per-token concept weights [B, M, n]: the gates g (or, for ROME's ungated form, s)
     * @param targets    O* [n, d], row c = o*_c of this projection
     * @return [B, M, d]
     */
    public static Tensor project(Tensor orthogonal, Tensor w, Tensor bias, Tensor weights, Tensor targets) {
        int n = targets.dim(0);
        if (targets.rank() != 2 || w.rank() != 2 || targets.dim(1) != w.dim(0) || weights.dim(-1) != n
                || orthogonal.dim(-1) != w.dim(1)) {
            throw new IllegalArgumentException("Perfusion projection: weight " + w.shape() + ", targets "
                    + targets.shape() + ", token weights " + weights.shape() + ", states " + orthogonal.shape()
                    + " do not fit h = (e − Pe)·Wᵀ + g·O*");
        }
        Tensor lin = Ops.linear(orthogonal, w, bias);          // [B, M, d]
        Tensor gated = Ops.matmul(weights, targets);           // [B, M, d]
        Tensor h = Ops.add(lin, gated);                        // [B, M, d]
        return Intermediates.release(h, lin, gated);
    }

    /** D, the text width. */
    public int dim() {
        return dim;
    }

    /** n, the number of concepts. */
    public int concepts() {
        return n;
    }

    /** E*_c = i*_cᵀC⁻¹i*_c per concept (double). */
    public double[] energies() {
        return energies.clone();
    }

    /** β_c per concept. */
    public float[] betas() {
        return betas.clone();
    }

    /** τ_c per concept. */
    public float[] taus() {
        return taus.clone();
    }

    /** The backend the edit's constants live on. */
    public Backend backend() {
        return backend;
    }

    @Override
    public void close() {
        cInvI.close();
        projectorRows.close();
        invEnergy.close();
        invTau.close();
        negBetaOverTau.close();
    }
}
