import dev.perfusion.pipeline.*;
import dev.perfusion.tensor.*;
import dev.perfusion.autograd.*;
import java.nio.file.*;
import java.util.*;
public class TextDiff { public static void main(String[] a) throws Exception {
  try (Backend b = Backends.create("nd4j"); StableDiffusionPipeline p = StableDiffusionPipeline.load(Path.of(a[0]), b); AutoCloseable ng = Autograd.noGrad()) {
    String s1 = "a small red circle in the center, on a black background", s2 = "a small red circle on the right, on a black background", s3 = "a small green circle in the center, on a black background";
    float[] e = p.encodePrompts(List.of(s1, s2, s3)).toFloatArray();
    int d = 64, L = 77;
    for (int i = 0; i < 16; i++) {
      double d12=0, d13=0, n1=0;
      for (int j=0;j<d;j++){ float x=e[i*d+j], y=e[(L+i)*d+j], z=e[(2*L+i)*d+j]; d12+=(x-y)*(x-y); d13+=(x-z)*(x-z); n1+=x*x; }
      System.out.printf("tok %2d |e|=%.3f  |pos diff|=%.4f  |colour diff|=%.4f%n", i, Math.sqrt(n1), Math.sqrt(d12), Math.sqrt(d13));
    }
  }
}}
