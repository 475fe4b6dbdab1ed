package io.dharmana.repo;

import io.dharmana.NotFoundException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobStore;
import io.dharmana.store.TierStats;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What a repository holds, from its real stored bytes.
 *
 * <p>Live data is what garbage collection keeps: the named objects and every unnamed object a live
 * one includes ({@link io.dharmana.repo.PutOptions#withIncludes}), such as a checkpoint's tensors,
 * which are all its shard objects hold, and the delta bases they decode against. Each
 * unnamed object is counted once however many objects include it (a named one once per name),
 * and each chunk once in the unique figure.
 *
 * @param objects live named objects
 * @param logicalBytes sum of the live objects' logical sizes ({@link ObjectManifest#logicalSize}: a
 *     float-coded tensor counts as the tensor it encodes), named and included
 * @param referencedStoredBytes sum of the stored sizes of the live objects' chunks, counting a
 *     chunk once per reference (what the objects would take without deduplication)
 * @param uniqueStoredBytes stored size of the distinct chunks live objects reference
 * @param chunkBytes stored bytes of all chunks in the store, including garbage not yet collected
 * @param chunks distinct chunks in the store
 * @param tiers per-tier distribution; the counters (hits, misses, promotions, demotions) are those
 *     of this process's work, not of the reads that take statistics
 * @param includedObjects live unnamed objects: reachable only through the includes of live ones
 * @param logicalBytesByPipeline {@code logicalBytes} split by the pipeline that wrote each object
 * @param includedLogicalBytesByPipeline of those, the unnamed objects' (a checkpoint's tensors:
 *     a pipeline may hold named objects too, such as the gateway's tensor-coded ones)
 * @param unlistedTiers tiers that could not be listed (an S3 endpoint that is down): {@code
 *     chunkBytes} and {@code chunks} leave out what only they hold
 */
public record RepositoryStats(long objects, long logicalBytes, long referencedStoredBytes, long uniqueStoredBytes,
    long chunkBytes, long chunks, List<TierStats> tiers, long includedObjects, Map<String, Long> logicalBytesByPipeline,
    Map<String, Long> includedLogicalBytesByPipeline, List<String> unlistedTiers) {

  public RepositoryStats {
    logicalBytesByPipeline = Map.copyOf(logicalBytesByPipeline);
    includedLogicalBytesByPipeline = Map.copyOf(includedLogicalBytesByPipeline);
    unlistedTiers = List.copyOf(unlistedTiers);
  }

  /** Stats of a repository whose objects include none. */
  public RepositoryStats(long objects, long logicalBytes, long referencedStoredBytes, long uniqueStoredBytes,
      long chunkBytes, long chunks, List<TierStats> tiers) {
    this(objects, logicalBytes, referencedStoredBytes, uniqueStoredBytes, chunkBytes, chunks, tiers, 0, Map.of(), Map.of(), List.of());
  }

  /** The logical bytes of the live objects {@code pipeline} wrote. */
  public long logicalBytesOf(String pipeline) {
    return logicalBytesByPipeline.getOrDefault(pipeline, 0L);
  }

  /** The logical bytes of the live unnamed objects {@code pipeline} wrote. */
  public long includedLogicalBytesOf(String pipeline) {
    return includedLogicalBytesByPipeline.getOrDefault(pipeline, 0L);
  }

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
    // the tiers' counters as the process's own work left them, without the reads of every manifest
    // below (nor an earlier pass's): counted, they made a fresh 'stat' report a hit per object
    List<TierStats> before = repo.tiers().stats();
    long objects = 0;
    long logical = 0;
    long referenced = 0;
    long included = 0;
    Map<String, Long> byPipeline = new HashMap<>();
    Map<String, Long> includedByPipeline = new HashMap<>();
    Map<ChunkId, Integer> unique = new HashMap<>();
    Set<String> counted = new HashSet<>();
    ArrayDeque<String> pending = new ArrayDeque<>();
    try (Stream<ObjectInfo> all = repo.list("")) {
      for (ObjectInfo info : (Iterable<ObjectInfo>) all::iterator) {
        ObjectManifest m = repo.manifest(info.manifestId());
        objects++;
        logical += m.logicalSize();
        byPipeline.merge(m.pipeline(), m.logicalSize(), Long::sum);
        for (ChunkRef c : m.chunks()) {
          referenced += c.storedLength();
          unique.put(c.id(), c.storedLength());
        }
        counted.add(info.manifestId());
        pending.addAll(m.includes());
      }
    }
    // then what they include, as gc marks it: each unnamed object once, however many include it
    while (!pending.isEmpty()) {
      String id = pending.poll();
      if (!counted.add(id)) {
        continue;
      }
      ObjectManifest m;
      try {
        m = repo.manifest(id);
      } catch (NotFoundException missing) {
        continue; // an include whose manifest is gone is reported by verify, not here (as gc does)
      }
      included++;
      logical += m.logicalSize();
      byPipeline.merge(m.pipeline(), m.logicalSize(), Long::sum);
      includedByPipeline.merge(m.pipeline(), m.logicalSize(), Long::sum);
      for (ChunkRef c : m.chunks()) {
        referenced += c.storedLength();
        unique.put(c.id(), c.storedLength());
      }
      pending.addAll(m.includes());
    }
    List<TierStats> tiers = repo.tierStatsWithoutStatsReads(before, repo.tiers().stats());
    long uniqueBytes = unique.values().stream().mapToLong(Integer::longValue).sum();
    long chunkBytes = 0;
    long chunkCount = 0;
    // the live figures above come from the manifests, which stay on the write tier; only the
    // chunk store's totals need every tier, and they leave out one that is down rather than fail
    List<String> unlisted = new java.util.ArrayList<>();
    try (Stream<BlobInfo> all = repo.chunkStore().listReachable(unlisted::add)) {
      for (BlobInfo info : (Iterable<BlobInfo>) all::iterator) {
        chunkBytes += info.size();
        chunkCount++;
      }
    }
    return new RepositoryStats(objects, logical, referenced, uniqueBytes, chunkBytes, chunkCount, tiers, included, byPipeline,
        includedByPipeline, unlisted);
  }
}
