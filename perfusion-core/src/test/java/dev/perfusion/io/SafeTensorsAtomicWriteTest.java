package dev.perfusion.io;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Storage;
import dev.perfusion.tensor.Tensor;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A write that fails part-way leaves nothing under the final name and no temporary file. */
@Tag("unit")
class SafeTensorsAtomicWriteTest {
    @TempDir
    Path dir;

    private final Backend backend = new ReferenceBackend();

    /** A backend whose reads fail, standing in for a device error or a full disk in the middle of a save. */
    private static final Backend FAILING = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
            new Class<?>[]{Backend.class}, (proxy, method, args) -> switch (method.getName()) {
                case "name" -> "failing";
                case "toString" -> "failing backend";
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                default -> throw new IllegalStateException("simulated failure in " + method.getName());
            });

    private static Tensor failing(DType dtype) {
        return new Tensor(FAILING, Shape.of(4), dtype, null, Storage.heap());
    }

    /** A first tensor big enough (4 MiB) that some of it reaches the temporary file before the failure. */
    private Map<String, Tensor> bigThenFailing(DType failingDtype) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("big", backend.fromArray(new float[1 << 20], Shape.of(1 << 20)));
        tensors.put("bad", failing(failingDtype));
        return tensors;
    }

    private List<Path> files() throws IOException {
        try (var s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void failureMidwayLeavesNoFile() throws IOException {
        Path target = dir.resolve("model.safetensors");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SafeTensors.write(target, bigThenFailing(DType.FLOAT32), Map.of("k", "v")));
        assertTrue(e.getMessage().contains("simulated failure in toFloatArray"), e.getMessage());
        assertFalse(Files.exists(target));
        assertEquals(List.of(), files(), "no temporary file left behind");
    }

    @Test
    void failureMidwayOnAnIntegerTensorLeavesNoFile() throws IOException {
        Path target = dir.resolve("ids.safetensors");
        assertThrows(IllegalStateException.class, () -> SafeTensors.write(target, bigThenFailing(DType.INT64), null));
        assertEquals(List.of(), files());
    }

    @Test
    void failureLeavesAnExistingFileUntouched() throws IOException {
        Path target = dir.resolve("model.safetensors");
        SafeTensors.write(target, Map.of("w", backend.fromArray(new float[]{1f, 2f}, Shape.of(2))), Map.of("v", "1"));
        byte[] before = Files.readAllBytes(target);

        assertThrows(IllegalStateException.class, () -> SafeTensors.write(target, bigThenFailing(DType.FLOAT16), null));

        assertArrayEquals(before, Files.readAllBytes(target));
        assertEquals(List.of(target), files());
        try (SafeTensors st = SafeTensors.open(target)) {
            assertEquals(Map.of("v", "1"), st.metadata());
        }
    }

    @Test
    void closedTensorFailsBeforeAnythingIsWritten() throws IOException {
        Path target = dir.resolve("closed.safetensors");
        Files.write(target, new byte[]{1, 2, 3});
        Tensor closed = backend.fromArray(new float[]{1f}, Shape.of(1));
        closed.close();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("ok", backend.fromArray(new float[]{1f}, Shape.of(1)));
        tensors.put("closed", closed);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SafeTensors.write(target, tensors, null));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertArrayEquals(new byte[]{1, 2, 3}, Files.readAllBytes(target));
        assertEquals(List.of(target), files());
    }

    @Test
    void missingDirectoryFailsCleanly() {
        Path target = dir.resolve("no/such/dir/model.safetensors");
        assertThrows(IOException.class,
                () -> SafeTensors.write(target, Map.of("w", backend.fromArray(new float[]{1f}, Shape.of(1))), null));
        assertFalse(Files.exists(target));
    }

    @Test
    void targetThatIsADirectoryFailsAndCleansUp() throws IOException {
        Path target = Files.createDirectory(dir.resolve("taken.safetensors"));
        Files.write(target.resolve("inside"), new byte[]{7});
        assertThrows(IOException.class,
                () -> SafeTensors.write(target, Map.of("w", backend.fromArray(new float[]{1f}, Shape.of(1))), null));
        assertTrue(Files.isDirectory(target));
        assertEquals(List.of(target), files(), "no temporary file left behind");
    }

    @Test
    void successLeavesOnlyTheTarget() throws IOException {
        Path target = dir.resolve("ok.safetensors");
        SafeTensors.write(target, Map.of("w", backend.fromArray(new float[]{1f}, Shape.of(1))), null);
        assertEquals(List.of(target), files());
    }
}
