package io.dharmana.server;

/**
 * A backend whose store packs small objects: each small commit seals a pack of its own, so a
 * gateway taking small PUTs for days would leave one pack (and one index to load at every open)
 * per commit. The gateway calls {@link #mergeSmallPacks} every few seconds unless merging is off,
 * and {@link #releaseDeletedPacks} every few seconds in any case.
 */
public interface SupportsPackMerging {
  /** Merges small packs if enough have accumulated; returns how many were merged (often 0). */
  int mergeSmallPacks();

  /**
   * Lets go of packs that a gc in another process deleted: their disk space is freed only once no
   * process holds them open or mapped.
   */
  void releaseDeletedPacks();
}
