package dev.perfusion.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class BackendsTest {

    @Test
    void createsTheReferenceBackendByName() {
        Backend be = Backends.create("reference");
        assertInstanceOf(ReferenceBackend.class, be);
        assertEquals("reference", be.name());
        assertEquals(3f, be.fromArray(new float[] {3}, Shape.of(1)).item());
    }

    @Test
    void referenceProviderIsRegisteredAlwaysAvailableWithPriorityZero() {
        BackendProvider p = Backends.providers().stream().filter(x -> x.name().equals("reference")).findFirst()
                .orElseThrow();
        assertEquals(0, p.priority());
        assertTrue(p.unavailableReason().isEmpty());
        assertInstanceOf(ReferenceBackend.class, p.create());
    }

    @Test
    void unknownNameListsTheAvailableBackends() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("nope"));
        String m = e.getMessage();
        assertTrue(m.contains("'nope'") && m.contains("reference") && m.contains("auto"), m);
    }
}
