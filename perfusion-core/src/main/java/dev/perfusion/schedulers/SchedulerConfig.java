package dev.perfusion.schedulers;

import dev.perfusion.io.JsonReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The settings of a noise scheduler, as diffusers stores them in {@code scheduler/scheduler_config.json}. One record
 * serves every scheduler in this package; each scheduler reads the keys it uses (diffusers' {@code from_config}
 * likewise passes one dictionary to any scheduler class). Keys a scheduler does not use are ignored, as
 * diffusers ignores them.
 *
 * <p>Defaults are diffusers 0.30.3's constructor defaults. Where those differ between scheduler classes the
 * component is {@code null} here and the scheduler supplies its own: {@code timestep_spacing} is {@code leading}
 * for DDPM/DDIM/PNDM and {@code linspace} for Euler and DPM-Solver.
 *
 * <p>Values this port does not implement are rejected when the config is parsed (unknown enum strings) or when a
 * scheduler is built (a known value that scheduler does not support, e.g. {@code solver_order 3}), always with an
 * {@link IllegalArgumentException} naming the key, the value and the supported values.
 *
 * @param numTrainTimesteps {@code num_train_timesteps} N: length of the training noise schedule (default 1000)
 * @param betaStart         {@code beta_start} β₀ (default 0.0001)
 * @param betaEnd           {@code beta_end} β_{N−1} (default 0.02)
 * @param betaSchedule      {@code beta_schedule} (default {@code linear})
 * @param trainedBetas      {@code trained_betas}: explicit β_t (N values) overriding the schedule, or null
 * @param predictionType    {@code prediction_type}: what the model predicts (default {@code epsilon})
 * @param stepsOffset       {@code steps_offset}: added to {@code leading} timesteps (default 0; SD v1.x: 1)
 * @param setAlphaToOne     {@code set_alpha_to_one}: ᾱ after the last DDIM/PNDM step is 1 (true, the default) or
 *                          ᾱ₀ (false, SD v1.x)
 * @param clipSample        {@code clip_sample}: clamp DDPM/DDIM's predicted x₀ to ±{@code clipSampleRange}
 *                          (default true; SD v1.x: false)
 * @param clipSampleRange   {@code clip_sample_range} (default 1)
 * @param timestepSpacing   {@code timestep_spacing}, or null for the scheduler's own default
 * @param varianceType      {@code variance_type} of DDPM (default {@code fixed_small})
 * @param useKarrasSigmas   {@code use_karras_sigmas}: Karras et al. (2022) σ spacing, ρ = 7 (Euler, DPM-Solver)
 * @param sigmaMin          {@code sigma_min} for Karras σ (null: the schedule's smallest σ)
 * @param sigmaMax          {@code sigma_max} for Karras σ (null: the schedule's largest σ)
 * @param finalSigmasType   {@code final_sigmas_type}: σ after the last step (default {@code zero})
 * @param solverOrder       {@code solver_order} of DPM-Solver (default 2)
 * @param lowerOrderFinal   {@code lower_order_final} of DPM-Solver (default true)
 * @param eulerAtFinal      {@code euler_at_final} of DPM-Solver (default false)
 * @param lambdaMinClipped  {@code lambda_min_clipped} of DPM-Solver: timesteps whose log-SNR λ is below it are
 *                          not used (default −∞)
 * @param skipPrkSteps      {@code skip_prk_steps} of PNDM (default false in diffusers; SD v1.x: true)
 * @param rescaleBetasZeroSnr {@code rescale_betas_zero_snr}: rescale β so that ᾱ_{N−1} = 0, zero terminal SNR
 *                          (Lin et al. 2023, algorithm 1; default false). DDIM and DDPM only, with
 *                          {@code v_prediction}
 */
public record SchedulerConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        List<Double> trainedBetas,
        PredictionType predictionType,
        int stepsOffset,
        boolean setAlphaToOne,
        boolean clipSample,
        double clipSampleRange,
        TimestepSpacing timestepSpacing,
        VarianceType varianceType,
        boolean useKarrasSigmas,
        Double sigmaMin,
        Double sigmaMax,
        FinalSigmasType finalSigmasType,
        int solverOrder,
        boolean lowerOrderFinal,
        boolean eulerAtFinal,
        double lambdaMinClipped,
        boolean skipPrkSteps,
        boolean rescaleBetasZeroSnr) {

    /** {@code beta_schedule}: how β_t runs from {@code beta_start} to {@code beta_end}. */
    public enum BetaSchedule {
        /** β_t = linspace(β₀, β_end, N). */
        LINEAR("linear"),
        /** β_t = linspace(√β₀, √β_end, N)² (Stable Diffusion). */
        SCALED_LINEAR("scaled_linear"),
        /** Nichol &amp; Dhariwal's cosine ᾱ(t) = cos²((t/N + 0.008)/1.008 · π/2), β capped at 0.999. */
        SQUAREDCOS_CAP_V2("squaredcos_cap_v2");

        private final String key;

        BetaSchedule(String key) {
            this.key = key;
        }

        /** The value as written in scheduler_config.json. */
        public String key() {
            return key;
        }
    }

    /** {@code prediction_type}: what the denoising model outputs. */
    public enum PredictionType {
        /** The added noise ε. */
        EPSILON("epsilon"),
        /** The velocity v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀ (Salimans &amp; Ho 2022). */
        V_PREDICTION("v_prediction");

        private final String key;

        PredictionType(String key) {
            this.key = key;
        }

        /** The value as written in scheduler_config.json. */
        public String key() {
            return key;
        }
    }

    /** {@code timestep_spacing}: how the inference timesteps are spread (Lin et al. 2023, table 2). */
    public enum TimestepSpacing {
        /** Evenly spaced from N−1 down to 0, including both ends. */
        LINSPACE("linspace"),
        /** Multiples of N // n, plus {@code steps_offset}: 981, 961, …, 1 for SD v1.x with 50 steps. */
        LEADING("leading"),
        /** Counting down from N by N / n, minus one: 999, 979, …, 19 for 50 steps. */
        TRAILING("trailing");

        private final String key;

        TimestepSpacing(String key) {
            this.key = key;
        }

        /** The value as written in scheduler_config.json. */
        public String key() {
            return key;
        }
    }

    /** {@code variance_type} of DDPM sampling. */
    public enum VarianceType {
        /** σ_t² = β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t)·β_t, the posterior variance. */
        FIXED_SMALL("fixed_small"),
        /** σ_t² = β_t. */
        FIXED_LARGE("fixed_large");

        private final String key;

        VarianceType(String key) {
            this.key = key;
        }

        /** The value as written in scheduler_config.json. */
        public String key() {
            return key;
        }
    }

    /** {@code final_sigmas_type}: σ after the last sampling step. */
    public enum FinalSigmasType {
        /** σ = 0: the last step returns the model's x₀ estimate. */
        ZERO("zero"),
        /** σ = σ₀ of the training schedule (the smallest). */
        SIGMA_MIN("sigma_min");

        private final String key;

        FinalSigmasType(String key) {
            this.key = key;
        }

        /** The value as written in scheduler_config.json. */
        public String key() {
            return key;
        }
    }

    /** Validates the values every scheduler relies on. */
    public SchedulerConfig {
        if (numTrainTimesteps <= 0) {
            throw bad("num_train_timesteps", numTrainTimesteps, "a positive integer");
        }
        if (betaSchedule == null) {
            throw new IllegalArgumentException("scheduler config: beta_schedule must not be null");
        }
        if (predictionType == null) {
            throw new IllegalArgumentException("scheduler config: prediction_type must not be null");
        }
        if (varianceType == null || finalSigmasType == null) {
            throw new IllegalArgumentException("scheduler config: variance_type and final_sigmas_type must not be null");
        }
        if (trainedBetas != null) {
            trainedBetas = List.copyOf(trainedBetas);
            if (trainedBetas.size() != numTrainTimesteps) {
                throw new IllegalArgumentException("scheduler config: trained_betas has " + trainedBetas.size()
                        + " values but num_train_timesteps is " + numTrainTimesteps);
            }
        } else if (!(betaStart > 0 && betaEnd > 0 && betaStart < 1 && betaEnd < 1)) {
            throw new IllegalArgumentException("scheduler config: beta_start " + betaStart + " and beta_end " + betaEnd
                    + " must lie in (0, 1)");
        }
        if (stepsOffset < 0) {
            throw bad("steps_offset", stepsOffset, "an integer ≥ 0");
        }
        if (!(clipSampleRange > 0)) {
            throw bad("clip_sample_range", clipSampleRange, "a positive number");
        }
        if (solverOrder < 1) {
            throw bad("solver_order", solverOrder, "1 or 2");
        }
        if (Double.isNaN(lambdaMinClipped)) {
            throw bad("lambda_min_clipped", lambdaMinClipped, "a number or \"-inf\"");
        }
    }

    /** diffusers' defaults for every key (as {@code DDPMScheduler()} with no arguments, plus the other classes' keys). */
    public static SchedulerConfig defaults() {
        return fromMap(Map.of());
    }

    /**
     * Stable Diffusion v1.5's {@code scheduler/scheduler_config.json}: scaled_linear β 0.00085 → 0.012 over 1000 steps,
     * epsilon prediction, {@code steps_offset 1}, {@code set_alpha_to_one false}, {@code clip_sample false},
     * {@code skip_prk_steps true}.
     */
    public static SchedulerConfig sd15() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("num_train_timesteps", 1000L);
        m.put("beta_start", 0.00085);
        m.put("beta_end", 0.012);
        m.put("beta_schedule", "scaled_linear");
        m.put("clip_sample", false);
        m.put("set_alpha_to_one", false);
        m.put("skip_prk_steps", true);
        m.put("steps_offset", 1L);
        return fromMap(m);
    }

    /** Reads a diffusers {@code scheduler_config.json}. */
    public static SchedulerConfig load(Path file) throws IOException {
        String json = Files.readString(file, StandardCharsets.UTF_8);
        try {
            return fromJson(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses the text of a diffusers {@code scheduler_config.json}. */
    public static SchedulerConfig fromJson(String json) {
        Object tree = JsonReader.parse(json);
        if (!(tree instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("scheduler config: expected a JSON object");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        map.forEach((k, v) -> m.put((String) k, v));
        return fromMap(m);
    }

    /**
     * Builds a config from diffusers' keys; missing keys (and JSON nulls, given as null or {@link JsonReader#NULL})
     * take the defaults. Numbers may be any {@link Number}; {@code lambda_min_clipped} may also be the string
     * {@code "-inf"}. Keys starting with {@code _} ({@code _class_name}, {@code _diffusers_version}) and keys no
     * scheduler here reads are ignored, as diffusers ignores unexpected keys.
     *
     * @throws IllegalArgumentException for a value of the wrong type or one this port does not support, naming the key
     */
    public static SchedulerConfig fromMap(Map<String, ?> m) {
        Values v = new Values(m);
        // Keys whose only values here are diffusers' defaults: anything else would change the maths silently.
        v.require("thresholding", false);
        v.require("use_lu_lambdas", false);
        v.requireString("algorithm_type", "dpmsolver++", "deis"); // "deis" is mapped to dpmsolver++ by diffusers
        v.requireString("solver_type", "midpoint", "logrho", "bh1", "bh2"); // mapped to midpoint by diffusers
        v.requireString("interpolation_type", "linear");
        v.requireString("timestep_type", "discrete");
        return new SchedulerConfig(
                v.integer("num_train_timesteps", 1000),
                v.number("beta_start", 0.0001),
                v.number("beta_end", 0.02),
                v.choice("beta_schedule", BetaSchedule.values(), BetaSchedule::key, BetaSchedule.LINEAR),
                v.numbers("trained_betas"),
                v.choice("prediction_type", PredictionType.values(), PredictionType::key, PredictionType.EPSILON),
                v.integer("steps_offset", 0),
                v.bool("set_alpha_to_one", true),
                v.bool("clip_sample", true),
                v.number("clip_sample_range", 1.0),
                v.choice("timestep_spacing", TimestepSpacing.values(), TimestepSpacing::key, null),
                v.choice("variance_type", VarianceType.values(), VarianceType::key, VarianceType.FIXED_SMALL),
                v.bool("use_karras_sigmas", false),
                v.optionalNumber("sigma_min"),
                v.optionalNumber("sigma_max"),
                v.choice("final_sigmas_type", FinalSigmasType.values(), FinalSigmasType::key, FinalSigmasType.ZERO),
                v.integer("solver_order", 2),
                v.bool("lower_order_final", true),
                v.bool("euler_at_final", false),
                v.number("lambda_min_clipped", Double.NEGATIVE_INFINITY),
                v.bool("skip_prk_steps", false),
                v.bool("rescale_betas_zero_snr", false));
    }

    /** This config as diffusers' keys and JSON-like values (null components are left out). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("num_train_timesteps", (long) numTrainTimesteps);
        m.put("beta_start", betaStart);
        m.put("beta_end", betaEnd);
        m.put("beta_schedule", betaSchedule.key());
        if (trainedBetas != null) {
            m.put("trained_betas", trainedBetas);
        }
        m.put("prediction_type", predictionType.key());
        m.put("steps_offset", (long) stepsOffset);
        m.put("set_alpha_to_one", setAlphaToOne);
        m.put("clip_sample", clipSample);
        m.put("clip_sample_range", clipSampleRange);
        if (timestepSpacing != null) {
            m.put("timestep_spacing", timestepSpacing.key());
        }
        m.put("variance_type", varianceType.key());
        m.put("use_karras_sigmas", useKarrasSigmas);
        if (sigmaMin != null) {
            m.put("sigma_min", sigmaMin);
        }
        if (sigmaMax != null) {
            m.put("sigma_max", sigmaMax);
        }
        m.put("final_sigmas_type", finalSigmasType.key());
        m.put("solver_order", (long) solverOrder);
        m.put("lower_order_final", lowerOrderFinal);
        m.put("euler_at_final", eulerAtFinal);
        m.put("lambda_min_clipped", lambdaMinClipped);
        m.put("skip_prk_steps", skipPrkSteps);
        m.put("rescale_betas_zero_snr", rescaleBetasZeroSnr);
        return Collections.unmodifiableMap(m);
    }

    /**
     * A copy with one diffusers key changed, e.g. {@code with("prediction_type", "v_prediction")} or
     * {@code with("timestep_spacing", "trailing")}; the value is checked as {@link #fromMap} checks it.
     */
    public SchedulerConfig with(String key, Object value) {
        Map<String, Object> m = new LinkedHashMap<>(toMap());
        m.put(key, value);
        return fromMap(m);
    }

    /** The timestep spacing, or {@code dflt} (the scheduler's own default) when the config names none. */
    public TimestepSpacing timestepSpacingOr(TimestepSpacing dflt) {
        return timestepSpacing != null ? timestepSpacing : dflt;
    }

    private static IllegalArgumentException bad(String key, Object value, String expected) {
        return new IllegalArgumentException("scheduler config: " + key + " is " + value + ", expected " + expected);
    }

    /** Typed access to the raw map, with errors that name the key. */
    private static final class Values {
        private final Map<String, ?> m;

        Values(Map<String, ?> m) {
            this.m = m;
        }

        private Object get(String key) {
            Object o = m.get(key);
            return o == JsonReader.NULL ? null : o;
        }

        int integer(String key, int dflt) {
            Object o = get(key);
            if (o == null) {
                return dflt;
            }
            if (o instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())
                    && Math.abs(n.doubleValue()) <= Integer.MAX_VALUE) {
                return n.intValue();
            }
            throw bad(key, describe(o), "an integer");
        }

        double number(String key, double dflt) {
            Object o = get(key);
            if (o == null) {
                return dflt;
            }
            if (o instanceof Number n) {
                return n.doubleValue();
            }
            if (o instanceof String s) {
                // Python's json writes float('-inf') as -Infinity, which strict JSON cannot hold; configs carry strings
                switch (s.trim().toLowerCase(Locale.ROOT)) {
                    case "-inf", "-infinity" -> {
                        return Double.NEGATIVE_INFINITY;
                    }
                    case "inf", "infinity" -> {
                        return Double.POSITIVE_INFINITY;
                    }
                    default -> {
                    }
                }
            }
            throw bad(key, describe(o), "a number");
        }

        Double optionalNumber(String key) {
            return get(key) == null ? null : number(key, Double.NaN);
        }

        List<Double> numbers(String key) {
            Object o = get(key);
            if (o == null) {
                return null;
            }
            if (o instanceof List<?> list) {
                List<Double> out = new ArrayList<>(list.size());
                for (Object e : list) {
                    if (!(e instanceof Number n)) {
                        throw bad(key, "a list containing " + describe(e), "a list of numbers");
                    }
                    out.add(n.doubleValue());
                }
                return out;
            }
            throw bad(key, describe(o), "a list of numbers or null");
        }

        boolean bool(String key, boolean dflt) {
            Object o = get(key);
            if (o == null) {
                return dflt;
            }
            if (o instanceof Boolean b) {
                return b;
            }
            throw bad(key, describe(o), "true or false");
        }

        <E> E choice(String key, E[] values, Function<E, String> name, E dflt) {
            Object o = get(key);
            if (o == null) {
                return dflt;
            }
            List<String> names = new ArrayList<>();
            for (E e : values) {
                if (name.apply(e).equals(o)) {
                    return e;
                }
                names.add(name.apply(e));
            }
            throw new IllegalArgumentException("scheduler config: " + key + " " + describe(o)
                    + " is not supported (supported: " + String.join(", ", names) + ")");
        }

        void require(String key, boolean only) {
            if (bool(key, only) != only) {
                throw new IllegalArgumentException("scheduler config: " + key + " " + !only
                        + " is not supported (supported: " + only + ")");
            }
        }

        void requireString(String key, String... accepted) {
            Object o = get(key);
            if (o == null) {
                return;
            }
            for (String a : accepted) {
                if (a.equals(o)) {
                    return;
                }
            }
            throw new IllegalArgumentException("scheduler config: " + key + " " + describe(o)
                    + " is not supported (supported: " + accepted[0] + ")");
        }

        private static String describe(Object o) {
            return o instanceof String s ? "'" + s + "'" : String.valueOf(o);
        }
    }
}
