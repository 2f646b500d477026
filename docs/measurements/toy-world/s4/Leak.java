import dev.perfusion.toy.*;
import dev.perfusion.pipeline.*;
import dev.perfusion.tensor.*;
import dev.perfusion.autograd.*;
import dev.perfusion.schedulers.*;
import dev.perfusion.vae.*;
import java.nio.file.*;
import java.util.*;

/** Does the denoiser read the object's position from the signal left in z_t at high t? */
public class Leak {
    public static void main(String[] a) throws Exception {
        int n = 64;
        try (Backend b = Backends.create("nd4j"); StableDiffusionPipeline p = StableDiffusionPipeline.load(Path.of(a[0]), b);
             AutoCloseable ng = Autograd.noGrad()) {
            List<Scene> truth = new ArrayList<>(), moved = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Scene s = ToyDataset.namedScene(ToyDataset.GATE_SEED_BASE + 7000 + i, 1);
                SceneObject o = s.objects().get(0);
                truth.add(s);
                moved.add(Scene.of(s.background(), o.withPosition(ToyWorld.Position.values()[(o.position().ordinal() + 1) % 3])));
            }
            float[] z0 = latents(p, b, truth), z0m = latents(p, b, moved);
            NoiseSchedule ns = new DDPMScheduler(p.schedulerConfig()).noiseSchedule();
            Tensor cond = p.encodePrompts(truth.stream().map(Scene::caption).toList());
            for (int t : new int[] {999, 950, 900, 800, 600}) {
                double ab = ns.alphasCumprod()[t];
                float[] eps = HostRandom.normal(5, n * 256);
                float[] zt = new float[n * 256];
                for (int i = 0; i < zt.length; i++) zt[i] = (float) (Math.sqrt(ab) * z0[i] + Math.sqrt(1 - ab) * eps[i]);
                long[] tl = new long[n]; Arrays.fill(tl, t);
                float[] e = p.unet().forward(b.fromArray(zt, Shape.of(n, 4, 8, 8)), b.fromArray(tl, Shape.of(n)), cond).toFloatArray();
                double cT = 0, cM = 0;
                for (int i = 0; i < n; i++) {
                    float[] x0 = new float[256];
                    for (int j = 0; j < 256; j++) x0[j] = (float) ((zt[i * 256 + j] - Math.sqrt(1 - ab) * e[i * 256 + j]) / Math.sqrt(ab));
                    cT += corr(x0, z0, i * 256) / n;
                    cM += corr(x0, z0m, i * 256) / n;
                }
                System.out.printf("t=%d sqrt(abar)=%.3f  corr(x0_pred, true z0)=%.3f  corr(x0_pred, z0 with object moved)=%.3f%n", t, Math.sqrt(ab), cT, cM);
            }
        }
    }
    static double corr(float[] x, float[] z, int off) {
        double mx = 0, mz = 0; for (int j = 0; j < 256; j++) { mx += x[j]; mz += z[off + j]; } mx /= 256; mz /= 256;
        double sxz = 0, sxx = 0, szz = 0;
        for (int j = 0; j < 256; j++) { double dx = x[j] - mx, dz = z[off + j] - mz; sxz += dx * dz; sxx += dx * dx; szz += dz * dz; }
        return sxz / Math.sqrt(sxx * szz);
    }
    static float[] latents(StableDiffusionPipeline p, Backend b, List<Scene> scenes) {
        int n = scenes.size();
        float[] x = new float[n * 3072];
        for (int i = 0; i < n; i++) System.arraycopy(ToyRenderer.toCHW(ToyRenderer.render(scenes.get(i))), 0, x, i * 3072, 3072);
        LatentDistribution q = p.vae().encode(b.fromArray(x, Shape.of(n, 3, 32, 32)));
        return Ops.scale(q.mean(), p.vae().scalingFactor()).toFloatArray();
    }
}
