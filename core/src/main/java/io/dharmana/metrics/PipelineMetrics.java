package io.dharmana.metrics;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageListener;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Records what a pipeline does: stage bytes and time (as the chain's {@link StageListener}),
 * operation latencies (HdrHistogram), and named counters. Recording is lock-free and cheap
 * enough to stay on in production; {@link #snapshot} gives an immutable {@link MetricsSnapshot}.
 * Thread-safe.
 */
public class PipelineMetrics implements StageListener {
  /** Counter names used by the storage runtime. */
  public static final String LOGICAL_BYTES = "bytes.logical";
  public static final String STORED_BYTES = "bytes.stored";
  public static final String NEW_STORED_BYTES = "bytes.stored.new";
  public static final String CHUNKS = "chunks";
  public static final String NEW_CHUNKS = "chunks.new";
  public static final String DEDUP_CHUNKS = "chunks.dedup";
  /** Bytes handed to readers: what gets and opens returned. */
  public static final String READ_BYTES = "bytes.read";

  private final String pipeline;
  private final Clock clock;
  private final Instant start;
  private final Map<String, StageCounter> stages = new ConcurrentHashMap<>();
  private final Map<String, Recorder> latencies = new ConcurrentHashMap<>();
  private final Map<String, Histogram> latencyTotals = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();

  public PipelineMetrics(String pipeline) {
    this(pipeline, Clock.systemUTC());
  }

  public PipelineMetrics(String pipeline, Clock clock) {
    this.pipeline = pipeline;
    this.clock = clock;
    this.start = clock.instant();
  }

  /** A recorder that records nothing, for measuring the cost of metrics. */
  public static PipelineMetrics disabled(String pipeline) {
    return new Disabled(pipeline);
  }

  public String pipeline() {
    return pipeline;
  }

  @Override
  public void encoded(int index, Stage stage, long bytesIn, long bytesOut, long nanos) {
    stage(index, stage.name(), "encode").add(bytesIn, bytesOut, nanos);
  }

  @Override
  public void decoded(int index, Stage stage, long bytesIn, long bytesOut, long nanos) {
    stage(index, stage.name(), "decode").add(bytesIn, bytesOut, nanos);
  }

  /** Records time spent in a named step that is not a stage (chunking, hashing, store I/O). */
  public void step(String name, String direction, long bytesIn, long bytesOut, long nanos) {
    stage(-1, name, direction).add(bytesIn, bytesOut, nanos);
  }

  private StageCounter stage(int index, String name, String direction) {
    return stages.computeIfAbsent(direction + "/" + index + "/" + name, k -> new StageCounter(index, name, direction));
  }

  public void latency(String operation, long nanos) {
    latencies.computeIfAbsent(operation, k -> new Recorder(3)).recordValue(Math.max(1, nanos / 1000));
  }

  public void add(String counter, long delta) {
    counters.computeIfAbsent(counter, k -> new LongAdder()).add(delta);
  }

  /**
   * A snapshot of everything recorded since creation.
   *
   * @param operation what the snapshot covers, in the words {@code dharmana stat} shows beside it
   *     (e.g. {@code "put weights/model.bin"}); a label, not a filter
   */
  public synchronized MetricsSnapshot snapshot(String operation) {
    List<StageStats> stageStats = new ArrayList<>();
    for (StageCounter c : new TreeMap<>(stages).values()) {
      stageStats.add(c.stats());
    }
    List<LatencyStats> latencyStats = new ArrayList<>();
    for (Map.Entry<String, Recorder> e : new TreeMap<>(latencies).entrySet()) {
      Histogram total = latencyTotals.computeIfAbsent(e.getKey(), k -> new Histogram(3));
      total.add(e.getValue().getIntervalHistogram());
      latencyStats.add(new LatencyStats(e.getKey(), total.getTotalCount(), total.getMean(),
          total.getValueAtPercentile(50), total.getValueAtPercentile(90), total.getValueAtPercentile(99),
          total.getValueAtPercentile(99.9), total.getMaxValue()));
    }
    Map<String, Long> counterValues = new TreeMap<>();
    counters.forEach((k, v) -> counterValues.put(k, v.sum()));
    return new MetricsSnapshot(pipeline, operation, start, clock.instant(), stageStats, latencyStats, counterValues);
  }

  /** Nanoseconds, for timing a step; one place so a test could substitute it. */
  public static long now() {
    return System.nanoTime();
  }

  static long micros(long nanos) {
    return TimeUnit.NANOSECONDS.toMicros(nanos);
  }

  private static final class StageCounter {
    final int index;
    final String name;
    final String direction;
    final LongAdder calls = new LongAdder();
    final LongAdder in = new LongAdder();
    final LongAdder out = new LongAdder();
    final LongAdder nanos = new LongAdder();

    StageCounter(int index, String name, String direction) {
      this.index = index;
      this.name = name;
      this.direction = direction;
    }

    void add(long bytesIn, long bytesOut, long time) {
      calls.increment();
      in.add(bytesIn);
      out.add(bytesOut);
      nanos.add(time);
    }

    StageStats stats() {
      return new StageStats(index, name, direction, calls.sum(), in.sum(), out.sum(), nanos.sum());
    }
  }

  private static final class Disabled extends PipelineMetrics {
    Disabled(String pipeline) {
      super(pipeline);
    }

    @Override
    public void encoded(int index, Stage stage, long bytesIn, long bytesOut, long nanos) {}

    @Override
    public void decoded(int index, Stage stage, long bytesIn, long bytesOut, long nanos) {}

    @Override
    public void step(String name, String direction, long bytesIn, long bytesOut, long nanos) {}

    @Override
    public void latency(String operation, long nanos) {}

    @Override
    public void add(String counter, long delta) {}
  }
}
