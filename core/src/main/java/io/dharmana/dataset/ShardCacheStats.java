package io.dharmana.dataset;

/**
 * Counters of a dataset's shard reads and of its shard cache (a faster tier shards are copied to
 * on first use). Hits and misses are counted per sample read: a hit found its shard already on the
 * cache tier. All zero for the cache figures when no cache tier is configured.
 *
 * @param hits sample reads whose shard was on the cache tier
 * @param misses sample reads that had to copy their shard to the cache tier first
 * @param fetchedBytes bytes copied from the source tier to the cache tier
 * @param evictions shards deleted from the cache tier to stay within its limit
 * @param evictionsRefused evictions skipped because the source tier did not hold the shard (the
 *     cache copy was the only one)
 * @param storedBytesRead shard bytes read from the store to serve samples (from whichever tier).
 *     Without stages, the stored bytes of the samples served. With stages, the bytes of the blocks
 *     decoded: a block still decoded in its reader's small cache is not read again, and one that
 *     left it is, so one epoch's figure depends on the order and timing of its reads; only sums
 *     over the same reads are exact
 *
 * <p>Snapshots add and subtract field by field, as Caffeine's {@code CacheStats} do: the counts
 * of two loaders are the {@link #plus} of theirs, and the counts of a span are a later snapshot
 * {@link #minus} an earlier one.
 */
public record ShardCacheStats(long hits, long misses, long fetchedBytes, long evictions, long evictionsRefused, long storedBytesRead) {
  /** Hits over hit plus misses, or NaN when there were none. */
  public double hitRate() {
    long total = hits + misses;
    return total == 0 ? Double.NaN : (double) hits / total;
  }

  /** The counts of this snapshot and {@code o} together (two loaders, or two epochs' loaders). */
  public ShardCacheStats plus(ShardCacheStats o) {
    return new ShardCacheStats(hits + o.hits, misses + o.misses, fetchedBytes + o.fetchedBytes, evictions + o.evictions,
        evictionsRefused + o.evictionsRefused, storedBytesRead + o.storedBytesRead);
  }

  /** The counts of this snapshot since {@code o}, an earlier snapshot of the same counters. */
  public ShardCacheStats minus(ShardCacheStats o) {
    return new ShardCacheStats(hits - o.hits, misses - o.misses, fetchedBytes - o.fetchedBytes, evictions - o.evictions,
        evictionsRefused - o.evictionsRefused, storedBytesRead - o.storedBytesRead);
  }
}
