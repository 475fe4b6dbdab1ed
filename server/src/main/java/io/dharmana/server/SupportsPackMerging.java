package io.dharmana.server;

/**
 * A backend whose store packs small objects: each small commit seals a pack of its own, so a
 * gateway taking small PUTs for days would leave one pack (and one index to load at every open)
 * per commit. The gateway calls {@link #mergeSmallPacks} every few seconds, which also lets go of
 * packs that a gc in another process deleted (their disk space is freed only then).
 */
public interface SupportsPackMerging {
  /** Merges small packs if enough have accumulated; returns how many were merged (often 0). */
  int mergeSmallPacks();
}
