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

  /**
   * The stats of this loader and a later one (the next epoch) together. Shard counters are the
   * dataset's, which loaders running at once share: the caller passes those of the whole span.
   */
  public LoaderStats plus(LoaderStats later, ShardCacheStats shardsOfBoth) {
    return new LoaderStats(batches + later.batches, samples + later.samples, bytesDecoded + later.bytesDecoded,
        prefetched + later.prefetched, prefetchedUsed + later.prefetchedUsed, Math.max(peakBufferedBytes, later.peakBufferedBytes),
        later.prefetchDepth, shardsOfBoth);
  }

  /** Prefetched batches used over prefetched batches, or NaN when nothing was prefetched. */
  public double prefetchAccuracy() {
    return prefetched == 0 ? Double.NaN : (double) prefetchedUsed / prefetched;
  }
}
