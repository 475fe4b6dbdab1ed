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
 * @param shards shard read and cache counters of this loader's own reads (not those of other
 *     loaders of the dataset running at the same time, such as the next epoch reading ahead)
 */
public record LoaderStats(
    long batches, long samples, long bytesDecoded, long prefetched, long prefetchedUsed, long peakBufferedBytes, int prefetchDepth,
    ShardCacheStats shards) {

  /**
   * The stats of this loader and a later one (the next epoch) together. Each loader counts its
   * own shard reads, so loaders that ran at once add up without counting a read twice.
   */
  public LoaderStats plus(LoaderStats later) {
    return new LoaderStats(batches + later.batches, samples + later.samples, bytesDecoded + later.bytesDecoded,
        prefetched + later.prefetched, prefetchedUsed + later.prefetchedUsed, Math.max(peakBufferedBytes, later.peakBufferedBytes),
        later.prefetchDepth, shards.plus(later.shards));
  }

  /** Prefetched batches used over prefetched batches, or NaN when nothing was prefetched. */
  public double prefetchAccuracy() {
    return prefetched == 0 ? Double.NaN : (double) prefetchedUsed / prefetched;
  }
}
