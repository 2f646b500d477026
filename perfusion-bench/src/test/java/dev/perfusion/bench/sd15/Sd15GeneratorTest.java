package dev.perfusion.bench.sd15;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.backend.reference.ReferenceBackend;
import dev.perfusion.io.JsonReader;
import dev.perfusion.io.SafeTensors;
import dev.perfusion.io.TensorInfo;
import dev.perfusion.nn.Init;
import dev.perfusion.pipeline.GenerationRequest;
import dev.perfusion.pipeline.GenerationResult;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.DType;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.unet.UNet2DConditionConfig;
import dev.perfusion.unet.UNet2DConditionModel;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Sd15Generator} on the golden tiny-sd15 configs (SD v1.5's block structure at small widths), through the
 * same code path as the full-size run: the folder it writes has the same tensor names and shapes as the one
 * diffusers/transformers saved for those configs, fp16 files, the real CLIP tokenizer files byte for byte, and
 * it loads into {@link StableDiffusionPipeline} and generates.
 */
@Tag("unit")
class Sd15GeneratorTest {
    /** perfusion-core's copy of the goldens, relative to this module (surefire's working directory). */
    static final Path GOLDEN = Path.of("../perfusion-core/src/test/resources/golden/tiny-sd15");
    static final long SEED = 7;

    @TempDir
    static Path out;
    static List<Sd15Generator.Component> written;
    static final Backend REF = new ReferenceBackend();

    @BeforeAll
    static void generateTiny() throws IOException {
        written = Sd15Generator.generate(out, SEED, PipelineConfigs.readFolder(GOLDEN), REF);
    }

    @Test
    void weightFilesHaveDiffusersKeysAndShapesInFp16() throws IOException {
        assertEquals(List.of("text_encoder", "vae", "unet"), written.stream().map(Sd15Generator.Component::folder).toList());
        for (Sd15Generator.Component c : written) {
            Path golden = onlySafetensors(GOLDEN.resolve(c.folder()));
            Map<String, List<Long>> want = shapes(golden, null);
            want.remove("text_model.embeddings.position_ids"); // a buffer some transformers files carry, not a weight
            Map<String, List<Long>> got = shapes(c.file(), DType.FLOAT16);
            assertEquals(want, got, c.folder() + ": tensor names and shapes vs the golden " + golden.getFileName());
            assertEquals(want.size(), c.tensors(), c.folder() + " tensor count");
            assertEquals(want.values().stream().mapToLong(s -> s.stream().reduce(1L, (a, b) -> a * b)).sum(),
                    c.parameters(), c.folder() + " parameter count");
            assertTrue(c.file().getFileName().toString().endsWith(".fp16.safetensors"), c.file().toString());
        }
    }

    @Test
    void tokenizerFilesAreTheGoldenOnesByteForByte() throws IOException {
        for (String f : List.of("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")) {
            assertArrayEquals(Files.readAllBytes(GOLDEN.resolve("tokenizer").resolve(f)),
                    Files.readAllBytes(out.resolve("tokenizer").resolve(f)), "tokenizer/" + f);
        }
    }

    @Test
    void schedulerAndIndexSayWhatSd15Says() throws IOException {
        assertEquals(json(GOLDEN.resolve("scheduler/scheduler_config.json")), json(out.resolve("scheduler/scheduler_config.json")));
        Map<?, ?> index = (Map<?, ?>) json(out.resolve("model_index.json"));
        assertEquals("StableDiffusionPipeline", index.get("_class_name"));
        assertEquals(List.of("diffusers", "PNDMScheduler"), index.get("scheduler"));
    }

    /** The stored values are the model's own {@code initialize} values rounded to fp16, and the seed matters. */
    @Test
    void weightsAreTheSeededInitialisationInFp16() throws IOException {
        UNet2DConditionConfig cfg = UNet2DConditionConfig.read(GOLDEN.resolve("unet"));
        try (UNet2DConditionModel fresh = new UNet2DConditionModel(REF, cfg);
             SafeTensors st = SafeTensors.open(written.get(2).file())) {
            fresh.initialize(Init.seedFor(SEED, "unet"));
            for (String key : List.of("conv_in.weight", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight",
                    "mid_block.resnets.1.norm2.weight")) {
                try (Tensor want = REF.cast(fresh.namedParameters().get(key).value(), DType.FLOAT16);
                     Tensor got = st.tensor(key, REF)) {
                    assertArrayEquals(want.toFloatArray(), got.toFloatArray(), key);
                }
            }
        }
    }

    @Test
    void folderLoadsAndGenerates() throws IOException {
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(out, REF)) {
            assertEquals("pndm", pipe.defaultSampler());
            GenerationResult r = pipe.generate(GenerationRequest.builder("a photo of a cat").steps(2).size(64, 64)
                    .guidanceScale(7.5f).seed(1).build());
            assertEquals(1, r.images().size());
            BufferedImage img = r.images().get(0);
            assertEquals(64, img.getWidth());
            assertEquals(64, img.getHeight());
        }
    }

    private static Path onlySafetensors(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            List<Path> st = files.filter(p -> p.toString().endsWith(".safetensors")).toList();
            assertEquals(1, st.size(), dir + " holds one weights file");
            return st.get(0);
        }
    }

    /** name → shape of every tensor of a file; checks each dtype when {@code dtype} is given. */
    private static Map<String, List<Long>> shapes(Path file, DType dtype) throws IOException {
        Map<String, List<Long>> out = new TreeMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (String name : st.names()) {
                TensorInfo info = st.info(name);
                if (dtype != null) {
                    assertEquals(dtype, info.dtype(), file.getFileName() + " " + name);
                }
                out.put(name, java.util.Arrays.stream(info.shape().dims()).mapToLong(d -> d).boxed().toList());
            }
        }
        return out;
    }

    private static Object json(Path file) throws IOException {
        return JsonReader.parse(Files.readString(file, StandardCharsets.UTF_8));
    }
}
