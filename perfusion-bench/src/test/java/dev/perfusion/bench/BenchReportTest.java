package dev.perfusion.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The report reads JMH's JSON and computes FLOP rates from {@link BenchShapes}. */
@Tag("unit")
class BenchReportTest {

    private static String result(String bench, String backend, String shape, double score, String error) {
        return """
                {"jmhVersion":"1.37","benchmark":"dev.perfusion.bench.%s","mode":"avgt","threads":1,"forks":1,
                 "jvmArgs":["-Xmx4g"],"params":{"backend":"%s","shape":"%s"},
                 "primaryMetric":{"score":%s,"scoreError":%s,"scoreConfidence":[1.0,2.0],
                   "scorePercentiles":{"0.0":1.0},"scoreUnit":"ms/op","rawData":[[1.0,2.0]]},
                 "secondaryMetrics":{}}""".formatted(bench, backend, shape, score, error);
    }

    @Test
    void computesGflopsAndRatioToPlain() {
        String json = "[" + result("MatmulBench.matmul", "nd4j", "m4096_k320_n320", 6.0, "0.5") + ",\n"
                + result("MatmulBench.matmul", "plain", "m4096_k320_n320", 120.0, "\"NaN\"") + ","
                + result("Conv2dBench.conv2d", "reference", "scaled", 1000.0, "10.0") + "]";
        List<BenchReport.Row> rows = BenchReport.parse(json);
        assertEquals(3, rows.size());
        BenchReport.Row nd4j = rows.get(0);
        assertEquals(2L * 4096 * 320 * 320, nd4j.flops());
        assertEquals(2L * 4096 * 320 * 320 / 6.0e6, nd4j.gflops(), 1e-9);
        assertTrue(Double.isNaN(rows.get(1).msError()));
        assertEquals(2L * 320 * 16 * 16 * 320 * 9, rows.get(2).flops());

        String md = BenchReport.markdown(rows);
        assertTrue(md.contains("| matmul | 4096×320 · 320×320 | 0.839 | nd4j | 6.00 | 0.500 | 140 | 20.00× |"), md);
        assertTrue(md.contains("*(scaled)*"), md);
    }

    @Test
    void attentionFlopsCountTheTwoMatmuls() {
        assertEquals(4L * 8 * 4096 * 4096 * 40, BenchShapes.attention("sd15").flops());
        assertEquals(2L * 320 * 64 * 64 * 320 * 9, BenchShapes.conv("sd15").flops());
    }
}
