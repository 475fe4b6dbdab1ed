package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.chunk.ChunkId;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ObjectManifest;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Unnamed objects that live only because a named one includes them (a checkpoint's tensors, a
 * delta's base) are data the repository holds: the stats count them, each once however many
 * objects include it, with their chunks deduplicated like any other object's.
 */
class RepositoryStatsTest {
  @TempDir Path dir;

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void objectsLiveOnlyThroughIncludesCountOnce(long seed) {
    Random random = new Random(seed);
    try (Repository r = Repository.init(dir, RepositoryTest.zstd())) {
      int baseSize = 200_000 + random.nextInt(300_000);
      int deltaSize = 100_000 + random.nextInt(200_000);
      int sharedSize = 100_000 + random.nextInt(200_000);
      long sharedSeed = random.nextLong();
      Repository.StoredObject base = r.write(new SyntheticData(random.nextLong(), baseSize), PutOptions.defaults());
      // a delta names its base; it is included by step 1, its base also by step 2 directly
      Repository.StoredObject delta = r.write(new SyntheticData(random.nextLong(), deltaSize),
          PutOptions.defaults().withIncludes(List.of(base.manifestId())));
      Repository.StoredObject shared = r.write(new SyntheticData(sharedSeed, sharedSize), PutOptions.defaults());
      ObjectInfo step1 = r.put("steps/1", new SyntheticData(random.nextLong(), 3000),
          PutOptions.defaults().withIncludes(List.of(delta.manifestId(), shared.manifestId())));
      ObjectInfo step2 = r.put("steps/2", new SyntheticData(random.nextLong(), 2000),
          PutOptions.defaults().withIncludes(List.of(shared.manifestId(), base.manifestId())));
      // a named copy of the shared object's bytes: its chunks are stored once
      ObjectInfo copy = r.put("copy", new SyntheticData(sharedSeed, sharedSize), PutOptions.defaults());
      // written, never included: garbage until gc, not live data
      r.write(new SyntheticData(random.nextLong(), 50_000), PutOptions.defaults());

      List<ObjectManifest> live = List.of(r.manifest(step1.manifestId()), r.manifest(step2.manifestId()),
          r.manifest(copy.manifestId()), base.manifest(), delta.manifest(), shared.manifest());
      long logical = 0;
      long referenced = 0;
      Map<ChunkId, Integer> unique = new HashMap<>();
      for (ObjectManifest m : live) {
        logical += m.size();
        referenced += m.storedBytes();
        for (ChunkRef c : m.chunks()) {
          unique.put(c.id(), c.storedLength());
        }
      }
      RepositoryStats stats = r.stats();
      String context = "seed " + seed + ": " + stats;
      assertEquals(3, stats.objects(), context);
      assertEquals(3, stats.includedObjects(), context);
      assertEquals(logical, stats.logicalBytes(), context);
      assertEquals(3000 + 2000 + sharedSize + baseSize + deltaSize + sharedSize, stats.logicalBytes(), context);
      assertEquals(referenced, stats.referencedStoredBytes(), context);
      assertEquals(unique.values().stream().mapToLong(Integer::longValue).sum(), stats.uniqueStoredBytes(), context);
      assertEquals(shared.manifest().storedBytes(), stats.dedupSavedBytes(), "the copy's chunks are the shared object's: " + context);
    }
  }

  /**
   * The tiers' counters are the process's work, not the reads that take the statistics: a fresh
   * process's stats of a repository of 20 objects reported 20 hits (its own reads of their
   * manifests), and each call more.
   */
  @Test
  void takingTheStatisticsCountsNoTierReads() {
    Random random = new Random(17);
    try (Repository r = Repository.init(dir, RepositoryTest.zstd())) {
      for (int i = 0; i < 20; i++) {
        r.put("objects/" + i, new SyntheticData(random.nextLong(), 10_000 + random.nextInt(50_000)), PutOptions.defaults());
      }
    }
    try (Repository r = Repository.open(dir)) {
      for (int round = 0; round < 2; round++) {
        RepositoryStats stats = r.stats();
        assertEquals(20, stats.objects());
        for (io.dharmana.store.TierStats t : stats.tiers()) {
          assertEquals(0, t.hits() + t.misses() + t.promotions() + t.demotions(), "round " + round + ": " + t);
          assertTrue(t.objects() > 20 && t.bytesHeld() > 0, t.toString());
        }
      }
      // the process's own reads still count
      try (java.io.InputStream in = r.open("objects/3")) {
        in.readAllBytes();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      assertTrue(r.stats().tiers().get(0).hits() > 0, r.stats().tiers().toString());
    }
  }
}
