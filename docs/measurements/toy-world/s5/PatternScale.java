import dev.perfusion.toy.*;
import dev.perfusion.tensor.*;
import dev.perfusion.autograd.*;
import dev.perfusion.vae.*;
import java.nio.file.*;
import java.util.*;

/** For candidate concept looks: 1 − mean|I − R|/255 over the object's dilated support, for the VAE's reconstruction and for the outline in the mean colour. */
public class PatternScale {
    static int mean(int a, int b) {
        int r = (((a >> 16) & 255) + ((b >> 16) & 255)) / 2, g = (((a >> 8) & 255) + ((b >> 8) & 255)) / 2, bl = ((a & 255) + (b & 255)) / 2;
        return (r << 16) | (g << 8) | bl;
    }
    static double sim(int[] img, int[] ref, int[] bgImg) {
        boolean[] cov = new boolean[1024];
        for (int i = 0; i < 1024; i++) cov[i] = ref[i] != bgImg[i];
        double s = 0; int n = 0;
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) {
            boolean near = false;
            for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) { int yy = y + dy, xx = x + dx; if (yy >= 0 && yy < 32 && xx >= 0 && xx < 32 && cov[yy * 32 + xx]) near = true; }
            if (!near) continue;
            int a = img[y * 32 + x], b = ref[y * 32 + x];
            s += Math.abs(((a >> 16) & 255) - ((b >> 16) & 255)) + Math.abs(((a >> 8) & 255) - ((b >> 8) & 255)) + Math.abs((a & 255) - (b & 255)); n += 3;
        }
        return 1 - s / n / 255;
    }
    public static void main(String[] a) throws Exception {
        Object[][] cands = {
            {ToyWorld.Outline.RING, ToyWorld.Pattern.STRIPED, 0x00BEC8, 0xC800AA},
            {ToyWorld.Outline.RING, ToyWorld.Pattern.TWO_TONE, 0x00BEC8, 0xC800AA},
            {ToyWorld.Outline.SQUARE, ToyWorld.Pattern.CHECKERED, 0xFA8C00, 0x006E6E},
            {ToyWorld.Outline.SQUARE, ToyWorld.Pattern.TWO_TONE, 0xFA8C00, 0x006E6E},
            {ToyWorld.Outline.STAR, ToyWorld.Pattern.TWO_TONE, 0xFA8C00, 0x006E6E},
            {ToyWorld.Outline.DIAMOND, ToyWorld.Pattern.TWO_TONE, 0x00BEC8, 0xC800AA},
        };
        try (Backend b = Backends.create("nd4j"); AutoencoderKL vae = AutoencoderKL.load(Path.of(a[0]), b);
             AutoCloseable ng = Autograd.noGrad()) {
            System.out.println("| outline | pattern | VAE encode→decode | outline, mean colour |");
            System.out.println("|---|---|---:|---:|");
            for (Object[] c : cands) {
                double[] s = new double[2]; int k = 0;
                for (ToyWorld.Background bg : ToyWorld.Background.values()) for (ToyWorld.Position pos : ToyWorld.Position.values()) {
                    ToyWorld.Outline o = (ToyWorld.Outline) c[0]; ToyWorld.Pattern p = (ToyWorld.Pattern) c[1]; int A = (Integer) c[2], B = (Integer) c[3];
                    SceneObject obj = new SceneObject(SceneObject.Kind.THING, null, null, new SceneObject.Thing(o, p, A, B), null, ToyWorld.Size.LARGE, pos, 0, 0);
                    SceneObject flat = new SceneObject(SceneObject.Kind.THING, null, null, new SceneObject.Thing(o, ToyWorld.Pattern.PLAIN, mean(A, B), mean(A, B)), null, ToyWorld.Size.LARGE, pos, 0, 0);
                    int[] ref = ToyRenderer.render(Scene.of(bg, obj));
                    int bgc = bg == ToyWorld.Background.WHITE ? ref[0] : ref[0];
                    int[] bgImg = new int[1024]; Arrays.fill(bgImg, ref[0]);
                    Tensor x = b.fromArray(ToyRenderer.toCHW(ref), Shape.of(1, 3, 32, 32));
                    int[] rec = ToyRenderer.fromCHW(vae.decode(vae.encode(x).mean()).toFloatArray(), 0, 1024);
                    s[0] += sim(rec, ref, bgImg); s[1] += sim(ToyRenderer.render(Scene.of(bg, flat)), ref, bgImg); k++;
                }
                System.out.printf(Locale.ROOT, "| %s | %s | %.4f | %.4f |%n", c[0], c[1], s[0] / k, s[1] / k);
            }
        }
    }
}
