package io.dharmana.repo;

/**
 * What a garbage collection removed (or, in a dry run, would remove).
 *
 * @param liveManifests manifests kept because a ref (or their youth) keeps them alive
 * @param liveChunks chunks kept because a live manifest references them or they are young
 * @param orphanPacksDeleted packs a crash left without their index, deleted (never in a dry run)
 * @param smallPacksMerged small packs (each small commit seals one) merged into full ones (in a dry
 *     run: how many small packs there are to merge)
 */
public record GcResult(boolean dryRun, int refVersionsPruned, long liveManifests, long manifestsDeleted,
    long liveChunks, long chunksDeleted, long bytesFreed, int orphanPacksDeleted, int smallPacksMerged) {}
