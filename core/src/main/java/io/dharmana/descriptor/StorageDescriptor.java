package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.StageSpec;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the storage path is: the chunking, the ordered stages applied to every chunk, the tiers
 * and how data is placed on them, caching and prefetch, and the consistency asked for.
 *
 * <p>Data flow: bytes are cut into content-defined chunks ({@link ChunkingSpec}), each chunk
 * passes through {@link #stages()} in order, and the result is stored under the SHA-256 of the
 * stored bytes on the tiers.
 */
public record StorageDescriptor(
    ChunkingSpec chunking,
    List<StageSpec> stages,
    List<TierSpec> tiers,
    PlacementPolicy placement,
    CacheSpec cache,
    ConsistencySpec consistency) {

  public StorageDescriptor {
    chunking = chunking == null ? ChunkingSpec.DEFAULT : chunking;
    stages = stages == null ? List.of() : List.copyOf(stages);
    tiers = tiers == null || tiers.isEmpty() ? List.of(TierSpec.local("local", null)) : List.copyOf(tiers);
    Set<String> names = new HashSet<>();
    for (TierSpec tier : tiers) {
      if (!names.add(tier.name())) {
        throw new InvalidDescriptorException("Invalid storage.tiers: tier name '" + tier.name() + "' is used twice");
      }
    }
    placement = placement == null ? PlacementPolicy.defaults(tiers.get(0).name()) : placement;
    if (!names.contains(placement.writeTier())) {
      throw new InvalidDescriptorException(
          "Invalid storage.placement.writeTier '" + placement.writeTier() + "': allowed are the tier names " + names);
    }
    cache = cache == null ? CacheSpec.DEFAULT : cache;
    consistency = consistency == null ? ConsistencySpec.DEFAULT : consistency;
  }

  /** A descriptor with the given stages and everything else default (one local tier). */
  public static StorageDescriptor of(List<StageSpec> stages) {
    return new StorageDescriptor(null, stages, null, null, null, null);
  }

  public TierSpec tier(String name) {
    return tiers.stream()
        .filter(t -> t.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new InvalidDescriptorException("Invalid tier '" + name + "': no such tier"));
  }

  /** A builder; each setting may be set once, stages and tiers are added in order. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Builds a {@link StorageDescriptor}. Each setting may be set once (a second set throws {@link
   * IllegalStateException}); stages and tiers accumulate in the order they are added. Unset
   * settings take the record's defaults.
   */
  public static final class Builder {
    private ChunkingSpec chunking;
    private final List<StageSpec> stages = new java.util.ArrayList<>();
    private final List<TierSpec> tiers = new java.util.ArrayList<>();
    private PlacementPolicy placement;
    private CacheSpec cache;
    private ConsistencySpec consistency;

    private Builder() {}

    public Builder chunking(ChunkingSpec value) {
      Builders.requireUnset("chunking", chunking);
      chunking = java.util.Objects.requireNonNull(value, "chunking");
      return this;
    }

    /** Appends a stage; stages encode in the order added. */
    public Builder stage(StageSpec value) {
      stages.add(java.util.Objects.requireNonNull(value, "stage"));
      return this;
    }

    /** Appends a stage by name with string parameters. */
    public Builder stage(String name, java.util.Map<String, String> params) {
      return stage(StageSpec.of(name, params));
    }

    /** Appends a tier; the first tier is the default write tier. */
    public Builder tier(TierSpec value) {
      tiers.add(java.util.Objects.requireNonNull(value, "tier"));
      return this;
    }

    public Builder placement(PlacementPolicy value) {
      Builders.requireUnset("placement", placement);
      placement = java.util.Objects.requireNonNull(value, "placement");
      return this;
    }

    public Builder cache(CacheSpec value) {
      Builders.requireUnset("cache", cache);
      cache = java.util.Objects.requireNonNull(value, "cache");
      return this;
    }

    public Builder consistency(ConsistencySpec value) {
      Builders.requireUnset("consistency", consistency);
      consistency = java.util.Objects.requireNonNull(value, "consistency");
      return this;
    }

    public StorageDescriptor build() {
      return new StorageDescriptor(chunking, stages, tiers, placement, cache, consistency);
    }
  }
}
