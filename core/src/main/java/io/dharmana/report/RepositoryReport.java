package io.dharmana.report;

import io.dharmana.NotFoundException;
import io.dharmana.cost.PriceTable;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.metrics.LatencyStats;
import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.metrics.Timestamps;
import io.dharmana.repo.Repository;
import io.dharmana.repo.RepositoryStats;
import io.dharmana.store.TierStats;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Everything a report shows about a repository, gathered once: what it holds, what that costs,
 * the runs recorded in its metrics history, the run(s) analyzed and their bottlenecks. Rendered as
 * a self-contained HTML page ({@link #toHtml()}, see {@link HtmlReport}) or as a terminal summary
 * with the same figures ({@link #toText()}).
 *
 * @param repository the repository directory
 * @param generated when the report was made
 * @param pipelines the repository's pipelines
 * @param tierSpecs the repository's tiers as described
 * @param stats what the repository holds
 * @param cost its monthly cost
 * @param history every recorded run, oldest first
 * @param runs the runs analyzed: by default, per pipeline, the latest that wrote and the latest
 *     that read (one run when it did both); with a run name, the latest run matching it
 * @param bottlenecks the analyses of the runs' paths, in the order of {@code runs}
 */
public record RepositoryReport(
    String repository,
    Instant generated,
    List<PipelineDescriptor> pipelines,
    List<TierSpec> tierSpecs,
    RepositoryStats stats,
    RepositoryCost cost,
    List<MetricsSnapshot> history,
    List<MetricsSnapshot> runs,
    List<Bottleneck> bottlenecks) {

  /** Counters an accelerator emulation records per run; utilization = compute / (compute + wait). */
  public static final String ACCELERATOR_COMPUTE_NANOS = "accelerator.compute.nanos";
  public static final String ACCELERATOR_WAIT_NANOS = "accelerator.wait.nanos";

  public RepositoryReport {
    pipelines = List.copyOf(pipelines);
    tierSpecs = List.copyOf(tierSpecs);
    history = List.copyOf(history);
    runs = List.copyOf(runs);
    bottlenecks = List.copyOf(bottlenecks);
  }

  /**
   * Gathers the report of {@code repo}.
   *
   * @param run a recorded run to analyze: matched against each run's operation (equal or a prefix,
   *     e.g. {@code put data/}) or pipeline name, the latest match wins; null for the latest runs
   * @throws NotFoundException if {@code run} matches no recorded run
   */
  public static RepositoryReport of(Repository repo, String run, PriceTable prices, Bottleneck.Demand demand) {
    RepositoryStats stats = repo.stats();
    RepositoryCost cost = RepositoryCost.of(repo, prices, stats);
    List<MetricsSnapshot> history = repo.history().read();
    List<MetricsSnapshot> runs = select(history, run);
    List<Bottleneck> bottlenecks = new ArrayList<>();
    for (MetricsSnapshot r : runs) {
      bottlenecks.addAll(Bottleneck.analyze(r, demand, history));
    }
    List<PipelineDescriptor> pipelines = new ArrayList<>();
    for (String name : repo.pipelines()) {
      repo.pipeline(name).ifPresent(pipelines::add);
    }
    return new RepositoryReport(repo.root().toAbsolutePath().toString(), Instant.now(), pipelines,
        repo.descriptor().storage().tiers(), stats, cost, history, runs, bottlenecks);
  }

  static List<MetricsSnapshot> select(List<MetricsSnapshot> history, String run) {
    if (run != null) {
      for (int i = history.size() - 1; i >= 0; i--) {
        MetricsSnapshot s = history.get(i);
        if (s.operation().equals(run) || s.operation().startsWith(run) || s.pipeline().equals(run)) {
          return List.of(s);
        }
      }
      throw new NotFoundException("Cannot report run '" + run + "': no recorded run has that operation or pipeline; "
          + "recorded: " + history.stream().map(s -> s.operation() + " [" + s.pipeline() + "]").distinct().limit(10).toList());
    }
    // per pipeline, the latest run that wrote and the latest that read (one run when it did both)
    List<MetricsSnapshot> runs = new ArrayList<>();
    for (String pipeline : history.stream().map(MetricsSnapshot::pipeline).distinct().toList()) {
      List<MetricsSnapshot> own = history.stream().filter(s -> s.pipeline().equals(pipeline)).toList();
      Optional<MetricsSnapshot> write = latest(own, "encode");
      Optional<MetricsSnapshot> read = latest(own, "decode");
      write.ifPresent(runs::add);
      read.filter(r -> write.isEmpty() || r != write.get()).ifPresent(runs::add);
    }
    return runs;
  }

  private static Optional<MetricsSnapshot> latest(List<MetricsSnapshot> history, String direction) {
    for (int i = history.size() - 1; i >= 0; i--) {
      MetricsSnapshot s = history.get(i);
      if (s.stages().stream().anyMatch(x -> x.direction().equals(direction) && x.nanos() > 0)) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }

  /** One point of accelerator utilization: a run's end and compute / (compute + wait). */
  public record UtilizationPoint(Instant at, String operation, double utilization) {}

  /** Accelerator utilization of every recorded run that measured it, oldest first. */
  public List<UtilizationPoint> utilization() {
    List<UtilizationPoint> points = new ArrayList<>();
    for (MetricsSnapshot s : history) {
      long compute = s.counter(ACCELERATOR_COMPUTE_NANOS);
      long wait = s.counter(ACCELERATOR_WAIT_NANOS);
      if (compute + wait > 0) {
        points.add(new UtilizationPoint(s.end(), s.operation(), (double) compute / (compute + wait)));
      }
    }
    return points;
  }

  /**
   * Accelerator utilization over every recorded run that measured it: total compute over total
   * compute + wait; NaN when none did.
   */
  public double overallUtilization() {
    long compute = 0;
    long wait = 0;
    for (MetricsSnapshot s : history) {
      compute += s.counter(ACCELERATOR_COMPUTE_NANOS);
      wait += s.counter(ACCELERATOR_WAIT_NANOS);
    }
    return compute + wait == 0 ? Double.NaN : (double) compute / (compute + wait);
  }

  /** The latency percentiles of the analyzed runs (each operation once, from the latest run holding it). */
  public List<LatencyStats> latencies() {
    List<LatencyStats> result = new ArrayList<>();
    for (MetricsSnapshot r : runs) {
      for (LatencyStats l : r.latencies()) {
        if (result.stream().noneMatch(x -> x.operation().equals(l.operation()))) {
          result.add(l);
        }
      }
    }
    return result;
  }

  /** The page: one self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched). */
  public String toHtml() {
    return HtmlReport.render(this);
  }

  /** The terminal summary, with the figures of the page. */
  public String toText() {
    StringBuilder out = new StringBuilder();
    out.append("repository   ").append(repository).append('\n');
    // a checkpoint's tensors are unnamed objects: its steps are counted beside the named objects
    long steps = cost.checkpointSteps();
    out.append(String.format(Locale.ROOT, "holds        %s%s, %s logical, %s stored (%s; dedup among named objects saved %s)%n",
        Figures.count(stats.objects(), "object"), steps == 0 ? "" : " and " + Figures.count(steps, "checkpoint step"),
        Figures.bytes(cost.logicalBytes()), Figures.bytes(cost.storedBytes()),
        Figures.ratio(cost.ratio()), Figures.bytes(stats.dedupSavedBytes())));
    out.append(String.format(Locale.ROOT, "bytes        %s%n", cost.savedBytesText()));
    out.append(String.format(Locale.ROOT, "cost         %s/month vs %s/month raw on %s (%s)%n", Figures.usd(cost.monthly()),
        Figures.usd(cost.rawMonthly()), cost.tiers().raw().priceClass(), cost.savedCostText()));
    out.append("tiers\n");
    for (TierStats t : stats.tiers()) {
      out.append(String.format(Locale.ROOT, "  %-12s %12s in %6d %s", t.name(), Figures.bytes(t.bytesHeld()), t.objects(),
          Figures.objects(t.objects()).trim()));
      // the counters are the reporting process's own work (a demo's run, a gateway's): a report
      // run on its own has none to show
      if (t.hits() + t.misses() + t.promotions() + t.demotions() > 0) {
        out.append(String.format(Locale.ROOT, "; hit rate %s (%d hit%s, %d miss%s); promoted %d, demoted %d",
            // no read tried the tier: no rate, as the HTML page shows it
            t.hits() + t.misses() == 0 ? "-" : Figures.percent(t.hitRate()), t.hits(), t.hits() == 1 ? "" : "s",
            t.misses(), t.misses() == 1 ? "" : "es", t.promotions(), t.demotions()));
      }
      out.append('\n');
    }
    List<UtilizationPoint> util = utilization();
    if (!util.isEmpty()) {
      out.append(String.format(Locale.ROOT, "accelerator  utilization %s over %d recorded runs (latest %s)%n",
          Figures.percent1(overallUtilization()), util.size(), Figures.percent1(util.get(util.size() - 1).utilization())));
    }
    for (MetricsSnapshot r : runs) {
      out.append(String.format(Locale.ROOT, "run          %s [%s] at %s, %s%n", r.operation(), r.pipeline(), Timestamps.toSecond(r.end()),
          Figures.seconds(r.seconds())));
    }
    for (Bottleneck b : bottlenecks) {
      out.append(b.path()).append(" path of ").append(b.operation()).append(" [").append(b.pipeline()).append("]\n");
      for (Bottleneck.Share s : b.shares()) {
        out.append(String.format(Locale.ROOT, "  %-18s %5s  %10s  %12s -> %12s  %11s  %s%n", s.name(), Figures.percent(s.share()),
            Figures.seconds(s.seconds()), Figures.bytes(s.bytesIn()), Figures.bytes(s.bytesOut()),
            Figures.rate(s.throughputBytesPerSecond()), Figures.ratio(HtmlReport.sizeRatio(s.bytesIn(), s.bytesOut(), b.direction()))));
      }
      out.append("  bottleneck: ").append(b.verdict()).append('\n');
      out.append("  what if:    ").append(b.whatIf()).append('\n');
      for (String a : b.alternatives()) {
        out.append("  compared:   ").append(a).append('\n');
      }
    }
    for (LatencyStats l : latencies()) {
      out.append(String.format(Locale.ROOT, "latency      %-12s n=%d  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s%n", l.operation(),
          l.count(), Figures.micros(l.p50Micros()), Figures.micros(l.p90Micros()), Figures.micros(l.p99Micros()),
          Figures.micros(l.p999Micros()), Figures.micros(l.maxMicros())));
    }
    if (runs.isEmpty()) {
      out.append("no recorded runs yet: 'dharmana put' and 'get' record them in metrics/history.jsonl\n");
    }
    return out.toString();
  }

  /** Logical bytes a run moved: written, or read when it wrote nothing. */
  static long moved(MetricsSnapshot s) {
    return Math.max(s.counter(PipelineMetrics.LOGICAL_BYTES), s.counter(PipelineMetrics.READ_BYTES));
  }
}
