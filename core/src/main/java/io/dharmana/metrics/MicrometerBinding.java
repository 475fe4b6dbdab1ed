package io.dharmana.metrics;

import io.dharmana.store.TierStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Exposes a {@link PipelineMetrics} recorder and a tiered store's {@link TierStats} through a
 * Micrometer {@link MeterRegistry}, so a Prometheus registry can scrape them.
 *
 * <p>Meters (Prometheus names in brackets):
 *
 * <ul>
 *   <li>{@code dharmana.stage.input}, {@code .output} (bytes), {@code .time} (seconds, summed over
 *       threads), {@code .calls} [{@code dharmana_stage_input_bytes_total}, {@code
 *       dharmana_stage_time_seconds_total}, ...]: function counters tagged {@code pipeline},
 *       {@code stage}, {@code direction} ({@code encode}/{@code decode}) and {@code index}
 *       (position in the chain, -1 for steps such as chunking, hashing and store I/O);
 *   <li>{@code dharmana.operation.latency} [{@code dharmana_operation_latency_seconds}]: gauges
 *       tagged {@code pipeline}, {@code operation} and {@code quantile} (0.5, 0.9, 0.99, 0.999,
 *       1.0 for the maximum), and {@code dharmana.operation.count} counters;
 *   <li>{@code dharmana.counter} [{@code dharmana_counter_total}]: every named counter of the
 *       recorder, tagged {@code pipeline} and {@code name} (e.g. {@code bytes.logical});
 *   <li>{@code dharmana.tier.stored} (bytes held now) [{@code dharmana_tier_stored_bytes}],
 *       {@code .objects}, {@code .hit.rate} gauges and {@code dharmana.tier.hits}, {@code
 *       .misses}, {@code .promotions}, {@code .demotions}, {@code .promoted}, {@code .demoted}
 *       (bytes) counters, tagged {@code tier}.
 * </ul>
 *
 * <p>Stages, operations and counters appear in a recorder as they are first used, so meters for
 * them are registered by {@link #refresh()}, which a scraper calls before each scrape (the values
 * of meters already registered follow the recorder without it). Meter functions read a snapshot
 * that is at most {@code maxAge} old, so one scrape takes one snapshot, not one per series.
 * Thread-safe.
 */
public final class MicrometerBinding implements MeterBinder {
  private static final double[] QUANTILES = {0.5, 0.9, 0.99, 0.999, 1.0};

  private final PipelineMetrics metrics;
  private final Supplier<List<TierStats>> tiers;
  private final long maxAgeNanos;
  private final Set<String> registered = ConcurrentHashMap.newKeySet();
  private volatile MeterRegistry registry;
  private volatile View view;

  /** What the meter functions read: one recorder snapshot and one tier snapshot, and when taken. */
  private record View(long takenNanos, MetricsSnapshot snapshot, List<TierStats> tiers) {}

  private MicrometerBinding(PipelineMetrics metrics, Supplier<List<TierStats>> tiers, Duration maxAge) {
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.tiers = Objects.requireNonNull(tiers, "tiers");
    if (maxAge.isNegative()) {
      throw new IllegalArgumentException("Invalid maxAge " + maxAge + ": must be >= 0");
    }
    this.maxAgeNanos = maxAge.toNanos();
  }

  /**
   * A binding of {@code metrics} and the tier statistics {@code tiers} supplies (e.g. {@code
   * repository.tiers()::stats}; {@code List::of} for none); meter values are at most one second
   * old.
   */
  public static MicrometerBinding of(PipelineMetrics metrics, Supplier<List<TierStats>> tiers) {
    return of(metrics, tiers, Duration.ofSeconds(1));
  }

  /** As {@link #of(PipelineMetrics, Supplier)}, with meter values at most {@code maxAge} old. */
  public static MicrometerBinding of(PipelineMetrics metrics, Supplier<List<TierStats>> tiers, Duration maxAge) {
    return new MicrometerBinding(metrics, tiers, maxAge);
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    if (this.registry != null && this.registry != registry) {
      throw new IllegalStateException("Cannot bind pipeline " + metrics.pipeline() + " to a second registry");
    }
    this.registry = registry;
    refresh();
  }

  /** Registers meters for stages, operations, counters and tiers that appeared since the last call. */
  public synchronized void refresh() {
    MeterRegistry r = registry;
    if (r == null) {
      throw new IllegalStateException("Cannot refresh: bind this binding to a registry first");
    }
    View v = take();
    view = v;
    String pipeline = metrics.pipeline();
    for (StageStats s : v.snapshot().stages()) {
      String key = s.direction() + "/" + s.index() + "/" + s.stage();
      if (!registered.add("stage/" + key)) {
        continue;
      }
      Tags tags = Tags.of("pipeline", pipeline, "stage", s.stage(), "direction", s.direction(), "index", Integer.toString(s.index()));
      stageCounter(r, "dharmana.stage.input", "bytes", "bytes a stage or step took in", tags, key, StageStats::bytesIn);
      stageCounter(r, "dharmana.stage.output", "bytes", "bytes a stage or step gave out", tags, key, StageStats::bytesOut);
      stageCounter(r, "dharmana.stage.time", "seconds", "time spent in a stage or step, summed over threads", tags, key,
          StageStats::seconds);
      stageCounter(r, "dharmana.stage.calls", null, "chunks a stage or step processed", tags, key, StageStats::calls);
    }
    for (LatencyStats l : v.snapshot().latencies()) {
      String op = l.operation();
      if (!registered.add("latency/" + op)) {
        continue;
      }
      Tags tags = Tags.of("pipeline", pipeline, "operation", op);
      for (double q : QUANTILES) {
        Gauge.builder("dharmana.operation.latency", this, b -> latencySeconds(b.current(), op, q))
            .tags(tags.and("quantile", q == 1.0 ? "1.0" : Double.toString(q)))
            .baseUnit("seconds")
            .description("operation latency at a quantile (1.0: the maximum), HdrHistogram since start")
            .register(r);
      }
      FunctionCounter.builder("dharmana.operation.count", this, b -> latency(b.current(), op).map(x -> (double) x.count()).orElse(0.0))
          .tags(tags).description("operations timed").register(r);
    }
    for (String name : v.snapshot().counters().keySet()) {
      if (!registered.add("counter/" + name)) {
        continue;
      }
      FunctionCounter.builder("dharmana.counter", this, b -> b.current().snapshot().counter(name))
          .tags("pipeline", pipeline, "name", name).description("a named counter of the pipeline's runtime").register(r);
    }
    for (TierStats t : v.tiers()) {
      String tier = t.name();
      if (!registered.add("tier/" + tier)) {
        continue;
      }
      Tags tags = Tags.of("tier", tier);
      tierGauge(r, "dharmana.tier.stored", "bytes", "bytes the tier holds now", tags, tier, TierStats::bytesHeld);
      tierGauge(r, "dharmana.tier.objects", null, "blobs the tier holds now", tags, tier, TierStats::objects);
      tierGauge(r, "dharmana.tier.hit.rate", null, "reads this tier served over reads that tried it", tags, tier, TierStats::hitRate);
      tierCounter(r, "dharmana.tier.hits", null, "reads this tier served", tags, tier, TierStats::hits);
      tierCounter(r, "dharmana.tier.misses", null, "reads that tried this tier and missed", tags, tier, TierStats::misses);
      tierCounter(r, "dharmana.tier.promotions", null, "blobs copied into this tier on read", tags, tier, TierStats::promotions);
      tierCounter(r, "dharmana.tier.demotions", null, "blobs moved out of this tier", tags, tier, TierStats::demotions);
      tierCounter(r, "dharmana.tier.promoted", "bytes", "bytes copied into this tier on read", tags, tier, TierStats::bytesPromoted);
      tierCounter(r, "dharmana.tier.demoted", "bytes", "bytes moved out of this tier", tags, tier, TierStats::bytesDemoted);
    }
  }

  private View take() {
    return new View(System.nanoTime(), metrics.snapshot("scrape"), List.copyOf(tiers.get()));
  }

  /** The view meter functions read, refreshed when older than {@code maxAge}. */
  private View current() {
    View v = view;
    if (v == null || System.nanoTime() - v.takenNanos() > maxAgeNanos) {
      synchronized (this) {
        v = view;
        if (v == null || System.nanoTime() - v.takenNanos() > maxAgeNanos) {
          v = take();
          view = v;
        }
      }
    }
    return v;
  }

  private void stageCounter(MeterRegistry r, String name, String unit, String description, Tags tags, String key,
      ToDoubleFunction<StageStats> value) {
    FunctionCounter.builder(name, this, b -> b.stage(key).map(value::applyAsDouble).orElse(0.0))
        .tags(tags).baseUnit(unit).description(description).register(r);
  }

  private void tierGauge(MeterRegistry r, String name, String unit, String description, Tags tags, String tier,
      ToDoubleFunction<TierStats> value) {
    Gauge.builder(name, this, b -> b.tier(tier).map(value::applyAsDouble).orElse(Double.NaN))
        .tags(tags).baseUnit(unit).description(description).register(r);
  }

  private void tierCounter(MeterRegistry r, String name, String unit, String description, Tags tags, String tier,
      ToDoubleFunction<TierStats> value) {
    FunctionCounter.builder(name, this, b -> b.tier(tier).map(value::applyAsDouble).orElse(0.0))
        .tags(tags).baseUnit(unit).description(description).register(r);
  }

  private java.util.Optional<StageStats> stage(String key) {
    return current().snapshot().stages().stream()
        .filter(s -> (s.direction() + "/" + s.index() + "/" + s.stage()).equals(key)).findFirst();
  }

  private java.util.Optional<TierStats> tier(String name) {
    return current().tiers().stream().filter(t -> t.name().equals(name)).findFirst();
  }

  private static java.util.Optional<LatencyStats> latency(View v, String operation) {
    return v.snapshot().latencies().stream().filter(l -> l.operation().equals(operation)).findFirst();
  }

  private static double latencySeconds(View v, String operation, double q) {
    return latency(v, operation).map(l -> micros(l, q) / 1e6).orElse(Double.NaN);
  }

  private static double micros(LatencyStats l, double q) {
    return switch (String.format(Locale.ROOT, "%.3f", q)) {
      case "0.500" -> l.p50Micros();
      case "0.900" -> l.p90Micros();
      case "0.990" -> l.p99Micros();
      case "0.999" -> l.p999Micros();
      default -> l.maxMicros();
    };
  }
}
