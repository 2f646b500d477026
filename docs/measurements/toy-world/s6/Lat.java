import dev.perfusion.toy.*;
import dev.perfusion.tensor.*;
import dev.perfusion.autograd.*;
import dev.perfusion.vae.*;
import java.nio.file.*;
import java.util.*;

public class Lat {
    public static void main(String[] a) throws Exception {
        List<Integer> cols = new ArrayList<>(List.of(0xDC2828, 0x28AA3C, 0x2850DC, 0xE6C828, 0x00BEC8, 0xC800AA, 0xFA8C00, 0x006E6E));
        for (int h = 0; h < 360; h += 40) { java.awt.Color c = java.awt.Color.getHSBColor(h / 360f, 0.85f, 0.85f); cols.add(c.getRGB() & 0xFFFFFF); }
        try (Backend b = Backends.create("nd4j"); AutoencoderKL vae = AutoencoderKL.load(Path.of(a[0]), b);
             AutoCloseable ng = Autograd.noGrad()) {
            for (ToyWorld.Background bg : ToyWorld.Background.values()) for (int col : cols) {
                SceneObject o = new SceneObject(SceneObject.Kind.THING, null, null, new SceneObject.Thing(ToyWorld.Outline.SQUARE, ToyWorld.Pattern.PLAIN, col, col), null, ToyWorld.Size.LARGE, ToyWorld.Position.CENTER, 0, 0);
                int[] ref = ToyRenderer.render(Scene.of(bg, o));
                var d = vae.encode(b.fromArray(ToyRenderer.toCHW(ref), Shape.of(1, 3, 32, 32)));
                float[] m = d.mean().toFloatArray();
                // latent [1,4,8,8]: centre cells (3..4,3..4) averaged
                StringBuilder sb = new StringBuilder();
                for (int ch = 0; ch < 4; ch++) { double s = 0; for (int y = 3; y <= 4; y++) for (int x = 3; x <= 4; x++) s += m[ch * 64 + y * 8 + x]; sb.append(String.format(Locale.ROOT, "%7.2f", s / 4)); }
                System.out.printf("%s %06X %s%n", bg, col, sb);
            }
        }
    }
}
