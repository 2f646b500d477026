package dev.perfusion.toy;

import dev.perfusion.autograd.Autograd;
import dev.perfusion.autograd.Ops;
import dev.perfusion.pipeline.StableDiffusionPipeline;
import dev.perfusion.schedulers.DDPMScheduler;
import dev.perfusion.tensor.Backend;
import dev.perfusion.tensor.HostRandom;
import dev.perfusion.tensor.Shape;
import dev.perfusion.tensor.Tensor;
import dev.perfusion.tensor.TensorScope;
import dev.perfusion.vae.LatentDistribution;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Which words of a prompt a toy base model's denoiser actually uses, long before the quality gate shows it: for
 * one-object scenes, the training loss ‖ε_θ(z_t, t, E(c')) − ε‖² (or its v-prediction counterpart, as the model's
 * scheduler config says) with one attribute of the caption c swapped
 * (c' says "green" where the image is red) against the loss with the true caption c, at the same z_t = √ᾱ_t·z₀ +
 * √(1−ᾱ_t)·ε. A model that reads the attribute predicts worse under the wrong word; a relative change of 0 means the
 * denoiser ignores that word (its images then get that attribute right only by chance).
 *
 * <p>Swaps: colour → the next colour, shape → the next shape, size → the other size, position → the next position
 * (enum order). Scenes are {@link ToyDataset#namedScene} from {@link ToyDataset#GATE_SEED_BASE} + 1,000,000 (never
 * trained on, not the gate's own), z₀ the model's VAE mean times its scaling factor, noise seeded.
 */
public final class ToyConditioningProbe {
    /** The attributes the probe swaps, in report order. */
    public enum Attribute { COLOUR, SHAPE, SIZE, POSITION }

    /**
     * The mean training loss at one timestep with the true caption and with one attribute swapped.
     *
     * @param attribute   the swapped attribute
     * @param timestep    t
     * @param trueLoss    mean loss with the true captions
     * @param swappedLoss mean loss with the swapped captions
     */
    public record Sensitivity(Attribute attribute, int timestep, double trueLoss, double swappedLoss) {
        /** swappedLoss / trueLoss − 1: 0 when the word is ignored. */
        public double relativeChange() {
            return swappedLoss / trueLoss - 1;
        }
    }

    /** Offset of the probe's scene seeds from {@link ToyDataset#GATE_SEED_BASE}. */
    static final long SEED_OFFSET = 1_000_000L;

    private ToyConditioningProbe() {
    }

    /**
     * Measures every attribute at every timestep.
     *
     * @param pipeline  a toy model (32×32 images)
     * @param scenes    one-object scenes (one batch; 64 is plenty)
     * @param timesteps training timesteps t in [0, 1000)
     * @param seed      seed of the noise
     * @return one entry per (attribute, timestep), attributes outermost
     * @throws IllegalArgumentException for no scenes, no timesteps or a timestep outside the schedule
     */
    public static List<Sensitivity> measure(StableDiffusionPipeline pipeline, int scenes, int[] timesteps,
                                            long seed) {
        DDPMScheduler ddpm = new DDPMScheduler(pipeline.schedulerConfig());
        int numTrain = ddpm.noiseSchedule().numTrainTimesteps();
        if (scenes <= 0 || timesteps.length == 0
                || Arrays.stream(timesteps).anyMatch(t -> t < 0 || t >= numTrain)) {
            throw new IllegalArgumentException("need scenes > 0 and timesteps in [0, " + numTrain + "), got "
                    + scenes + " scenes and " + Arrays.toString(timesteps));
        }
        List<Scene> truth = new ArrayList<>(scenes);
        for (int i = 0; i < scenes; i++) {
            truth.add(ToyDataset.namedScene(ToyDataset.GATE_SEED_BASE + SEED_OFFSET + i, 1));
        }
        Backend b = pipeline.backend();
        int side = ToyWorld.SIZE;
        float[] x = new float[scenes * 3 * side * side];
        for (int i = 0; i < scenes; i++) {
            float[] img = ToyRenderer.toCHW(ToyRenderer.render(truth.get(i)));
            System.arraycopy(img, 0, x, i * img.length, img.length);
        }
        List<Sensitivity> out = new ArrayList<>();
        try (AutoCloseable ng = Autograd.noGrad(); TensorScope scope = TensorScope.open()) {
            Tensor img = b.fromArray(x, Shape.of(scenes, 3, side, side));                  // [N, 3, 32, 32]
            LatentDistribution q = pipeline.vae().encode(img);
            Tensor z0 = Ops.scale(q.mean(), pipeline.vae().scalingFactor());              // [N, 4, 8, 8]
            Shape zs = z0.shape();
            Tensor eps = b.fromArray(HostRandom.normal(seed, zs.numelInt()), zs);        // [N, 4, 8, 8]
            Tensor eTrue = pipeline.encodePrompts(captions(truth, null));                 // [N, 77, D]
            double[] trueLoss = new double[timesteps.length];
            for (int k = 0; k < timesteps.length; k++) {
                trueLoss[k] = loss(pipeline, ddpm, z0, eps, eTrue, timesteps[k]);
            }
            for (Attribute a : Attribute.values()) {
                Tensor eSwap = pipeline.encodePrompts(captions(truth, a));                // [N, 77, D]
                for (int k = 0; k < timesteps.length; k++) {
                    out.add(new Sensitivity(a, timesteps[k], trueLoss[k],
                            loss(pipeline, ddpm, z0, eps, eSwap, timesteps[k])));
                }
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** The captions of the scenes, with {@code swap} changed in each (null: unchanged). */
    static List<String> captions(List<Scene> scenes, Attribute swap) {
        List<String> out = new ArrayList<>(scenes.size());
        for (Scene s : scenes) {
            SceneObject o = s.objects().get(0);
            UnaryOperator<SceneObject> change = swap == null ? UnaryOperator.identity() : switch (swap) {
                case COLOUR -> v -> SceneObject.named(v.shape(), next(ToyWorld.Color.values(), v.color()), v.size(),
                        v.position());
                case SHAPE -> v -> SceneObject.named(next(ToyWorld.Shape.values(), v.shape()), v.color(), v.size(),
                        v.position());
                case SIZE -> v -> SceneObject.named(v.shape(), v.color(), next(ToyWorld.Size.values(), v.size()),
                        v.position());
                case POSITION -> v -> v.withPosition(next(ToyWorld.Position.values(), v.position()));
            };
            out.add(Scene.of(s.background(), change.apply(o)).caption());
        }
        return out;
    }

    private static <T extends Enum<T>> T next(T[] values, T v) {
        return values[(v.ordinal() + 1) % values.length];
    }

    /** Mean training loss (ε or v target) at timestep t over the scenes. */
    private static double loss(StableDiffusionPipeline p, DDPMScheduler ddpm, Tensor z0, Tensor eps, Tensor cond,
                               int t) {
        int n = z0.dim(0);
        int[] ts = new int[n];
        long[] tl = new long[n];
        Arrays.fill(ts, t);
        Arrays.fill(tl, t);
        try (TensorScope scope = TensorScope.open()) {
            Tensor zt = ddpm.addNoise(z0, eps, ts);                                        // [N, 4, 8, 8]
            Tensor target = ddpm.trainingTarget(z0, eps, ts);                              // [N, 4, 8, 8]: ε or v
            Tensor pred = p.unet().forward(zt, p.backend().fromArray(tl, Shape.of(n)), cond); // [N, 4, 8, 8]
            return Ops.mseLoss(pred, target).toFloatArray()[0];
        }
    }

    /** A markdown table: one row per attribute, one column per timestep, cells the relative change in percent. */
    public static String table(List<Sensitivity> results) {
        int[] ts = results.stream().mapToInt(Sensitivity::timestep).distinct().toArray();
        StringBuilder sb = new StringBuilder("| swapped word |");
        for (int t : ts) {
            sb.append(" t = ").append(t).append(" |");
        }
        sb.append("\n|---|").append("---:|".repeat(ts.length)).append('\n');
        for (Attribute a : Attribute.values()) {
            sb.append("| ").append(a.name().toLowerCase(java.util.Locale.ROOT)).append(" |");
            for (int t : ts) {
                results.stream().filter(r -> r.attribute() == a && r.timestep() == t).findFirst()
                        .ifPresent(r -> sb.append(String.format(java.util.Locale.ROOT, " %+.1f %% |",
                                100 * r.relativeChange())));
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
