package io.dharmana.metrics;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * An immutable snapshot of what a pipeline did over an interval: per stage, per operation
 * latency, and counters (logical bytes, stored bytes, new vs deduplicated chunks).
 */
public record MetricsSnapshot(
    String pipeline,
    String operation,
    Instant start,
    Instant end,
    List<StageStats> stages,
    List<LatencyStats> latencies,
    Map<String, Long> counters) {

  public MetricsSnapshot {
    stages = List.copyOf(stages);
    latencies = List.copyOf(latencies);
    counters = Map.copyOf(counters);
  }

  public long counter(String name) {
    return counters.getOrDefault(name, 0L);
  }

  public double seconds() {
    return java.time.Duration.between(start, end).toNanos() / 1e9;
  }
}
