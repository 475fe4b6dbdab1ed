package io.dharmana.repo;

import io.dharmana.NotFoundException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.chunk.ChunkStore;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobStore;
import io.dharmana.store.SupportsListing;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Mark and sweep over a repository. Roots are the refs' current versions and every manifest
 * younger than the grace period (a commit in progress elsewhere may be about to reference it);
 * a chunk is deleted only when no root reaches it and it is older than the grace period (chunks
 * reused by deduplication are touched, so they are young again). The repository's exclusive lock
 * is held meanwhile, so no writer of this repository runs during the sweep.
 */
final class GarbageCollector {
  private final Repository repo;
  private final BlobStore meta;
  private final Clock clock;

  GarbageCollector(Repository repo, BlobStore meta, Clock clock) {
    this.repo = repo;
    this.meta = meta;
    this.clock = clock;
  }

  /**
   * @param marking told the manifests read so far of those listed (only live ones are read, so the
   *     total bounds them; the last report gives the number read as both)
   * @param sweeping told the chunks deleted (in a dry run, counted) so far of those to delete
   */
  GcResult run(Duration grace, boolean dryRun, ProgressListener marking, ProgressListener sweeping) {
    Instant cutoff = clock.instant().minus(grace);
    int pruned = dryRun ? 0 : repo.refs().prune(1);

    Set<String> liveManifests = new HashSet<>();
    // only current versions are roots: older ones go with the prune above (in a dry run, would go)
    for (Ref ref : repo.refs().list("")) {
      liveManifests.add(ref.target());
    }
    // manifests from format version 3 on are in the tiers, older ones in meta
    List<BlobInfo> manifests = new ArrayList<>();
    try (Stream<BlobInfo> all = ((SupportsListing) meta).list(Repository.MANIFESTS)) {
      all.forEach(manifests::add);
    }
    int inMeta = manifests.size();
    try (Stream<BlobInfo> all = repo.tiers().list(Repository.MANIFESTS)) {
      all.forEach(manifests::add);
    }
    for (BlobInfo info : manifests) {
      if (info.lastModified().isAfter(cutoff)) {
        liveManifests.add(info.key().substring(info.key().lastIndexOf('/') + 1));
      }
    }

    // mark before sweeping manifests: a manifest only a live one includes is live too
    Set<ChunkId> liveChunks = new HashSet<>();
    java.util.ArrayDeque<String> pending = new java.util.ArrayDeque<>(liveManifests);
    Set<String> marked = new HashSet<>();
    marking.progress(0, manifests.size());
    while (!pending.isEmpty()) {
      String id = pending.poll();
      if (!marked.add(id)) {
        continue;
      }
      marking.progress(marked.size(), Math.max(manifests.size(), marked.size()));
      ObjectManifest m;
      try {
        m = repo.manifest(id);
      } catch (NotFoundException missing) {
        continue; // a ref whose manifest is gone is reported by verify, not by gc
      }
      for (ChunkRef c : m.chunks()) {
        liveChunks.add(c.id());
      }
      pending.addAll(m.includes()); // manifests this one's content refers to
    }
    marking.progress(marked.size(), marked.size());
    liveManifests.addAll(marked);
    long manifestsDeleted = 0;
    for (int i = 0; i < manifests.size(); i++) {
      BlobInfo info = manifests.get(i);
      String id = info.key().substring(info.key().lastIndexOf('/') + 1);
      if (!liveManifests.contains(id)) {
        manifestsDeleted++;
        if (!dryRun) {
          (i < inMeta ? meta : repo.tiers()).delete(info.key());
        }
      }
    }
    long chunksDeleted = 0;
    long bytesFreed = 0;
    ChunkStore chunks = repo.chunkStore();
    List<BlobInfo> stored;
    try (Stream<BlobInfo> all = chunks.list()) {
      stored = all.toList();
    }
    List<BlobInfo> dead = new ArrayList<>();
    for (BlobInfo info : stored) {
      if (!liveChunks.contains(ChunkStore.idOf(info.key())) && info.lastModified().isBefore(cutoff)) {
        dead.add(info);
      }
    }
    sweeping.progress(0, dead.size());
    for (BlobInfo info : dead) {
      chunksDeleted++;
      bytesFreed += info.size();
      if (!dryRun) {
        chunks.delete(ChunkStore.idOf(info.key()));
      }
      sweeping.progress(chunksDeleted, dead.size());
    }
    // also when nothing was deleted: small packs (one per small commit) are merged
    int smallPacksMerged = dryRun ? repo.tiers().smallPacksToMerge() : repo.tiers().compact(0.5).smallPacksMerged();
    // packs a crash left without an index hold no reachable chunk; the lock keeps local writers
    // out, the grace period writers elsewhere on a shared store
    int orphanPacks = dryRun ? 0 : repo.tiers().deleteOrphanPacks(grace);
    return new GcResult(dryRun, pruned, liveManifests.size(), manifestsDeleted, liveChunks.size(), chunksDeleted,
        bytesFreed, orphanPacks, smallPacksMerged);
  }
}
