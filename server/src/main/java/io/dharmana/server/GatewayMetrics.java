package io.dharmana.server;

import io.dharmana.report.Contention;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
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
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

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
  private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
  private final Counter packsMerged = Counter.builder("dharmana.gateway.packs.merged")
      .description("Small packs (one per small commit) merged into larger ones in the background").register(registry);

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
    /** Every read and write latency since start, in microseconds: intervals are differences of two copies. */
    final Recorder readMicros = new Recorder(3);
    final Recorder writeMicros = new Recorder(3);
    private final Histogram readTotal = new Histogram(3);
    private final Histogram writeTotal = new Histogram(3);

    /** The cumulative figures now; see {@link Totals#since}. */
    synchronized Totals totals(long nanos) {
      readTotal.add(readMicros.getIntervalHistogram());
      writeTotal.add(writeMicros.getIntervalHistogram());
      return new Totals(bucket, pipeline, nanos, bytesIn.sum(), bytesOut.sum(), readTotal.copy(), writeTotal.copy());
    }

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

  /** Counts small packs the gateway merged in the background. */
  void packsMerged(int packs) {
    if (packs > 0) {
      packsMerged.increment(packs);
    }
  }

  /** Publishes a pipeline's read-ahead figures ({@link ReadAhead}), read at scrape time. */
  void readAhead(String pipeline, ReadAhead.Stats stats) {
    readAheadCounter("hits", "Ranged GETs served from memory read ahead", pipeline, stats, s -> s.hits.sum(), null);
    readAheadCounter("misses", "Ranged GETs that continued a sequence but were read from the pipeline (not read ahead yet)",
        pipeline, stats, s -> s.misses.sum(), null);
    readAheadCounter("fallbacks", "Ranged GETs whose read-ahead failed, read from the pipeline instead", pipeline, stats,
        s -> s.fallbacks.sum(), null);
    readAheadCounter("served", "Bytes served from memory read ahead", pipeline, stats, s -> s.servedBytes.sum(), "bytes");
    readAheadCounter("read", "Bytes read ahead in the background", pipeline, stats, s -> s.readBytes.sum(), "bytes");
    readAheadCounter("wasted", "Bytes read ahead and dropped before a reader asked for them", pipeline, stats,
        s -> s.wastedBytes.sum(), "bytes");
    Gauge.builder("dharmana.gateway.readahead.held", stats, s -> s.heldBytes).description("Memory held for read-ahead now")
        .tag("pipeline", pipeline).baseUnit("bytes").register(registry);
    Gauge.builder("dharmana.gateway.readahead.peak", stats, s -> s.peakHeldBytes)
        .description("The most memory held for read-ahead at once since start").tag("pipeline", pipeline).baseUnit("bytes")
        .register(registry);
  }

  private void readAheadCounter(String name, String description, String pipeline, ReadAhead.Stats stats,
      java.util.function.ToDoubleFunction<ReadAhead.Stats> value, String unit) {
    FunctionCounter.builder("dharmana.gateway.readahead." + name, stats, value).description(description)
        .tag("pipeline", pipeline).baseUnit(unit).register(registry);
  }

  /** Counts a request that started; {@link #request} ends it. */
  void started() {
    inFlight.incrementAndGet();
  }

  /** Requests started and not yet recorded. */
  int inFlight() {
    return inFlight.get();
  }

  /** Records one finished request (one {@link #started} before). {@code bucket} may be null (ListBuckets, errors before routing). */
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
    try {
      recordBucket(operation, bucket, pipeline, status, nanos, bytesIn, bytesOut);
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private void recordBucket(String operation, String bucket, String pipeline, int status, long nanos, long bytesIn, long bytesOut) {
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
          s.readMicros.recordValue(Math.max(1, nanos / 1000));
        } else if (operation.equals("PutObject") || operation.equals("UploadPart")) {
          s.putLatency.record(nanos, TimeUnit.NANOSECONDS);
          s.writeMicros.recordValue(Math.max(1, nanos / 1000));
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

  /**
   * Cumulative figures of one bucket at one instant: what a bucket did over an interval is the
   * difference of two ({@link #since}).
   *
   * @param nanos when, on the {@link System#nanoTime()} clock
   */
  record Totals(String bucket, String pipeline, long nanos, long bytesIn, long bytesOut, Histogram readMicros,
      Histogram writeMicros) {

    /**
     * What the bucket did between {@code earlier} and this, as the pipeline's load: both
     * directions' bytes, and the latency of the direction that carried more of them (a write
     * pipeline is judged by its writes, a read pipeline by its reads). Empty when the interval
     * saw no request.
     */
    Optional<Contention.Load> since(Totals earlier) {
      Histogram reads = readMicros.copy();
      Histogram writes = writeMicros.copy();
      reads.subtract(earlier.readMicros);
      writes.subtract(earlier.writeMicros);
      long in = bytesIn - earlier.bytesIn;
      long out = bytesOut - earlier.bytesOut;
      Histogram main = in > out || reads.getTotalCount() == 0 ? writes : reads;
      double seconds = (nanos - earlier.nanos) / 1e9;
      if (main.getTotalCount() == 0 || seconds <= 0) {
        return Optional.empty();
      }
      return Optional.of(new Contention.Load(pipeline, bucket, reads.getTotalCount() + writes.getTotalCount(), in + out,
          seconds, main.getValueAtPercentile(50) / 1e3, main.getValueAtPercentile(99) / 1e3));
    }
  }

  /** Figures of a bucket that has served nothing yet, for differences against a bucket new since. */
  static Totals none(String bucket, String pipeline, long nanos) {
    return new Totals(bucket, pipeline, nanos, 0, 0, new Histogram(3), new Histogram(3));
  }

  /** Cumulative figures of every bucket that served a request, by bucket name. */
  Map<String, Totals> totals() {
    long now = System.nanoTime();
    Map<String, Totals> result = new TreeMap<>();
    for (BucketStats s : buckets.values()) {
      result.put(s.bucket, s.totals(now));
    }
    return result;
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
      // every read since start, for clients that want an exact interval (the difference of two)
      row.put("readMicrosSinceStart", encode(s.totals(System.nanoTime()).readMicros()));
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

  /** A histogram as HdrHistogram's compressed form in base64 ({@code Histogram.decodeFromCompressedByteBuffer}). */
  static String encode(Histogram h) {
    java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(buf);
    return java.util.Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buf.array(), n));
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
