package io.dharmana.cost;

import io.dharmana.InvalidDescriptorException;

/**
 * What one tier holds and serves in a month, in plain byte and request counts (a repository's
 * statistics, a plan's estimate, or a user's guess).
 *
 * @param tier the tier's name
 * @param kind the tier's kind ({@code memory}, {@code local}, {@code s3}), for its default price class
 * @param priceClass the price class it is billed as, or null for the kind's default
 * @param storedBytes bytes stored on the tier (after compression and deduplication)
 * @param logicalBytes the bytes those represent as written by the user (for the "raw" comparison)
 * @param putsPerMonth write requests per month
 * @param getsPerMonth read requests per month
 * @param retrievedBytesPerMonth bytes read back per month (billed by classes with retrieval fees)
 */
public record TierUsage(
    String tier,
    String kind,
    String priceClass,
    long storedBytes,
    long logicalBytes,
    long putsPerMonth,
    long getsPerMonth,
    long retrievedBytesPerMonth) {

  public TierUsage {
    if (tier == null || tier.isBlank()) {
      throw new InvalidDescriptorException("Invalid tier usage: tier name is empty");
    }
    if (storedBytes < 0 || logicalBytes < 0 || putsPerMonth < 0 || getsPerMonth < 0 || retrievedBytesPerMonth < 0) {
      throw new InvalidDescriptorException("Invalid tier usage of " + tier + ": byte and request counts must be >= 0");
    }
  }

  /** Storage only: no requests or retrievals counted. */
  public static TierUsage stored(String tier, String kind, String priceClass, long storedBytes, long logicalBytes) {
    return new TierUsage(tier, kind, priceClass, storedBytes, logicalBytes, 0, 0, 0);
  }

  /** Storage only, for a tier of a descriptor (its name, kind and price class). */
  public static TierUsage stored(io.dharmana.descriptor.TierSpec tier, long storedBytes, long logicalBytes) {
    return stored(tier.name(), tier.kind(), tier.priceClass(), storedBytes, logicalBytes);
  }
}
