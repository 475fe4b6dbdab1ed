package io.dharmana.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import io.dharmana.store.TierStats;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MicrometerBindingTest {

  @ParameterizedTest
  @ValueSource(longs = {1, 7, 42})
  void prometheusScrapeHoldsStageLatencyCounterAndTierSeries(long seed) {
    Random random = new Random(seed);
    PipelineMetrics metrics = new PipelineMetrics("ckpt");
    StageChain chain = Stages.chain(List.of(StageSpec.of("zstd", Map.of("level", "3"))), StageContext.system());
    long logical = 0;
    int chunks = 1 + random.nextInt(8);
    for (int i = 0; i < chunks; i++) {
      byte[] data = new byte[1024 + random.nextInt(64 * 1024)];
      for (int j = 0; j < data.length; j += 1 + random.nextInt(16)) {
        data[j] = (byte) random.nextInt(4);
      }
      byte[] stored = chain.encode(data, metrics);
      metrics.step("store-write", "encode", stored.length, stored.length, 1000 + random.nextInt(100_000));
      metrics.latency("chunk-write", 1_000_000L * (1 + random.nextInt(20)));
      logical += data.length;
    }
    metrics.add(PipelineMetrics.LOGICAL_BYTES, logical);
    AtomicReference<List<TierStats>> tiers = new AtomicReference<>(
        List.of(new TierStats("nvme", 12345, 3, 10, 2, 1, 0, 4096, 0), new TierStats("hdd", 99999, 7, 2, 10, 0, 1, 0, 512)));

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    MicrometerBinding binding = MicrometerBinding.of(metrics, tiers::get, Duration.ZERO);
    binding.bindTo(registry);
    String scrape = registry.scrape();
    String why = "seed " + seed + "\n" + scrape;

    MetricsSnapshot snap = metrics.snapshot("check");
    StageStats zstd = snap.stages().stream().filter(s -> s.stage().equals("zstd")).findFirst().orElseThrow();
    assertEquals(zstd.bytesIn(), value(scrape, "dharmana_stage_input_bytes_total",
        "direction=\"encode\",index=\"0\",pipeline=\"ckpt\",stage=\"zstd\""), 0.5, why);
    assertEquals(zstd.bytesOut(), value(scrape, "dharmana_stage_output_bytes_total",
        "direction=\"encode\",index=\"0\",pipeline=\"ckpt\",stage=\"zstd\""), 0.5, why);
    assertEquals(zstd.seconds(), value(scrape, "dharmana_stage_time_seconds_total",
        "direction=\"encode\",index=\"0\",pipeline=\"ckpt\",stage=\"zstd\""), 1e-6, why);
    assertEquals(chunks, value(scrape, "dharmana_stage_calls_total",
        "direction=\"encode\",index=\"-1\",pipeline=\"ckpt\",stage=\"store-write\""), 0.5, why);
    assertEquals(logical, value(scrape, "dharmana_counter_total", "name=\"bytes.logical\",pipeline=\"ckpt\""), 0.5, why);
    LatencyStats lat = snap.latencies().get(0);
    assertEquals(lat.p99Micros() / 1e6, value(scrape, "dharmana_operation_latency_seconds",
        "operation=\"chunk-write\",pipeline=\"ckpt\",quantile=\"0.99\""), 1e-9, why);
    assertEquals(chunks, value(scrape, "dharmana_operation_count_total", "operation=\"chunk-write\",pipeline=\"ckpt\""), 0.5, why);
    assertEquals(12345, value(scrape, "dharmana_tier_stored_bytes", "tier=\"nvme\""), 0.5, why);
    assertEquals(10.0 / 12, value(scrape, "dharmana_tier_hit_rate", "tier=\"nvme\""), 1e-9, why);
    assertEquals(1, value(scrape, "dharmana_tier_demotions_total", "tier=\"hdd\""), 0.5, why);

    // values follow the recorder; meters for new series appear on refresh
    metrics.add(PipelineMetrics.LOGICAL_BYTES, 10);
    metrics.add("accelerator.wait.nanos", 5);
    List<TierStats> grown = new ArrayList<>(tiers.get());
    grown.set(0, new TierStats("nvme", 20000, 4, 11, 2, 1, 0, 4096, 0));
    tiers.set(grown);
    String second = registry.scrape();
    assertEquals(logical + 10, value(second, "dharmana_counter_total", "name=\"bytes.logical\",pipeline=\"ckpt\""), 0.5, second);
    assertEquals(20000, value(second, "dharmana_tier_stored_bytes", "tier=\"nvme\""), 0.5, second);
    assertTrue(!second.contains("accelerator.wait.nanos"), second);
    binding.refresh();
    assertEquals(5, value(registry.scrape(), "dharmana_counter_total", "name=\"accelerator.wait.nanos\",pipeline=\"ckpt\""), 0.5);
  }

  /** The value of one series in Prometheus text format; fails naming the series when absent. */
  private static double value(String scrape, String name, String labels) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name + "{" + labels + "}") + " (\\S+)$").matcher(scrape);
    assertTrue(m.find(), "no series " + name + "{" + labels + "} in\n" + scrape);
    return Double.parseDouble(m.group(1));
  }
}
