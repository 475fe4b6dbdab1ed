package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;

/**
 * Read-side settings: how many chunks (or batches, for data loaders) to fetch ahead, how many
 * threads encode and decode, and how much memory a read may hold.
 *
 * <p>The gateway ({@code dharmana serve}) reads ahead for sequential readers of a pipeline's
 * objects with these settings: when a ranged GET starts where an earlier ranged GET of the same
 * object version ended, the next ranges, each as long as that GET's, are read in the background
 * (one range ahead at first, one more each time the reader is served from them, up to {@code
 * prefetch}) on at most {@code threads} threads of the pipeline (0: one per core), and held in
 * at most {@code memory} bytes for all the pipeline's readers together (a range longer than half of
 * it is not read ahead). {@code memory} or {@code prefetch} 0 turns the gateway's read-ahead off for
 * the pipeline. With the defaults, a reader of 8 MiB ranges has up to 64 MiB read ahead of it.
 */
public record CacheSpec(int prefetch, int threads, long memoryBytes) {
  public static final CacheSpec DEFAULT = new CacheSpec(8, 0, 256L * 1024 * 1024);

  public CacheSpec {
    if (prefetch < 0 || prefetch > 4096) {
      throw new InvalidDescriptorException("Invalid storage.cache.prefetch " + prefetch + ": allowed is 0..4096");
    }
    if (threads < 0 || threads > 1024) {
      throw new InvalidDescriptorException("Invalid storage.cache.threads " + threads + ": allowed is 0..1024 (0 = one per core)");
    }
    if (memoryBytes < 0) {
      throw new InvalidDescriptorException("Invalid storage.cache.memory " + memoryBytes + ": must be >= 0");
    }
  }

  /** Threads to use: the configured number, or one per available core. */
  public int effectiveThreads() {
    return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
  }
}
