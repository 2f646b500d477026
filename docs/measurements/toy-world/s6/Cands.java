import dev.perfusion.toy.*;
import dev.perfusion.tensor.*;
import dev.perfusion.autograd.*;
import dev.perfusion.vae.*;
import java.nio.file.*;
import java.util.*;

public class Cands {
    static int mean(int a, int b) {
        int r = (((a >> 16) & 255) + ((b >> 16) & 255)) / 2, g = (((a >> 8) & 255) + ((b >> 8) & 255)) / 2, bl = ((a & 255) + (b & 255)) / 2;
        return (r << 16) | (g << 8) | bl;
    }
    static double sim(int[] img, int[] ref, int bg) {
        double best = -1;
        for (int sy = -2; sy <= 2; sy++) for (int sx = -2; sx <= 2; sx++) {
        double s = 0; int n = 0;
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) {
            boolean near = false;
            for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) { int yy = y + dy, xx = x + dx; if (yy >= 0 && yy < 32 && xx >= 0 && xx < 32 && ref[yy*32+xx] != bg) near = true; }
            if (!near) continue;
            int iy = y + sy, ix = x + sx;
            int a = (iy >= 0 && iy < 32 && ix >= 0 && ix < 32) ? img[iy * 32 + ix] : bg, b = ref[y * 32 + x];
            s += Math.abs(((a >> 16) & 255) - ((b >> 16) & 255)) + Math.abs(((a >> 8) & 255) - ((b >> 8) & 255)) + Math.abs((a & 255) - (b & 255)); n += 3;
        }
        best = Math.max(best, 1 - s / n / 255);
        }
        return best;
    }
    static SceneObject thing(ToyWorld.Outline o, ToyWorld.Pattern p, int A, int B, ToyWorld.Position pos) {
        return new SceneObject(SceneObject.Kind.THING, null, null, new SceneObject.Thing(o, p, A, B), null, ToyWorld.Size.LARGE, pos, 0, 0);
    }
    public static void main(String[] a) throws Exception {
        int R = 0xDC2828, G = 0x28AA3C, Bl = 0x2850DC, Y = 0xE6C828, C = 0x00BEC8, M = 0xC800AA, O = 0xFA8C00, T = 0x006E6E;
        Object[][] cands = {
            {ToyWorld.Outline.RING, ToyWorld.Pattern.STRIPED, C, M, ToyWorld.Outline.CIRCLE},
            {ToyWorld.Outline.RING, ToyWorld.Pattern.TWO_TONE, R, Y, ToyWorld.Outline.CIRCLE},
            {ToyWorld.Outline.RING, ToyWorld.Pattern.TWO_TONE, Bl, Y, ToyWorld.Outline.CIRCLE},
            {ToyWorld.Outline.RING, ToyWorld.Pattern.PLAIN, Y, Y, ToyWorld.Outline.CIRCLE},
            {ToyWorld.Outline.CIRCLE, ToyWorld.Pattern.TWO_TONE, R, Bl, ToyWorld.Outline.CIRCLE},
            {ToyWorld.Outline.STAR, ToyWorld.Pattern.PLAIN, Y, Y, ToyWorld.Outline.CIRCLE},
            {ToyWorld.Outline.STAR, ToyWorld.Pattern.TWO_TONE, R, Bl, ToyWorld.Outline.CIRCLE},
            {ToyWorld.Outline.DIAMOND, ToyWorld.Pattern.TWO_TONE, G, R, ToyWorld.Outline.SQUARE},
            {ToyWorld.Outline.SQUARE, ToyWorld.Pattern.CHECKERED, O, T, ToyWorld.Outline.SQUARE},
            {ToyWorld.Outline.SQUARE, ToyWorld.Pattern.CHECKERED, R, Y, ToyWorld.Outline.SQUARE},
            {ToyWorld.Outline.SQUARE, ToyWorld.Pattern.TWO_TONE, Bl, Y, ToyWorld.Outline.SQUARE},
            {ToyWorld.Outline.SQUARE, ToyWorld.Pattern.TWO_TONE, G, R, ToyWorld.Outline.SQUARE},
            {ToyWorld.Outline.SQUARE, ToyWorld.Pattern.TWO_TONE, C, M, ToyWorld.Outline.SQUARE},
            {ToyWorld.Outline.TRIANGLE, ToyWorld.Pattern.TWO_TONE, Y, Bl, ToyWorld.Outline.TRIANGLE},
        };
        int[] pal = {R, G, Bl, Y};
        try (Backend b = Backends.create("nd4j"); AutoencoderKL vae = AutoencoderKL.load(Path.of(a[0]), b);
             AutoCloseable ng = Autograd.noGrad()) {
            System.out.println("| outline | pattern | A | B | raw flat | VAE(concept) | VAE(flat mean) | best VAE(superclass/outline in a palette colour) | margin |");
            System.out.println("|---|---|---|---|---:|---:|---:|---:|---:|");
            for (Object[] c : cands) {
                ToyWorld.Outline o = (ToyWorld.Outline) c[0]; ToyWorld.Pattern p = (ToyWorld.Pattern) c[1]; int A = (Integer) c[2], B = (Integer) c[3];
                ToyWorld.Outline sup = (ToyWorld.Outline) c[4];
                double raw = 0, rec = 0, recFlat = 0; double[] alt = new double[8]; int k = 0;
                for (ToyWorld.Background bg : ToyWorld.Background.values()) for (ToyWorld.Position pos : ToyWorld.Position.values()) {
                    int[] ref = ToyRenderer.render(Scene.of(bg, thing(o, p, A, B, pos)));
                    List<int[]> imgs = new ArrayList<>();
                    imgs.add(ref);
                    imgs.add(ToyRenderer.render(Scene.of(bg, thing(o, ToyWorld.Pattern.PLAIN, mean(A, B), mean(A, B), pos))));
                    for (int q : pal) { imgs.add(ToyRenderer.render(Scene.of(bg, thing(sup, ToyWorld.Pattern.PLAIN, q, q, pos)))); imgs.add(ToyRenderer.render(Scene.of(bg, thing(o, ToyWorld.Pattern.PLAIN, q, q, pos)))); }
                    int bgc = ref[0];
                    raw += sim(imgs.get(1), ref, bgc);
                    double[] s = new double[imgs.size()];
                    for (int i = 0; i < imgs.size(); i++) {
                        Tensor x = b.fromArray(ToyRenderer.toCHW(imgs.get(i)), Shape.of(1, 3, 32, 32));
                        int[] r = ToyRenderer.fromCHW(vae.decode(vae.encode(x).mean()).toFloatArray(), 0, 1024);
                        s[i] = sim(r, ref, bgc);
                    }
                    rec += s[0]; recFlat += s[1]; for (int i = 0; i < 8; i++) alt[i] += s[2 + i]; k++;
                }
                double bestAlt = Arrays.stream(alt).max().getAsDouble() / k;
                double bestStand = Math.max(bestAlt, Math.max(recFlat / k, raw / k));
                System.out.printf(Locale.ROOT, "| %s | %s | %06X | %06X | %.4f | %.4f | %.4f | %.4f | %+.4f |%n", o, p, A, B, raw / k, rec / k, recFlat / k, bestAlt, rec / k - bestStand);
            }
        }
    }
}
