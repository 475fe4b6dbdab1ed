package io.dharmana.dataset.internal;

import io.dharmana.dataset.ShardCacheStats;
import java.util.concurrent.atomic.LongAdder;

/**
 * Records the shard reads of one reader of a dataset (a {@link io.dharmana.dataset.DataLoader}):
 * the dataset's own counters are shared by every loader running at once (an epoch and the next
 * one reading ahead), so a loader's share cannot be taken as their difference over its life, or
 * two overlapping epochs would each count the other's reads. Thread-safe.
 */
public final class ShardCounters {
  final LongAdder hits = new LongAdder();
  final LongAdder misses = new LongAdder();
  final LongAdder fetchedBytes = new LongAdder();
  final LongAdder evictions = new LongAdder();
  final LongAdder evictionsRefused = new LongAdder();
  final LongAdder storedBytesRead = new LongAdder();

  /** The counts so far. */
  public ShardCacheStats snapshot() {
    return new ShardCacheStats(hits.sum(), misses.sum(), fetchedBytes.sum(), evictions.sum(), evictionsRefused.sum(),
        storedBytesRead.sum());
  }
}
