package io.dharmana.dataset;

/**
 * What a {@link DataLoader} did so far.
 *
 * @param batches batches handed out
 * @param samples samples handed out
 * @param bytesDecoded decoded bytes of the samples handed out
 * @param prefetched batches started before they were asked for
 * @param prefetchedUsed of those, batches that were handed out
 * @param peakBufferedBytes largest decoded size of batches started but not yet handed out
 * @param prefetchDepth batches read ahead at the end (grown from the start with adaptive prefetch)
 * @param shards shard read and cache counters of the dataset while this loader ran
 */
public record LoaderStats(
    long batches, long samples, long bytesDecoded, long prefetched, long prefetchedUsed, long peakBufferedBytes, int prefetchDepth,
    ShardCacheStats shards) {

  /** Prefetched batches used over prefetched batches, or NaN when nothing was prefetched. */
  public double prefetchAccuracy() {
    return prefetched == 0 ? Double.NaN : (double) prefetchedUsed / prefetched;
  }
}
