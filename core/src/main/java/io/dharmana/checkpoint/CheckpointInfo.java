package io.dharmana.checkpoint;

import java.time.Instant;
import java.util.Map;

/**
 * What {@link CheckpointManager#list} reports about one step of a run.
 *
 * @param run the run
 * @param step the step
 * @param world how many ranks saved shards of it
 * @param ranks how many shards are committed
 * @param complete whether every rank's shard is committed and the step itself is committed
 * @param tensors number of tensors over the committed shards
 * @param logicalBytes raw bytes of its tensors
 * @param storedBytes bytes this step added to the store (reused tensors cost nothing)
 * @param lossy whether any tensor is stored lossily
 * @param durability the tiers that hold every chunk the step needs, joined by '+', e.g.
 *     {@code local+archive}; empty when not computed
 * @param created when the step was committed (or its newest shard, if incomplete)
 * @param metadata the metadata given to save (rank 0's for multi-rank steps)
 */
public record CheckpointInfo(String run, long step, int world, int ranks, boolean complete, int tensors,
    long logicalBytes, long storedBytes, boolean lossy, String durability, Instant created, Map<String, String> metadata) {
  public CheckpointInfo {
    metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    durability = durability == null ? "" : durability;
  }

  /** Logical over stored bytes; infinite when the step added nothing. */
  public double ratio() {
    return storedBytes == 0 ? Double.POSITIVE_INFINITY : (double) logicalBytes / storedBytes;
  }
}
