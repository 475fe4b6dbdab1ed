package io.dharmana.store;

/**
 * A snapshot of one tier's counters, taken by {@link TieredStore#stats()}. Hits and misses count
 * reads: the tier that served a read records a hit, the tiers tried before it a miss. Promotions
 * are counted on the tier a blob was copied into, demotions on the tier it left.
 *
 * @param name the tier
 * @param bytesHeld bytes of the blobs the tier holds now
 * @param objects number of blobs the tier holds now
 * @param hits reads this tier served
 * @param misses reads that tried this tier and did not find the blob
 * @param promotions blobs copied into this tier on read
 * @param demotions blobs moved out of this tier to the next lower one
 * @param bytesPromoted bytes of those promotions
 * @param bytesDemoted bytes of those demotions
 */
public record TierStats(
    String name,
    long bytesHeld,
    long objects,
    long hits,
    long misses,
    long promotions,
    long demotions,
    long bytesPromoted,
    long bytesDemoted) {

  /** Hits over reads that tried this tier; 1 when none did (as Caffeine's {@code CacheStats}). */
  public double hitRate() {
    long requests = hits + misses;
    return requests == 0 ? 1.0 : (double) hits / requests;
  }

  /**
   * The counters accumulated since {@code earlier} (a snapshot of the same tier); gauges ({@code
   * bytesHeld}, {@code objects}) are this snapshot's.
   */
  public TierStats minus(TierStats earlier) {
    if (!earlier.name.equals(name)) {
      throw new IllegalArgumentException("Cannot subtract stats of tier " + earlier.name + " from tier " + name);
    }
    return new TierStats(
        name,
        bytesHeld,
        objects,
        hits - earlier.hits,
        misses - earlier.misses,
        promotions - earlier.promotions,
        demotions - earlier.demotions,
        bytesPromoted - earlier.bytesPromoted,
        bytesDemoted - earlier.bytesDemoted);
  }
}
