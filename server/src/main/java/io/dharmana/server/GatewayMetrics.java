package io.dharmana.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Records every request per bucket and pipeline (count, latency, bytes in and out, logical and
 * stored bytes written) into a Micrometer registry scraped at {@code /metrics}, and keeps the
 * per-bucket totals the dashboard shows.
 */
final class GatewayMetrics {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ConcurrentHashMap<String, BucketStats> buckets = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();
  private final long startNanos = System.nanoTime();

  GatewayMetrics(ObjectBackend backend) {
    if (backend instanceof SupportsTierUsage tiers) {
      // gauges are read at scrape time; register one per tier seen at start
      for (String tier : tiers.bytesByTier().keySet()) {
        Gauge.builder("dharmana.tier.stored.bytes", tiers, t -> t.bytesByTier().getOrDefault(tier, 0L))
            .tag("tier", tier).baseUnit("bytes").register(registry);
      }
    }
  }

  /** Per-bucket totals for the dashboard. */
  static final class BucketStats {
    final String bucket;
    final String pipeline;
    final LongAdder requests = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder bytesIn = new LongAdder();
    final LongAdder bytesOut = new LongAdder();
    final LongAdder logicalWritten = new LongAdder();
    final LongAdder storedWritten = new LongAdder();
    final LongAdder objectsWritten = new LongAdder();
    Timer getLatency;
    Timer putLatency;

    BucketStats(String bucket, String pipeline) {
      this.bucket = bucket;
      this.pipeline = pipeline;
    }
  }

  private BucketStats stats(String bucket, String pipeline) {
    return buckets.computeIfAbsent(bucket, b -> {
      BucketStats s = new BucketStats(b, pipeline);
      s.getLatency = Timer.builder("dharmana.gateway.latency").tag("bucket", b).tag("pipeline", pipeline).tag("kind", "read")
          .publishPercentiles(0.5, 0.99).distributionStatisticExpiry(Duration.ofMinutes(1)).register(registry);
      s.putLatency = Timer.builder("dharmana.gateway.latency").tag("bucket", b).tag("pipeline", pipeline).tag("kind", "write")
          .publishPercentiles(0.5, 0.99).distributionStatisticExpiry(Duration.ofMinutes(1)).register(registry);
      return s;
    });
  }

  /** Records one finished request. {@code bucket} may be null (ListBuckets, errors before routing). */
  void request(String operation, String bucket, String pipeline, int status, long nanos, long bytesIn, long bytesOut) {
    String b = bucket == null ? "-" : bucket;
    String p = pipeline == null ? "-" : pipeline;
    String statusClass = (status / 100) + "xx";
    timers.computeIfAbsent(operation + '\0' + b + '\0' + p + '\0' + statusClass, k ->
        Timer.builder("dharmana.gateway.requests").description("S3 requests served by the gateway")
            .tag("operation", operation).tag("bucket", b).tag("pipeline", p).tag("status", statusClass)
            .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    if (bytesIn > 0) {
      counter("dharmana.gateway.bytes.in", b, p).increment(bytesIn);
    }
    if (bytesOut > 0) {
      counter("dharmana.gateway.bytes.out", b, p).increment(bytesOut);
    }
    if (bucket != null && pipeline != null) {
      BucketStats s = stats(bucket, pipeline);
      s.requests.increment();
      if (status >= 400 && status != 404 && status != 304 && status != 412) {
        s.errors.increment();
      }
      s.bytesIn.add(bytesIn);
      s.bytesOut.add(bytesOut);
      if (status < 300) {
        if (operation.equals("GetObject") || operation.equals("HeadObject")) {
          s.getLatency.record(nanos, TimeUnit.NANOSECONDS);
        } else if (operation.equals("PutObject") || operation.equals("UploadPart")) {
          s.putLatency.record(nanos, TimeUnit.NANOSECONDS);
        }
      }
    }
  }

  /** Records an object the pipeline stored: its logical size and what it added to storage. */
  void stored(String bucket, String pipeline, long logicalBytes, long storedBytes) {
    BucketStats s = stats(bucket, pipeline);
    s.objectsWritten.increment();
    s.logicalWritten.add(logicalBytes);
    s.storedWritten.add(storedBytes);
    counter("dharmana.pipeline.logical.bytes", bucket, pipeline).increment(logicalBytes);
    counter("dharmana.pipeline.stored.bytes", bucket, pipeline).increment(storedBytes);
  }

  private Counter counter(String name, String bucket, String pipeline) {
    return counters.computeIfAbsent(name + '\0' + bucket + '\0' + pipeline, k ->
        Counter.builder(name).baseUnit("bytes").tag("bucket", bucket).tag("pipeline", pipeline).register(registry));
  }

  String scrape() {
    return registry.scrape();
  }

  /** A snapshot for the dashboard, as plain maps (rendered to JSON by the caller). */
  Map<String, Object> snapshot(ObjectBackend backend) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("uptimeSeconds", (System.nanoTime() - startNanos) / 1e9);
    List<Map<String, Object>> rows = new ArrayList<>();
    for (BucketStats s : new TreeMap<>(buckets).values()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("bucket", s.bucket);
      row.put("pipeline", s.pipeline);
      row.put("requests", s.requests.sum());
      row.put("errors", s.errors.sum());
      row.put("bytesIn", s.bytesIn.sum());
      row.put("bytesOut", s.bytesOut.sum());
      row.put("objectsWritten", s.objectsWritten.sum());
      long logical = s.logicalWritten.sum();
      long stored = s.storedWritten.sum();
      row.put("logicalWritten", logical);
      row.put("storedWritten", stored);
      row.put("ratio", stored == 0 ? null : (double) logical / stored);
      row.put("readP50Ms", percentile(s.getLatency, 0.5));
      row.put("readP99Ms", percentile(s.getLatency, 0.99));
      row.put("writeP50Ms", percentile(s.putLatency, 0.5));
      row.put("writeP99Ms", percentile(s.putLatency, 0.99));
      rows.add(row);
    }
    root.put("buckets", rows);
    if (backend instanceof SupportsTierUsage tiers) {
      root.put("tiers", new TreeMap<>(tiers.bytesByTier()));
    } else {
      root.put("tiers", Map.of());
    }
    return root;
  }

  private static Double percentile(Timer timer, double p) {
    HistogramSnapshot snap = timer.takeSnapshot();
    for (ValueAtPercentile v : snap.percentileValues()) {
      if (v.percentile() == p) {
        return v.value(TimeUnit.NANOSECONDS) / 1e6;
      }
    }
    return null;
  }
}
