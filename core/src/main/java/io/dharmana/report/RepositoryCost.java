package io.dharmana.report;

import io.dharmana.checkpoint.CheckpointInfo;
import io.dharmana.checkpoint.CheckpointManager;
import io.dharmana.checkpoint.CheckpointOptions;
import io.dharmana.cost.CostModel;
import io.dharmana.cost.CostReport;
import io.dharmana.cost.PriceTable;
import io.dharmana.cost.TierUsage;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.Repository;
import io.dharmana.repo.RepositoryStats;
import io.dharmana.store.TierStats;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The monthly cost of what a repository stores, from its real stored bytes: per tier (the bytes
 * each tier holds now, billed as the tier's price class or its kind's default), per pipeline, and
 * against keeping the same logical bytes raw on the price table's baseline class.
 *
 * <p>A pipeline's stored bytes are the distinct chunks its live objects reference; a chunk shared
 * by several pipelines is counted once, for the first pipeline (in {@link Repository#pipelines()}
 * order) that references it, so the pipelines' stored bytes add up to the repository's unique
 * stored bytes. A pipeline's monthly cost is its stored bytes at the tiers' blended price: their
 * total cost over the distinct bytes they hold, so that a byte two tiers hold costs both copies
 * and the pipelines' costs add up to the tiers' but for what no live object references
 * (manifests, garbage).
 *
 * @param tiers the tiers' cost and the raw comparison (requests and retrievals are not counted:
 *     the repository does not know next month's traffic)
 * @param pipelines per pipeline, in {@link Repository#pipelines()} order
 * @param stats the repository statistics the figures come from
 * @param logicalBytes what the repository represents as written: its objects' logical bytes, with
 *     the checkpoint tensors' replaced by the raw tensor bytes of every kept step (a tensor a later
 *     step reuses counts in each step, as a copy of each step would hold it)
 * @param storedBytes the distinct stored bytes behind {@code logicalBytes}: every chunk the live
 *     objects reference, once (the kept steps' delta bases included)
 */
public record RepositoryCost(CostReport tiers, List<PipelineCost> pipelines, RepositoryStats stats, long logicalBytes,
    long storedBytes) {

  public RepositoryCost {
    pipelines = List.copyOf(pipelines);
  }

  /**
   * One pipeline's share.
   *
   * @param objects its named objects
   * @param steps the checkpoint steps kept whose tensors it stores: the checkpoint pipeline holds
   *     them as unnamed objects, so its {@code objects} is 0 however many checkpoints it holds
   * @param monthly its stored bytes at the blended price, USD per month
   * @param rawMonthly its logical bytes on the baseline class, USD per month
   */
  public record PipelineCost(String pipeline, long objects, long steps, long logicalBytes, long storedBytes, double monthly,
      double rawMonthly) {
    public double savedFraction() {
      return rawMonthly == 0 ? 0 : 1 - monthly / rawMonthly;
    }
  }

  /** What {@code repo} costs per month at {@code prices}. */
  public static RepositoryCost of(Repository repo, PriceTable prices) {
    RepositoryStats stats = repo.stats();
    return of(repo, prices, stats);
  }

  /** As {@link #of(Repository, PriceTable)}, from statistics already taken. */
  public static RepositoryCost of(Repository repo, PriceTable prices, RepositoryStats stats) {
    long[] checkpoints = checkpointBytes(repo, true); // logical, stored, steps
    long logicalTotal = logicalBytes(stats, checkpoints[0]);
    long storedTotal = stats.uniqueStoredBytes();
    Map<String, TierSpec> specs = new LinkedHashMap<>();
    for (TierSpec t : repo.descriptor().storage().tiers()) {
      specs.put(t.name(), t);
    }
    List<TierUsage> usage = tierUsage(stats, specs, logicalTotal);
    CostReport tierCost = CostModel.of(prices).monthly(usage);
    // a byte several tiers hold (write-through, or written back and not yet demoted) is billed
    // in each: its price is what all its copies cost, so the pipelines' costs add up to the tiers'
    // from the tiers' indexes the stats' bytes held came from: listing the tiers again cost a pass
    // over every blob (on an unpacked S3 tier, requests) for a figure they already knew
    long distinct = repo.tiers().distinctBytesHeld(unlisted -> {});
    double perByte = distinct == 0 ? 0 : tierCost.total() / distinct;
    double rawPerByte = prices.baseline().storagePerGbMonth() / 1e9;

    Map<String, long[]> byPipeline = new LinkedHashMap<>();
    for (String p : repo.pipelines()) {
      byPipeline.put(p, new long[3]);
    }
    Map<String, List<ObjectManifest>> manifests = new LinkedHashMap<>();
    try (Stream<ObjectInfo> all = repo.list("")) {
      all.forEach(info -> {
        ObjectManifest m = repo.manifest(info.manifestId());
        // a tensor-coded object is its bucket's pipeline's, though the checkpoint pipeline stores it
        manifests.computeIfAbsent(m.putPipeline(), k -> new ArrayList<>()).add(m);
        byPipeline.computeIfAbsent(m.putPipeline(), k -> new long[3]);
      });
    }
    Set<io.dharmana.chunk.ChunkId> counted = new HashSet<>();
    List<PipelineCost> pipelines = new ArrayList<>();
    for (Map.Entry<String, long[]> e : byPipeline.entrySet()) {
      long[] f = e.getValue(); // objects, logical, stored
      for (ObjectManifest m : manifests.getOrDefault(e.getKey(), List.of())) {
        f[0]++;
        f[1] += m.logicalSize();
        for (ChunkRef c : m.chunks()) {
          if (counted.add(c.id())) {
            f[2] += c.storedLength();
          }
        }
      }
      long steps = 0;
      if (e.getKey().equals(CheckpointManager.PIPELINE)) {
        f[1] += checkpoints[0];
        f[2] += checkpoints[1];
        steps = checkpoints[2];
      }
      pipelines.add(new PipelineCost(e.getKey(), f[0], steps, f[1], f[2], f[2] * perByte, f[1] * rawPerByte));
    }
    return new RepositoryCost(tierCost, pipelines, stats, logicalTotal, storedTotal);
  }

  /**
   * The {@link #logicalBytes} of {@code repo} alone, from statistics already taken: without the
   * tier costs and the per-pipeline walk over every manifest that {@link #of} also does.
   */
  public static long logicalBytes(Repository repo, RepositoryStats stats) {
    return logicalBytes(stats, checkpointBytes(repo, false)[0]);
  }

  private static long logicalBytes(RepositoryStats stats, long checkpointLogicalBytes) {
    // the stats count each checkpoint tensor once, as the unnamed object a step includes; the
    // named objects of that pipeline (the gateway's and put's tensor-coded files) stay as they are
    return stats.logicalBytes() - stats.includedLogicalBytesOf(CheckpointManager.PIPELINE) + checkpointLogicalBytes;
  }

  /**
   * Raw tensor bytes of every complete checkpoint step kept, if {@code withStored} the distinct
   * stored bytes they need (which reads every step's tensor manifests), and the number of steps.
   */
  private static long[] checkpointBytes(Repository repo, boolean withStored) {
    long[] result = new long[3];
    for (String run : CheckpointManager.runs(repo)) {
      try (CheckpointManager m = CheckpointManager.open(repo, run, CheckpointOptions.DEFAULT)) {
        List<Long> steps = new ArrayList<>();
        for (CheckpointInfo info : m.list()) {
          result[0] += info.logicalBytes();
          result[2]++;
          steps.add(info.step());
        }
        if (withStored) {
          result[1] += m.uniqueStoredBytes(steps);
        }
      }
    }
    return result;
  }

  /**
   * Each tier's bytes held now and its share of the logical bytes (split by bytes held, the
   * remainder to the last tier, so the shares add up to the repository's logical bytes).
   */
  static List<TierUsage> tierUsage(RepositoryStats stats, Map<String, TierSpec> specs, long logicalBytes) {
    List<TierUsage> usage = new ArrayList<>();
    long held = stats.tiers().stream().mapToLong(TierStats::bytesHeld).sum();
    long assigned = 0;
    for (int i = 0; i < stats.tiers().size(); i++) {
      TierStats t = stats.tiers().get(i);
      long logical = i == stats.tiers().size() - 1 ? logicalBytes - assigned
          : held == 0 ? 0 : Math.round((double) logicalBytes * t.bytesHeld() / held);
      assigned += logical;
      TierSpec spec = specs.get(t.name());
      usage.add(spec != null ? TierUsage.stored(spec, t.bytesHeld(), logical)
          : TierUsage.stored(t.name(), "local", null, t.bytesHeld(), logical));
    }
    return usage;
  }

  /**
   * What a pipeline holds, counted as its user would: "3 objects", or for the checkpoint pipeline,
   * whose tensors are unnamed objects, "2 steps" (and its named objects: "2 steps, 3 objects").
   */
  static String holds(PipelineCost p) {
    if (!p.pipeline().equals(CheckpointManager.PIPELINE)) {
      return Figures.count(p.objects(), "object");
    }
    return Figures.count(p.steps(), "step") + (p.objects() == 0 ? "" : ", " + Figures.count(p.objects(), "object"));
  }

  /** The checkpoint steps kept, of every run. */
  public long checkpointSteps() {
    return pipelines.stream().mapToLong(PipelineCost::steps).sum();
  }

  /** Bytes saved against storing everything raw: logical minus stored. */
  public long savedBytes() {
    return logicalBytes - storedBytes;
  }

  /** Logical over stored bytes; NaN while nothing is stored (no ratio to speak of, printed "-"). */
  public double ratio() {
    return storedBytes == 0 ? (logicalBytes == 0 ? Double.NaN : 1) : (double) logicalBytes / storedBytes;
  }

  /**
   * The bytes saved against logical, in words, as {@code report} and {@code demo} print them:
   * "saved 41.3 MiB (60.7% of logical)", or when more is stored than logical (incompressible data
   * and its framing), "150 B more stored than logical (0.2% more)".
   */
  public String savedBytesText() {
    return savedBytesText(savedBytes(), logicalBytes);
  }

  /**
   * The monthly cost against raw, in words: "saved 59.0%", or when the tiers cost more than raw
   * storage, "costs 4.5% more than raw".
   */
  public String savedCostText() {
    return savedCostText(tiers.savedFraction());
  }

  static String savedBytesText(long saved, long logical) {
    double fraction = logical == 0 ? 0 : (double) saved / logical;
    return saved >= 0 ? "saved " + Figures.bytes(saved) + " (" + Figures.percent1(fraction) + " of logical)"
        : Figures.bytes(-saved) + " more stored than logical (" + Figures.percent1(-fraction) + " more)";
  }

  static String savedCostText(double savedFraction) {
    // "saved -4.5%" read as a typo; a saving that rounds to zero is "saved 0.0%", not "costs 0.0% more"
    return Figures.percent1(savedFraction).equals(Figures.percent1(0)) || savedFraction > 0
        ? "saved " + Figures.percent1(savedFraction)
        : "costs " + Figures.percent1(-savedFraction) + " more than raw";
  }

  /** Monthly cost of all tiers, USD. */
  public double monthly() {
    return tiers.total();
  }

  /** Monthly cost of the logical bytes raw on the baseline class, USD. */
  public double rawMonthly() {
    return tiers.raw().total();
  }

  /** The cost as aligned text lines, every figure with its arithmetic. */
  public String toText() {
    StringBuilder out = new StringBuilder();
    out.append("per tier (bytes held now)\n").append(tiers.toText());
    out.append("per pipeline (distinct stored bytes at the tiers' blended price; checkpoints: kept steps' raw tensors)\n");
    int width = pipelines.stream().mapToInt(p -> p.pipeline().length()).max().orElse(8);
    // "  12 objects": the count right-aligned, what it counts after it
    int nounWidth = Math.max(7, pipelines.stream().mapToInt(p -> holds(p).length() - holds(p).indexOf(' ') - 1).max().orElse(7));
    for (PipelineCost p : pipelines) {
      String holds = holds(p);
      int space = holds.indexOf(' ');
      out.append(String.format(java.util.Locale.ROOT, "  %-" + width + "s  %4s %-" + nounWidth + "s  %12s logical -> %12s stored  %12s/month"
              + "  (raw %s, %s)%n", p.pipeline(), holds.substring(0, space), holds.substring(space + 1),
          Figures.bytes(p.logicalBytes()), Figures.bytes(p.storedBytes()),
          Figures.usd(p.monthly()), Figures.usd(p.rawMonthly()), savedCostText(p.savedFraction())));
    }
    out.append(String.format(java.util.Locale.ROOT, "storage savings: %s logical stored as %s (%s), %s; %s/month vs %s/month raw%n",
        Figures.bytes(logicalBytes), Figures.bytes(storedBytes), Figures.ratio(ratio()), savedBytesText(), Figures.usd(monthly()), Figures.usd(rawMonthly())));
    return out.toString();
  }
}
