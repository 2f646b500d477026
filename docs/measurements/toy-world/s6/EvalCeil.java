import dev.perfusion.toy.*;
import dev.perfusion.tensor.*;
import dev.perfusion.autograd.*;
import dev.perfusion.vae.*;
import java.nio.file.*;
import java.util.*;
public class EvalCeil {
    public static void main(String[] a) throws Exception {
        try (Backend b = Backends.create("nd4j"); AutoencoderKL vae = AutoencoderKL.load(Path.of(a[0]), b); AutoCloseable ng = Autograd.noGrad()) {
            for (NovelConcept c : NovelConcept.values()) {
                double f = 0, al = 0; int pres = 0, strict = 0, n = 0;
                for (Scene s : ToyEvaluation.prompts(c)) {
                    int[] r = rec(vae, b, s);
                    ToyImageScore sc = ToyImageScore.of(s, r);
                    f += sc.fidelity(); al += sc.alignment(); pres += sc.conceptsPresent() ? 1 : 0; strict += sc.strict() ? 1 : 0; n++;
                    if (!sc.strict()) System.out.println("  not strict: " + ToyChecker.check(s, r) + " present " + sc.conceptsPresent());
                }
                System.out.printf(Locale.ROOT, "%s: fidelity %.4f alignment %.4f present %d/%d strict %d/%d%n", c.placeholder(), f / n, al / n, pres, n, strict, n);
            }
            int both = 0, n = 0;
            for (Scene s : ToyEvaluation.compositionPrompts(NovelConcept.RING, NovelConcept.DIAMOND)) {
                int[] r = rec(vae, b, s);
                boolean ok = ToyImageScore.of(s, r).conceptsPresent(); both += ok ? 1 : 0; n++;
                if (!ok) System.out.println("  comp miss: " + ToyChecker.check(s, r));
            }
            System.out.println("composition both present " + both + "/" + n);
        }
    }
    static int[] rec(AutoencoderKL vae, Backend b, Scene s) {
        Tensor x = b.fromArray(ToyRenderer.toCHW(ToyRenderer.render(s)), Shape.of(1, 3, 32, 32));
        return ToyRenderer.fromCHW(vae.decode(vae.encode(x).mean()).toFloatArray(), 0, 1024);
    }
}
