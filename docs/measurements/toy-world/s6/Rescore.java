import dev.perfusion.toy.*;
import java.awt.image.BufferedImage;
import java.io.File;
import java.util.*;
import javax.imageio.ImageIO;

/**
 * Reads the evaluation's composition grid back into its 32 × 32 images (cells are upscaled ×4 by nearest neighbour,
 * so exactly) and checks whether both concepts are present, by two rules: "layout" = ToyChecker.conceptPresent for
 * each concept at its position; "object" = ToyChecker.check's object at the position is the concept at its size.
 * Usage: java -cp perfusion.jar Rescore.java EVAL_DIR...
 */
public class Rescore {
    public static void main(String[] args) throws Exception {
        for (String dir : args) {
            BufferedImage grid = ImageIO.read(new File(dir, "composition.png"));
            List<Scene> scenes = ToyEvaluation.compositionPrompts(NovelConcept.RING, NovelConcept.DIAMOND);
            int scale = 4, pad = 2, cols = 8, cw = 32 * scale;
            int left = grid.getWidth() - cols * (cw + pad) - pad;
            int top = grid.getHeight() - scenes.size() * (cw + pad) - pad;
            int layout = 0, object = 0, n = 0;
            for (int r = 0; r < scenes.size(); r++) {
                for (int c = 0; c < cols; c++) {
                    int[] img = new int[32 * 32];
                    for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++)
                        img[y * 32 + x] = grid.getRGB(left + pad + c * (cw + pad) + x * scale, top + pad + r * (cw + pad) + y * scale) & 0xFFFFFF;
                    Scene s = scenes.get(r);
                    boolean l = true;
                    for (SceneObject o : s.objects()) l &= ToyChecker.conceptPresent(img, o.concept(), o.position());
                    CheckResult cr = ToyChecker.check(s, img);
                    boolean ob = cr.objects().stream().allMatch(ObjectCheck::allCorrect);
                    layout += l ? 1 : 0; object += ob ? 1 : 0; n++;
                }
            }
            System.out.printf(Locale.ROOT, "%s: both concepts present, layout rule %d/%d, object rule %d/%d%n", dir, layout, n, object, n);
        }
    }
}
