import dev.perfusion.toy.*;
import dev.perfusion.tensor.*;
import dev.perfusion.autograd.*;
import dev.perfusion.vae.*;
import java.nio.file.*;
import java.util.*;

public class Hues {
    public static void main(String[] a) throws Exception {
        List<Integer> cols = new ArrayList<>();
        for (int h = 0; h < 360; h += 20) { java.awt.Color c = java.awt.Color.getHSBColor(h / 360f, 0.85f, 0.85f); cols.add(c.getRGB() & 0xFFFFFF); }
        for (int h = 0; h < 360; h += 30) { java.awt.Color c = java.awt.Color.getHSBColor(h / 360f, 1f, 0.55f); cols.add(c.getRGB() & 0xFFFFFF); }
        try (Backend b = Backends.create("nd4j"); AutoencoderKL vae = AutoencoderKL.load(Path.of(a[0]), b);
             AutoCloseable ng = Autograd.noGrad()) {
            for (int col : cols) {
                double[] err = new double[2]; int[] out = new int[2];
                int bi = 0;
                for (ToyWorld.Background bg : ToyWorld.Background.values()) {
                    SceneObject o = new SceneObject(SceneObject.Kind.THING, null, null, new SceneObject.Thing(ToyWorld.Outline.SQUARE, ToyWorld.Pattern.PLAIN, col, col), null, ToyWorld.Size.LARGE, ToyWorld.Position.CENTER, 0, 0);
                    int[] ref = ToyRenderer.render(Scene.of(bg, o));
                    int[] r = ToyRenderer.fromCHW(vae.decode(vae.encode(b.fromArray(ToyRenderer.toCHW(ref), Shape.of(1, 3, 32, 32))).mean()).toFloatArray(), 0, 1024);
                    int c = r[16 * 32 + 16];
                    err[bi] = (Math.abs(((c >> 16) & 255) - ((col >> 16) & 255)) + Math.abs(((c >> 8) & 255) - ((col >> 8) & 255)) + Math.abs((c & 255) - (col & 255))) / 3.0;
                    out[bi++] = c;
                }
                System.out.printf(Locale.ROOT, "%06X -> white %06X (err %.0f)  black %06X (err %.0f)%n", col, out[0], err[0], out[1], err[1]);
            }
        }
    }
}
