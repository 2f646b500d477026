package dev.perfusion.examples;

import dev.perfusion.perfusion.SampleRequest;
import dev.perfusion.pipeline.GenerationRequest;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Concept options shared by {@code sample} and {@code sweep} (picocli mixin). */
public final class ConceptOptions {
    @Option(names = "--concept", required = true, paramLabel = "FILE",
            description = "a .perfusion concept file; repeat to compose several (the k-th gets token id vocab+k)")
    List<Path> concepts;

    @Option(names = "--covariance", required = true, paramLabel = "FILE", description = "the model's covariance file (C⁻¹)")
    Path covariance;

    @Option(names = "--beta", paramLabel = "PLACEHOLDER=B", description = "gate bias β of one concept, e.g. <teddy>=0.65")
    Map<String, Float> betas = Map.of();

    @Option(names = "--tau", paramLabel = "PLACEHOLDER=T", description = "gate temperature τ of one concept")
    Map<String, Float> taus = Map.of();

    @Option(names = "--global-locking", description = "lock keys globally (the prompt with superclass words) instead of locally")
    boolean globalLocking;

    @Option(names = "--allow-fingerprint-mismatch", description = "use concepts made for other weights or another covariance")
    boolean allowMismatch;

    /** The Perfusion request for {@code generation}. */
    SampleRequest.Builder request(GenerationRequest generation) {
        SampleRequest.Builder b = SampleRequest.builder(generation).covariance(covariance).globalLocking(globalLocking)
                .allowFingerprintMismatch(allowMismatch);
        for (Path c : concepts) {
            b.conceptFile(c);
        }
        betas.forEach(b::beta);
        taus.forEach(b::tau);
        return b;
    }
}
