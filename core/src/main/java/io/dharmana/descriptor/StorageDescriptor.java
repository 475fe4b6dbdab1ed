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
}
