package dev.perfusion.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perfusion.schedulers.SchedulerConfig.BetaSchedule;
import dev.perfusion.schedulers.SchedulerConfig.PredictionType;
import dev.perfusion.schedulers.SchedulerConfig.TimestepSpacing;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Parsing diffusers' scheduler_config.json: SD v1.5's file, the goldens' full configs, defaults and bad values. */
@Tag("unit")
class SchedulerConfigTest {
    private static final Path SD15 = Path.of("src/test/resources/golden/tiny-sd15/scheduler/scheduler_config.json");

    @Test
    void readsStableDiffusionConfig() throws IOException {
        SchedulerConfig c = SchedulerConfig.load(SD15);
        assertEquals(SchedulerConfig.sd15(), c);
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(0.00085, c.betaStart());
        assertEquals(0.012, c.betaEnd());
        assertEquals(BetaSchedule.SCALED_LINEAR, c.betaSchedule());
        assertNull(c.trainedBetas());
        assertEquals(PredictionType.EPSILON, c.predictionType());
        assertEquals(1, c.stepsOffset());
        assertFalse(c.setAlphaToOne());
        assertFalse(c.clipSample());
        assertTrue(c.skipPrkSteps());
        assertNull(c.timestepSpacing()); // each scheduler's own default
        assertEquals(TimestepSpacing.LEADING, c.timestepSpacingOr(TimestepSpacing.LEADING));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddpm", "ddim", "pndm", "euler", "euler_ancestral", "dpmpp"})
    void readsEachGoldenFilesFullDiffusersConfig(String file) {
        // the configs diffusers 0.30.3 really used, with every key its class has (e.g. "lambda_min_clipped": "-inf")
        SchedulerConfig c = SchedulerConfig.fromMap(GoldenCases.open("scheduler_" + file + ".safetensors")
                .diffusersConfig());
        assertArrayEquals(NoiseSchedule.of(SchedulerConfig.sd15()).alphasCumprod(), NoiseSchedule.of(c).alphasCumprod());
        assertEquals(1, c.stepsOffset());
        if (file.equals("dpmpp")) {
            assertTrue(c.useKarrasSigmas());
            assertEquals(Double.NEGATIVE_INFINITY, c.lambdaMinClipped());
            assertEquals(TimestepSpacing.LINSPACE, c.timestepSpacing());
        }
    }

    @Test
    void defaultsAreDiffusers() {
        SchedulerConfig d = SchedulerConfig.defaults();
        assertEquals(1000, d.numTrainTimesteps());
        assertEquals(0.0001, d.betaStart());
        assertEquals(0.02, d.betaEnd());
        assertEquals(BetaSchedule.LINEAR, d.betaSchedule());
        assertEquals(0, d.stepsOffset());
        assertTrue(d.setAlphaToOne());
        assertTrue(d.clipSample());
        assertEquals(2, d.solverOrder());
        assertTrue(d.lowerOrderFinal());
        assertEquals(d, SchedulerConfig.fromJson("{\"_class_name\": \"DDIMScheduler\", \"some_future_key\": 3}"));
    }

    @Test
    void withChangesOneKeyAndRoundTrips() {
        SchedulerConfig sd = SchedulerConfig.sd15();
        assertEquals(sd, SchedulerConfig.fromMap(sd.toMap()));
        SchedulerConfig v = sd.with("prediction_type", "v_prediction").with("timestep_spacing", "trailing");
        assertEquals(PredictionType.V_PREDICTION, v.predictionType());
        assertEquals(TimestepSpacing.TRAILING, v.timestepSpacing());
        assertEquals(sd.betaSchedule(), v.betaSchedule());
    }

    @Test
    void linearAndCosineSchedules() {
        float[] lin = NoiseSchedule.of(SchedulerConfig.defaults()).betas();
        assertEquals(0.0001f, lin[0]);
        assertEquals(0.02f, lin[999]);
        for (int t = 1; t < 1000; t++) {
            assertEquals((0.02 - 0.0001) / 999, lin[t] - lin[t - 1], 1e-8); // float32 steps of 2e-5
        }
        float[] cos = NoiseSchedule.of(SchedulerConfig.sd15().with("beta_schedule", "squaredcos_cap_v2")).betas();
        // diffusers' betas_for_alpha_bar(1000) in float64, rounded to float32 (values from NumPy)
        assertEquals(4.1284224e-05f, cos[0]);
        assertEquals(0.0031556915f, cos[500]);
        assertEquals(0.7499994f, cos[998]);
        assertEquals(0.999f, cos[999]);
    }

    @Test
    void trainedBetasOverrideTheSchedule() {
        List<Double> betas = new ArrayList<>(Collections.nCopies(10, 0.1));
        SchedulerConfig c = SchedulerConfig.defaults().with("num_train_timesteps", 10).with("trained_betas", betas);
        NoiseSchedule s = NoiseSchedule.of(c);
        assertEquals(0.1f, s.beta(3));
        assertEquals((float) Math.pow(0.9f, 2), s.alphaCumprod(1), 1e-7);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.defaults().with("trained_betas", betas));
        assertTrue(e.getMessage().contains("trained_betas"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"beta_schedule\": \"sigmoid\"}                 | beta_schedule",
        "{\"prediction_type\": \"sample\"}                | prediction_type",
        "{\"timestep_spacing\": \"quadratic\"}            | timestep_spacing",
        "{\"variance_type\": \"learned_range\"}           | variance_type",
        "{\"final_sigmas_type\": \"denoise_to_zero\"}     | final_sigmas_type",
        "{\"num_train_timesteps\": 0}                     | num_train_timesteps",
        "{\"num_train_timesteps\": \"1000\"}              | num_train_timesteps",
        "{\"num_train_timesteps\": 10.5}                  | num_train_timesteps",
        "{\"steps_offset\": -1}                           | steps_offset",
        "{\"beta_start\": \"small\"}                      | beta_start",
        "{\"beta_end\": 1.5}                              | beta_end",
        "{\"clip_sample\": \"no\"}                        | clip_sample",
        "{\"thresholding\": true}                         | thresholding",
        "{\"rescale_betas_zero_snr\": \"yes\"}            | rescale_betas_zero_snr",
        "{\"algorithm_type\": \"sde-dpmsolver++\"}        | algorithm_type",
        "{\"solver_type\": \"heun\"}                      | solver_type",
        "{\"interpolation_type\": \"log_linear\"}         | interpolation_type",
        "{\"timestep_type\": \"continuous\"}              | timestep_type",
        "{\"use_lu_lambdas\": true}                       | use_lu_lambdas",
        "{\"lambda_min_clipped\": \"minus five\"}         | lambda_min_clipped",
        "{\"trained_betas\": [0.1, \"x\"]}                | trained_betas",
        "[1, 2]                                           | JSON object"})
    void unsupportedOrMalformedValuesNameTheKey(String json, String key) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.fromJson(json));
        assertTrue(e.getMessage().contains(key), e.getMessage());
    }

    @Test
    void unsupportedEnumValueListsTheSupportedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.sd15().with("beta_schedule", "sigmoid"));
        assertTrue(e.getMessage().contains("linear, scaled_linear, squaredcos_cap_v2"), e.getMessage());
    }
}
