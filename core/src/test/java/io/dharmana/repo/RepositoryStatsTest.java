package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.dharmana.chunk.ChunkId;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ObjectManifest;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
}
