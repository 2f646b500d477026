package dev.perfusion.perfusion;

import dev.perfusion.pipeline.GenerationRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Perfusion generation (see {@code dev.perfusion.Perfusion#sample}): the Stable Diffusion request plus the
 * concepts its prompts use, the covariance they were trained with, per-concept gate overrides and the key-locking
 * mode. Made with {@link #builder(GenerationRequest)}.
 *
 * <p>Concept order (= gate column order of the edit): {@code concepts}, then {@code conceptFiles}.
 *
 * @param generation               prompts, negative prompts, steps, guidance, sampler, size, seed, batch, listener
 * @param concepts                 concepts already in memory (checked against the model like loaded ones)
 * @param conceptFiles             concept files to load with {@link ConceptFile#load}
 * @param covarianceFile           the C⁻¹ file ({@link Covariance#read}), or null when {@code covariance} is given
 * @param covariance               C⁻¹ already read, or null when {@code covarianceFile} is given
 * @param betas                    β per placeholder, overriding the concept's default (0.7 when trained here)
 * @param taus                     τ per placeholder, overriding the concept's default (0.15 when trained here)
 * @param locking                  {@link KeyLocking#LOCAL} (default) or {@link KeyLocking#GLOBAL}
 * @param allowFingerprintMismatch use concepts (and a covariance) made for other weights anyway
 */
public record SampleRequest(GenerationRequest generation, List<Concept> concepts, List<Path> conceptFiles,
                            Path covarianceFile, Covariance.InverseFile covariance, Map<String, Float> betas,
                            Map<String, Float> taus, KeyLocking locking, boolean allowFingerprintMismatch) {

    public SampleRequest {
        Objects.requireNonNull(generation, "generation");
        concepts = List.copyOf(concepts);
        conceptFiles = List.copyOf(conceptFiles);
        betas = Map.copyOf(betas);
        taus = Map.copyOf(taus);
        locking = locking == null ? KeyLocking.LOCAL : locking;
        if (concepts.isEmpty() && conceptFiles.isEmpty()) {
            throw new IllegalArgumentException("a Perfusion sample needs at least one concept");
        }
        if ((covarianceFile == null) == (covariance == null)) {
            throw new IllegalArgumentException("give the covariance (C⁻¹) either as a file or read, exactly one of them");
        }
        for (Map.Entry<String, Float> e : betas.entrySet()) {
            if (!Float.isFinite(e.getValue())) {
                throw new IllegalArgumentException("β of " + e.getKey() + " must be finite, got " + e.getValue());
            }
        }
        for (Map.Entry<String, Float> e : taus.entrySet()) {
            if (!(e.getValue() > 0) || !Float.isFinite(e.getValue())) {
                throw new IllegalArgumentException("τ of " + e.getKey() + " must be > 0, got " + e.getValue());
            }
        }
    }

    /** A builder around a Stable Diffusion request. */
    public static Builder builder(GenerationRequest generation) {
        return new Builder(generation);
    }

    /** A builder holding this request's values. */
    public Builder toBuilder() {
        Builder b = new Builder(generation);
        b.concepts.addAll(concepts);
        b.conceptFiles.addAll(conceptFiles);
        b.covarianceFile = covarianceFile;
        b.covariance = covariance;
        b.betas.putAll(betas);
        b.taus.putAll(taus);
        b.locking = locking;
        b.allowFingerprintMismatch = allowFingerprintMismatch;
        return b;
    }

    /** Builder; {@link #build()} checks the values. */
    public static final class Builder {
        private GenerationRequest generation;
        private final List<Concept> concepts = new ArrayList<>();
        private final List<Path> conceptFiles = new ArrayList<>();
        private Path covarianceFile;
        private Covariance.InverseFile covariance;
        private final Map<String, Float> betas = new LinkedHashMap<>();
        private final Map<String, Float> taus = new LinkedHashMap<>();
        private KeyLocking locking = KeyLocking.LOCAL;
        private boolean allowFingerprintMismatch;

        private Builder(GenerationRequest generation) {
            this.generation = generation;
        }

        public Builder generation(GenerationRequest g) {
            this.generation = g;
            return this;
        }

        public Builder concept(Concept c) {
            concepts.add(Objects.requireNonNull(c, "concept"));
            return this;
        }

        public Builder concepts(List<Concept> cs) {
            concepts.addAll(cs);
            return this;
        }

        public Builder conceptFile(Path file) {
            conceptFiles.add(Objects.requireNonNull(file, "concept file"));
            return this;
        }

        public Builder covariance(Path file) {
            this.covarianceFile = file;
            this.covariance = null;
            return this;
        }

        public Builder covariance(Covariance.InverseFile cInv) {
            this.covariance = cInv;
            this.covarianceFile = null;
            return this;
        }

        /** Overrides the gate bias β of the concept with this placeholder. */
        public Builder beta(String placeholder, float beta) {
            betas.put(placeholder, beta);
            return this;
        }

        /** Overrides the gate temperature τ of the concept with this placeholder. */
        public Builder tau(String placeholder, float tau) {
            taus.put(placeholder, tau);
            return this;
        }

        /** Drops all β overrides. */
        public Builder clearBetas() {
            betas.clear();
            return this;
        }

        public Builder locking(KeyLocking l) {
            this.locking = l;
            return this;
        }

        /** Global key-locking (keys from the prompt with placeholders replaced by super-class words) when true. */
        public Builder globalLocking(boolean global) {
            this.locking = global ? KeyLocking.GLOBAL : KeyLocking.LOCAL;
            return this;
        }

        public Builder allowFingerprintMismatch(boolean allow) {
            this.allowFingerprintMismatch = allow;
            return this;
        }

        public SampleRequest build() {
            return new SampleRequest(generation, concepts, conceptFiles, covarianceFile, covariance, betas, taus,
                    locking, allowFingerprintMismatch);
        }
    }
}
