package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * One storage tier.
 *
 * @param name unique within the descriptor, e.g. {@code nvme}, {@code hdd}, {@code s3}
 * @param kind {@code memory}, {@code local} or {@code s3}
 * @param location a directory (relative to the repository) for local tiers, a bucket/prefix URI
 *     for object stores; may be null for the default location
 * @param capacityBytes capacity, 0 for unbounded
 * @param highWatermark fraction of capacity above which demotion starts (0..1]
 * @param lowWatermark fraction of capacity demotion brings the tier down to (< highWatermark)
 * @param maxAge data older than this (by last access) moves to the next tier; null for no rule
 * @param priceClass price-table entry this tier is billed as (e.g. {@code s3-standard}, {@code
 *     local-nvme}); null for the kind's default
 * @param options kind-specific settings (endpoint, region, path-style, ...)
 */
public record TierSpec(
    String name,
    String kind,
    String location,
    long capacityBytes,
    double highWatermark,
    double lowWatermark,
    Duration maxAge,
    String priceClass,
    Map<String, String> options) {

  public static final Set<String> KINDS = Set.of("memory", "local", "s3");

  public TierSpec {
    if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9_-]{0,63}")) {
      throw new InvalidDescriptorException(
          "Invalid tier name '" + name + "': use 1-64 letters, digits, '_' or '-'");
    }
    if (kind == null || !KINDS.contains(kind)) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + name + "].kind '" + kind + "': allowed are " + new java.util.TreeSet<>(KINDS));
    }
    if (capacityBytes < 0) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + name + "].capacity " + capacityBytes + ": must be >= 0 (0 = unbounded)");
    }
    if (highWatermark <= 0 || highWatermark > 1) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + name + "].highWatermark " + highWatermark + ": allowed is (0, 1]");
    }
    if (lowWatermark < 0 || lowWatermark >= highWatermark) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + name + "].lowWatermark " + lowWatermark + ": allowed is [0, highWatermark)");
    }
    if (maxAge != null && (maxAge.isNegative() || maxAge.isZero())) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + name + "].maxAge " + maxAge + ": must be positive");
    }
    options = options == null ? Map.of() : Map.copyOf(options);
  }

  public static TierSpec local(String name, String location) {
    return new TierSpec(name, "local", location, 0, 0.9, 0.7, null, null, null);
  }

  public static TierSpec memory(String name, long capacityBytes) {
    return new TierSpec(name, "memory", null, capacityBytes, 0.9, 0.7, null, null, null);
  }

  public boolean bounded() {
    return capacityBytes > 0;
  }

  /** A builder for a tier; each setting may be set once, unset ones take {@link #local}'s defaults. */
  public static Builder builder(String name, String kind) {
    return new Builder(name, kind);
  }

  /** Builds a {@link TierSpec}; each setting may be set once (a second set throws {@link IllegalStateException}). */
  public static final class Builder {
    private final java.util.Set<String> set = new java.util.HashSet<>();
    private final String name;
    private final String kind;
    private String location;
    private long capacityBytes;
    private double highWatermark = 0.9;
    private double lowWatermark = 0.7;
    private Duration maxAge;
    private String priceClass;
    private final Map<String, String> options = new java.util.LinkedHashMap<>();

    private Builder(String name, String kind) {
      this.name = name;
      this.kind = kind;
    }

    private void once(String field) {
      if (!set.add(field)) {
        throw new IllegalStateException("Cannot set " + field + " of tier " + name + " twice");
      }
    }

    /** A directory for local tiers, a bucket/prefix URI for object stores. */
    public Builder location(String value) {
      once("location");
      location = value;
      return this;
    }

    /** Capacity in bytes; 0 (the default) is unbounded. */
    public Builder capacity(long bytes) {
      once("capacity");
      capacityBytes = bytes;
      return this;
    }

    /** Demotion starts above {@code high} of capacity and brings the tier down to {@code low}. */
    public Builder watermarks(double high, double low) {
      once("watermarks");
      highWatermark = high;
      lowWatermark = low;
      return this;
    }

    public Builder maxAge(Duration value) {
      once("maxAge");
      maxAge = value;
      return this;
    }

    public Builder priceClass(String value) {
      once("priceClass");
      priceClass = value;
      return this;
    }

    /** Adds one kind-specific option; each option name may be set once. */
    public Builder option(String key, String value) {
      once("options." + key);
      options.put(key, value);
      return this;
    }

    public TierSpec build() {
      return new TierSpec(name, kind, location, capacityBytes, highWatermark, lowWatermark, maxAge, priceClass, options);
    }
  }
}
