package io.dharmana.repo;

import io.dharmana.chunk.ChunkId;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobStore;
import io.dharmana.store.TierStats;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What a repository holds, from its real stored bytes.
 *
 * @param objects live objects
 * @param logicalBytes sum of the live objects' original sizes
 * @param referencedStoredBytes sum of the stored sizes of the live objects' chunks, counting a
 *     chunk once per reference (what the objects would take without deduplication)
 * @param uniqueStoredBytes stored size of the distinct chunks live objects reference
 * @param chunkBytes stored bytes of all chunks in the store, including garbage not yet collected
 * @param chunks distinct chunks in the store
 * @param tiers per-tier distribution
 */
public record RepositoryStats(long objects, long logicalBytes, long referencedStoredBytes, long uniqueStoredBytes,
    long chunkBytes, long chunks, List<TierStats> tiers) {

  /** Logical bytes over unique stored bytes: compression and deduplication together. */
  public double ratio() {
    return uniqueStoredBytes == 0 ? 1 : (double) logicalBytes / uniqueStoredBytes;
  }

  /** Logical bytes over referenced stored bytes: what the stages alone achieve. */
  public double compressionRatio() {
    return referencedStoredBytes == 0 ? 1 : (double) logicalBytes / referencedStoredBytes;
  }

  /** Bytes deduplication saved: referenced minus unique stored bytes. */
  public long dedupSavedBytes() {
    return referencedStoredBytes - uniqueStoredBytes;
  }

  /** Bytes saved against storing every object raw. */
  public long savedBytes() {
    return logicalBytes - uniqueStoredBytes;
  }

  static RepositoryStats of(Repository repo, BlobStore meta) {
    long objects = 0;
    long logical = 0;
    long referenced = 0;
    Map<ChunkId, Integer> unique = new HashMap<>();
    try (Stream<ObjectInfo> all = repo.list("")) {
      for (ObjectInfo info : (Iterable<ObjectInfo>) all::iterator) {
        ObjectManifest m = repo.manifest(info.manifestId());
        objects++;
        logical += m.size();
        for (ChunkRef c : m.chunks()) {
          referenced += c.storedLength();
          unique.put(c.id(), c.storedLength());
        }
      }
    }
    long uniqueBytes = unique.values().stream().mapToLong(Integer::longValue).sum();
    long chunkBytes = 0;
    long chunkCount = 0;
    try (Stream<BlobInfo> all = repo.chunkStore().list()) {
      for (BlobInfo info : (Iterable<BlobInfo>) all::iterator) {
        chunkBytes += info.size();
        chunkCount++;
      }
    }
    return new RepositoryStats(objects, logical, referenced, uniqueBytes, chunkBytes, chunkCount, repo.tiers().stats());
  }
}
