package io.dharmana.checkpoint;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which complete steps of a run to keep; the rules combine: a step is kept if any rule keeps it.
 * A policy with no rule keeps everything.
 *
 * @param keepLast keep the newest N steps (0: rule off)
 * @param keepEvery keep steps that are a multiple of K (0: rule off)
 * @param keepBest keep the best N steps by {@code metric} in their metadata (0: rule off); steps
 *     without the metric are not candidates
 * @param metric the metadata key ranked by {@code keepBest}, e.g. {@code loss}
 * @param lowerIsBetter whether a smaller metric is better (a loss) or a larger one (an accuracy)
 * @param keepFor keep steps committed within this duration of now (null: rule off)
 */
public record RetentionPolicy(int keepLast, long keepEvery, int keepBest, String metric, boolean lowerIsBetter,
    Duration keepFor) {
  public static final RetentionPolicy KEEP_ALL = new RetentionPolicy(0, 0, 0, null, true, null);

  public RetentionPolicy {
    if (keepLast < 0 || keepEvery < 0 || keepBest < 0) {
      throw new IllegalArgumentException("Invalid retention policy: counts must be >= 0 (keepLast " + keepLast
          + ", keepEvery " + keepEvery + ", keepBest " + keepBest + ")");
    }
    if (keepBest > 0 && (metric == null || metric.isBlank())) {
      throw new IllegalArgumentException("Invalid retention policy: keepBest " + keepBest + " needs a metric");
    }
    if (keepFor != null && keepFor.isNegative()) {
      throw new IllegalArgumentException("Invalid retention policy: keepFor " + keepFor + " is negative");
    }
  }

  public static RetentionPolicy keepLast(int n) {
    return KEEP_ALL.withKeepLast(n);
  }

  public RetentionPolicy withKeepLast(int n) {
    return new RetentionPolicy(n, keepEvery, keepBest, metric, lowerIsBetter, keepFor);
  }

  public RetentionPolicy withKeepEvery(long k) {
    return new RetentionPolicy(keepLast, k, keepBest, metric, lowerIsBetter, keepFor);
  }

  /** Keeps the N steps with the lowest (a loss) value of {@code key}. */
  public RetentionPolicy withKeepBestLowest(int n, String key) {
    return new RetentionPolicy(keepLast, keepEvery, n, key, true, keepFor);
  }

  /** Keeps the N steps with the highest (an accuracy) value of {@code key}. */
  public RetentionPolicy withKeepBestHighest(int n, String key) {
    return new RetentionPolicy(keepLast, keepEvery, n, key, false, keepFor);
  }

  public RetentionPolicy withKeepFor(Duration d) {
    return new RetentionPolicy(keepLast, keepEvery, keepBest, metric, lowerIsBetter, d);
  }

  boolean keepsAll() {
    return keepLast == 0 && keepEvery == 0 && keepBest == 0 && keepFor == null;
  }

  /** The steps of {@code complete} (sorted by step) this policy keeps, before chain closure. */
  Set<Long> select(List<CheckpointInfo> complete, Instant now) {
    Set<Long> kept = new TreeSet<>();
    if (keepsAll()) {
      complete.forEach(c -> kept.add(c.step()));
      return kept;
    }
    for (int i = Math.max(0, complete.size() - keepLast); i < complete.size(); i++) {
      kept.add(complete.get(i).step());
    }
    for (CheckpointInfo c : complete) {
      if (keepEvery > 0 && c.step() % keepEvery == 0) {
        kept.add(c.step());
      }
      if (keepFor != null && !c.created().isBefore(now.minus(keepFor))) {
        kept.add(c.step());
      }
    }
    if (keepBest > 0) {
      List<CheckpointInfo> ranked = new ArrayList<>();
      for (CheckpointInfo c : complete) {
        if (value(c) != null) {
          ranked.add(c);
        }
      }
      Comparator<CheckpointInfo> byMetric = Comparator.comparingDouble(c -> value(c));
      ranked.sort(lowerIsBetter ? byMetric : byMetric.reversed());
      ranked.stream().limit(keepBest).forEach(c -> kept.add(c.step()));
    }
    return kept;
  }

  private Double value(CheckpointInfo c) {
    String v = c.metadata().get(metric);
    if (v == null) {
      return null;
    }
    try {
      double d = Double.parseDouble(v.trim());
      return Double.isNaN(d) ? null : d;
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
