package io.dharmana.report;

import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.metrics.StageStats;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Which stage or step limits one path (write = {@code encode}, read = {@code decode}) of a
 * recorded run, with the numbers, and what the measured figures say would change without it.
 *
 * <p>Times are what the recorder measured in each stage and step, summed over the threads that
 * ran them (the runtime encodes, hashes and writes chunks in parallel, so the sum can exceed the
 * run's wall time); a share is a stage's part of that sum. The limiting entry is, when a demand
 * is given, the slowest one whose throughput is below it, and otherwise the one with the largest
 * share. Nothing here is estimated beyond the recorded figures: removing a stage saves its time
 * and loses at most its size reduction; other settings are compared only where the history holds
 * runs of other pipelines over the same number of logical bytes.
 *
 * @param pipeline the run's pipeline
 * @param operation the run's operation, e.g. {@code put data/a}
 * @param direction {@code encode} (write path) or {@code decode} (read path)
 * @param shares every stage and step of the path, largest share first
 * @param limiting the entry that limits the path
 * @param totalSeconds the sum of the shares' times
 * @param demandBytesPerSecond the rate the computation needs on this path, 0 when unknown
 * @param verdict one sentence naming the limiting entry with its numbers
 * @param whatIf what the figures say would change without it
 * @param alternatives runs of other pipelines over the same bytes, compared with this one
 */
public record Bottleneck(
    String pipeline,
    String operation,
    String direction,
    List<Share> shares,
    Share limiting,
    double totalSeconds,
    double demandBytesPerSecond,
    String verdict,
    String whatIf,
    List<String> alternatives) {

  public Bottleneck {
    shares = List.copyOf(shares);
    alternatives = List.copyOf(alternatives);
  }

  /**
   * One stage or step's part of a path.
   *
   * @param name the stage or step name
   * @param stage true for what codes the bytes ({@link StageStats#codes}: a pipeline stage, or the
   *     checkpoint path's float codec), false for a runtime step (chunking, hashing, store I/O)
   * @param seconds time spent, summed over threads
   * @param share seconds over the path's total
   * @param bytesIn bytes taken in
   * @param bytesOut bytes given out
   */
  public record Share(String name, boolean stage, int index, double seconds, double share, long bytesIn, long bytesOut) {
    /** Bytes in per second of time spent (per thread). */
    public double throughputBytesPerSecond() {
      return seconds == 0 ? Double.POSITIVE_INFINITY : bytesIn / seconds;
    }

    /** Bytes in over bytes out: for an encoding stage, its compression ratio. */
    public double ratio() {
      return bytesOut == 0 ? 1 : (double) bytesIn / bytesOut;
    }
  }

  /** Human names of the two paths. */
  public String path() {
    return direction.equals("decode") ? "read" : "write";
  }

  /**
   * The analyses of both paths the run recorded (write first); a path with no recorded time is
   * left out.
   *
   * @param demand the rates the computation needs, or {@link Demand#NONE}
   * @param history other runs, for comparing pipelines over the same bytes (may be empty)
   */
  public static List<Bottleneck> analyze(MetricsSnapshot run, Demand demand, List<MetricsSnapshot> history) {
    List<Bottleneck> result = new ArrayList<>();
    of(run, "encode", demand.writeBytesPerSecond(), history).ifPresent(result::add);
    of(run, "decode", demand.readBytesPerSecond(), history).ifPresent(result::add);
    return result;
  }

  /** The analysis of one path of a run; empty when the run recorded no time on it. */
  public static Optional<Bottleneck> of(MetricsSnapshot run, String direction, double demandBytesPerSecond,
      List<MetricsSnapshot> history) {
    if (!direction.equals("encode") && !direction.equals("decode")) {
      throw new IllegalArgumentException("Invalid direction '" + direction + "': use encode or decode");
    }
    if (!(demandBytesPerSecond >= 0)) {
      throw new IllegalArgumentException("Invalid demand " + demandBytesPerSecond + " B/s: must be >= 0");
    }
    List<StageStats> path = run.stages().stream().filter(s -> s.direction().equals(direction)).toList();
    double total = path.stream().mapToLong(StageStats::nanos).sum() / 1e9;
    if (path.isEmpty() || total <= 0) {
      return Optional.empty();
    }
    List<Share> shares = new ArrayList<>();
    for (StageStats s : path) {
      shares.add(new Share(s.stage(), s.codes(), s.index(), s.seconds(), s.seconds() / total, s.bytesIn(), s.bytesOut()));
    }
    shares.sort(Comparator.comparingDouble(Share::share).reversed());

    Share limiting = shares.get(0);
    String verdict;
    String pathName = direction.equals("decode") ? "read" : "write";
    Optional<Share> belowDemand = demandBytesPerSecond <= 0 ? Optional.empty()
        : shares.stream().filter(s -> s.bytesIn() > 0 && s.throughputBytesPerSecond() < demandBytesPerSecond)
            .min(Comparator.comparingDouble(Share::throughputBytesPerSecond));
    if (belowDemand.isPresent()) {
      limiting = belowDemand.get();
      verdict = kind(limiting) + " " + limiting.name() + " runs at " + Figures.rate(limiting.throughputBytesPerSecond())
          + " per thread, below the " + Figures.rate(demandBytesPerSecond) + " the computation needs on the " + pathName
          + " path; it takes " + Figures.percent(limiting.share()) + " of " + pathName + " time ("
          + Figures.seconds(limiting.seconds()) + " of " + Figures.seconds(total) + ")";
    } else {
      verdict = kind(limiting) + " " + limiting.name() + " takes " + Figures.percent(limiting.share()) + " of " + pathName
          + " time (" + Figures.seconds(limiting.seconds()) + " of " + Figures.seconds(total) + ", "
          + Figures.rate(limiting.throughputBytesPerSecond()) + " per thread)";
      if (demandBytesPerSecond > 0) {
        verdict += "; every stage keeps up with the " + Figures.rate(demandBytesPerSecond) + " needed";
      }
    }
    String whatIf = whatIf(limiting, shares, total, pathName);
    List<String> alternatives = alternatives(run, direction, history);
    return Optional.of(new Bottleneck(run.pipeline(), run.operation(), direction, shares, limiting, total, demandBytesPerSecond, verdict, whatIf, alternatives));
  }

  private static String kind(Share s) {
    return s.stage() ? "Stage" : "Step";
  }

  private static String whatIf(Share limiting, List<Share> shares, double total, String pathName) {
    double rest = total - limiting.seconds();
    String faster = rest <= 0 ? "all of it" : pathName + " time " + Figures.times(total / rest) + " shorter ("
        + Figures.seconds(total) + " → " + Figures.seconds(rest) + ")";
    if (limiting.stage()) {
      long grows = limiting.bytesIn() - limiting.bytesOut();
      if (pathName.equals("write") && grows > 0) {
        return "Without " + limiting.name() + ": " + faster + ", but its " + Figures.ratio(limiting.ratio())
            + " would be lost: up to " + Figures.bytes(grows) + " more stored (its " + Figures.bytes(limiting.bytesOut())
            + " out would be " + Figures.bytes(limiting.bytesIn()) + ")";
      }
      return "Without " + limiting.name() + ": " + faster + "; it does not reduce the size on this path ("
          + Figures.bytes(limiting.bytesIn()) + " in, " + Figures.bytes(limiting.bytesOut()) + " out)";
    }
    double stages = shares.stream().filter(Share::stage).mapToDouble(Share::seconds).sum();
    String stageNote = " Pipeline stages take " + Figures.percent(stages / total) + " of " + pathName
        + " time: changing them can save at most that.";
    String name = limiting.name();
    if (name.startsWith("store-")) {
      return "The tier's I/O limits this path (" + Figures.bytes(limiting.bytesIn()) + " at "
          + Figures.rate(limiting.throughputBytesPerSecond()) + " per thread): a faster tier or more parallel I/O would"
          + " cut up to " + Figures.percent(limiting.share()) + " of it." + stageNote;
    }
    if (name.startsWith("sha256")) {
      return "Hashing (" + Figures.rate(limiting.throughputBytesPerSecond()) + " per thread) is what content addressing"
          + " and verification cost; it cannot be removed, only spread over more threads." + stageNote;
    }
    if (name.equals(io.dharmana.runtime.StorageRuntime.OUTPUT_WRITE)) {
      return "Writing the decoded bytes out (" + Figures.rate(limiting.throughputBytesPerSecond()) + ") limits this path: the "
          + "destination (a file system, a socket, a consumer) accepts them slower than they are read and decoded; a faster "
          + "destination would cut up to " + Figures.percent(limiting.share()) + " of it." + stageNote;
    }
    if (name.equals("chunking")) {
      return "Chunking (" + Figures.rate(limiting.throughputBytesPerSecond()) + ", the time includes reading the input) is"
          + " the one single-threaded part of the write path: a faster source, or several objects written at once, would"
          + " cut up to " + Figures.percent(limiting.share()) + " of it." + stageNote;
    }
    return "Without " + name + ": " + faster + "." + stageNote;
  }

  /** Runs of other pipelines over the same number of logical bytes, compared on this path. */
  private static List<String> alternatives(MetricsSnapshot run, String direction, List<MetricsSnapshot> history) {
    long logical = logicalBytes(run, direction);
    double seconds = pathSeconds(run, direction);
    List<String> result = new ArrayList<>();
    if (logical <= 0 || seconds <= 0) {
      return result;
    }
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = history.size() - 1; i >= 0; i--) {
      MetricsSnapshot other = history.get(i);
      if (other.pipeline().equals(run.pipeline()) || logicalBytes(other, direction) != logical || !seen.add(other.pipeline())) {
        continue;
      }
      double otherSeconds = pathSeconds(other, direction);
      if (otherSeconds <= 0) {
        continue;
      }
      String line = "pipeline " + other.pipeline() + " on the same " + Figures.bytes(logical) + ": "
          + (direction.equals("decode") ? "read" : "write") + " time " + Figures.seconds(otherSeconds) + " vs "
          + Figures.seconds(seconds) + " here (" + (otherSeconds <= seconds ? Figures.times(seconds / otherSeconds) + " faster"
              : Figures.times(otherSeconds / seconds) + " slower") + ")";
      long stored = run.counter(PipelineMetrics.STORED_BYTES);
      long otherStored = other.counter(PipelineMetrics.STORED_BYTES);
      if (direction.equals("encode") && stored > 0 && otherStored > 0) {
        double change = (double) otherStored / stored - 1;
        line += ", stored " + Figures.bytes(otherStored) + " vs " + Figures.bytes(stored) + " ("
            + (change >= 0 ? "+" : "") + Figures.percent1(change) + ")";
      }
      result.add(line);
    }
    return result;
  }

  private static long logicalBytes(MetricsSnapshot run, String direction) {
    return direction.equals("decode") ? run.counter(PipelineMetrics.READ_BYTES) : run.counter(PipelineMetrics.LOGICAL_BYTES);
  }

  private static double pathSeconds(MetricsSnapshot run, String direction) {
    return run.stages().stream().filter(s -> s.direction().equals(direction)).mapToLong(StageStats::nanos).sum() / 1e9;
  }

  /**
   * The rates a computation needs from storage, 0 where unknown.
   *
   * @param readBytesPerSecond what feeding the accelerators takes
   * @param writeBytesPerSecond what saving checkpoints takes
   */
  public record Demand(double readBytesPerSecond, double writeBytesPerSecond) {
    public static final Demand NONE = new Demand(0, 0);

    public Demand {
      if (!(readBytesPerSecond >= 0) || !(writeBytesPerSecond >= 0)) {
        throw new IllegalArgumentException("Invalid demand: read " + readBytesPerSecond + " B/s, write "
            + writeBytesPerSecond + " B/s; both must be >= 0");
      }
    }

    /**
     * What {@code computation} needs: its read bandwidth and its asynchronous checkpoint write
     * rate, as {@link io.dharmana.cost.Planner} derives them.
     */
    public static Demand of(io.dharmana.descriptor.ComputationDescriptor computation) {
      var plan = io.dharmana.cost.Planner.plan(computation);
      return new Demand(
          plan.figure(io.dharmana.cost.StoragePlan.READ_BANDWIDTH).map(f -> f.value()).orElse(0.0),
          plan.figure(io.dharmana.cost.StoragePlan.CHECKPOINT_WRITE_ASYNC).map(f -> f.value()).orElse(0.0));
    }
  }
}
