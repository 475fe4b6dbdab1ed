package io.dharmana.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Which of several pipelines sharing one server suffers when they run together (the "IO
 * blender"): each pipeline's throughput and latency when it ran alone is compared with the same
 * figures while all ran at once, and the pipeline whose p99 latency grew by the largest factor is
 * named, with its numbers.
 *
 * <p>Latency is what a pipeline's users feel first (a training step waits on its slowest small
 * read), so the p99 factor decides; throughput lost is reported alongside. Nothing is estimated:
 * every figure is one the server measured.
 *
 * @param pipelines every pipeline measured in both runs, the one that suffers most first
 * @param suffering the pipeline whose p99 latency grew the most
 * @param verdict one sentence naming it with its numbers
 */
public record Contention(List<Impact> pipelines, Impact suffering, String verdict) {

  public Contention {
    pipelines = List.copyOf(pipelines);
    Objects.requireNonNull(suffering, "suffering");
    Objects.requireNonNull(verdict, "verdict");
  }

  /**
   * What one pipeline (a bucket bound to it, on a gateway) did over a run.
   *
   * @param pipeline the pipeline's name
   * @param bucket where its requests went (a label; may equal the pipeline)
   * @param operations requests completed
   * @param bytes bytes moved (in for writes, out for reads)
   * @param seconds the run's wall time
   * @param p50Millis median request latency
   * @param p99Millis 99th percentile request latency
   */
  public record Load(String pipeline, String bucket, long operations, long bytes, double seconds, double p50Millis,
      double p99Millis) {
    public Load {
      Objects.requireNonNull(pipeline, "pipeline");
      Objects.requireNonNull(bucket, "bucket");
      if (operations < 0 || bytes < 0) {
        throw new IllegalArgumentException("Invalid load of " + bucket + ": " + operations + " operations, " + bytes
            + " bytes; must be >= 0");
      }
      if (!(seconds > 0)) {
        throw new IllegalArgumentException("Invalid load of " + bucket + ": " + seconds + " s; must be > 0");
      }
      if (!(p50Millis >= 0) || !(p99Millis >= 0)) {
        throw new IllegalArgumentException("Invalid load of " + bucket + ": p50 " + p50Millis + " ms, p99 " + p99Millis
            + " ms; must be >= 0");
      }
    }

    public double bytesPerSecond() {
      return bytes / seconds;
    }

    public double operationsPerSecond() {
      return operations / seconds;
    }
  }

  /**
   * One pipeline alone and together with the others.
   *
   * @param latencyFactor p99 together over p99 alone (1 = unaffected)
   * @param throughputFactor bytes per second together over alone (1 = unaffected, below 1 = lost)
   */
  public record Impact(Load alone, Load together, double latencyFactor, double throughputFactor) {
    public String pipeline() {
      return together.pipeline();
    }

    public String bucket() {
      return together.bucket();
    }

    /** One line: the pipeline, its p99 and throughput alone and together. */
    public String describe() {
      return String.format(Locale.ROOT, "%s (bucket %s): p99 %.2f ms alone, %.2f ms together (x%.1f); %s alone, %s together (x%.2f)",
          pipeline(), bucket(), alone.p99Millis(), together.p99Millis(), latencyFactor,
          Figures.rate(alone.bytesPerSecond()), Figures.rate(together.bytesPerSecond()), throughputFactor);
    }
  }

  /**
   * Compares each pipeline's run alone with the run together; pipelines are matched by bucket.
   *
   * @throws IllegalArgumentException if no bucket was measured in both, or one was measured without
   *     any operation
   */
  public static Contention analyze(List<Load> alone, List<Load> together) {
    Map<String, Load> aloneByBucket = new HashMap<>();
    for (Load l : alone) {
      aloneByBucket.put(l.bucket(), l);
    }
    List<Impact> impacts = new ArrayList<>();
    for (Load t : together) {
      Load a = aloneByBucket.get(t.bucket());
      if (a == null) {
        continue;
      }
      if (a.operations() == 0 || t.operations() == 0) {
        throw new IllegalArgumentException("Invalid load of " + t.bucket() + ": " + a.operations() + " operations alone, "
            + t.operations() + " together; both must be > 0 to compare");
      }
      // a p99 below a microsecond is a clock artefact; comparing against it would give an absurd factor
      double latency = Math.max(t.p99Millis(), 1e-3) / Math.max(a.p99Millis(), 1e-3);
      double throughput = a.bytesPerSecond() == 0 ? 1 : t.bytesPerSecond() / a.bytesPerSecond();
      impacts.add(new Impact(a, t, latency, throughput));
    }
    if (impacts.isEmpty()) {
      throw new IllegalArgumentException("Invalid contention runs: no bucket measured both alone " + aloneByBucket.keySet()
          + " and together " + together.stream().map(Load::bucket).toList());
    }
    impacts.sort(Comparator.comparingDouble(Impact::latencyFactor).reversed());
    Impact worst = impacts.get(0);
    String verdict = String.format(Locale.ROOT,
        "Pipeline %s (bucket %s) suffers most when the pipelines share the server: its p99 latency grows x%.1f "
            + "(%.2f ms alone, %.2f ms together) and its throughput goes from %s to %s",
        worst.pipeline(), worst.bucket(), worst.latencyFactor(), worst.alone().p99Millis(), worst.together().p99Millis(),
        Figures.rate(worst.alone().bytesPerSecond()), Figures.rate(worst.together().bytesPerSecond()));
    if (impacts.size() > 1) {
      Impact next = impacts.get(1);
      verdict += String.format(Locale.ROOT, "; next is %s (p99 x%.1f)", next.pipeline(), next.latencyFactor());
    }
    return new Contention(impacts, worst, verdict);
  }
}
