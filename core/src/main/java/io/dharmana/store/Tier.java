package io.dharmana.store;

import io.dharmana.descriptor.TierSpec;
import java.util.Objects;

/**
 * One level of a {@link TieredStore}: a store and the spec (capacity, watermarks, age rule) the
 * tiered store enforces on it.
 *
 * @param name the tier's name; must equal {@code spec.name()}
 * @param store the store holding this tier's blobs; owned (and closed) by the tiered store
 * @param spec capacity, watermarks and age rule
 */
public record Tier(String name, BlobStore store, TierSpec spec) {
  public Tier {
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(spec, "spec");
    if (!spec.name().equals(name)) {
      throw new IllegalArgumentException("Invalid tier name '" + name + "': must equal the spec's name '" + spec.name() + "'");
    }
  }

  /** A tier named after its spec. */
  public static Tier of(BlobStore store, TierSpec spec) {
    return new Tier(spec.name(), store, spec);
  }
}
