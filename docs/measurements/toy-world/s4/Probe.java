import dev.perfusion.toy.*;
import dev.perfusion.pipeline.*;
import dev.perfusion.tensor.*;
import java.nio.file.*;
public class Probe { public static void main(String[] a) throws Exception {
  try (Backend b = Backends.create("nd4j"); StableDiffusionPipeline p = StableDiffusionPipeline.load(Path.of(a[0]), b)) {
    System.out.print(ToyConditioningProbe.table(ToyConditioningProbe.measure(p, 64, new int[]{100,300,500,700,900}, 0)));
  }
}}
