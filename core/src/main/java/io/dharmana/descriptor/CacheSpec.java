package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;

/**
 * Read-side settings: how many chunks (or batches, for data loaders) to fetch ahead, how many
 * threads encode and decode, and how much memory a read may hold.
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
