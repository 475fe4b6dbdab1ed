package io.dharmana.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A loader's shard counters are its own reads: two epochs' loaders running at once (the next one
 * reading ahead, as {@code dataset bench --epochs} does) add up to the dataset's counts over the
 * span, each read counted once, and an epoch of a dataset without stages reads exactly its
 * samples' bytes.
 */
class StoredBytesReadTest {
  @TempDir Path tmp;

  @ParameterizedTest(name = "{0}, seed {1}")
  @CsvSource({"none, 1", "none, 2", "zstd, 3", "zstd, 4"})
  void overlappingEpochsAddUpToTheDatasetsCounts(String stage, long seed) throws Exception {
    Random random = new Random(seed);
    Path src = tmp.resolve("src");
    DatasetPackTest.writeRandomTree(src, random, 200);
    StageChain chain = stage.equals("none") ? new StageChain(List.of()) : Stages.chain(List.of(StageSpec.of(stage)), StageContext.system());
    DatasetIndex index = DatasetPackTest.pack(tmp.resolve("ds"), List.of(src), 128 * 1024, 16 * 1024, chain);
    long shardBytes = index.shards().get(0).storedBytes();
    // a cache tier of two shards: hits, misses, copies and evictions happen in both loaders
    try (BlobStore store = Stores.local(tmp.resolve("ds"), false); BlobStore cache = Stores.local(tmp.resolve("cache"), false);
        Dataset dataset = Dataset.open(store, "", cache, 2 * shardBytes + 1)) {
      ShardCacheStats before = dataset.counters();
      LoaderStats first;
      LoaderStats second;
      try (DataLoader a = DataLoader.builder(dataset).batchSize(8).shuffle(seed).epoch(0).build();
          DataLoader b = DataLoader.builder(dataset).batchSize(8).shuffle(seed).epoch(1).build()) {
        Iterator<Batch> ia = a.iterator();
        Iterator<Batch> ib = b.iterator();
        while (ia.hasNext() || ib.hasNext()) {
          Iterator<Batch> next = !ib.hasNext() || (ia.hasNext() && random.nextBoolean()) ? ia : ib;
          next.next().close();
        }
        first = a.stats();
        second = b.stats();
      }
      ShardCacheStats span = dataset.counters().minus(before);
      String context = stage + ", seed " + seed + ": " + first.shards() + " + " + second.shards() + " against " + span;
      assertEquals(span, first.shards().plus(second.shards()), context);
      assertEquals(span, first.plus(second).shards(), context);
      assertEquals(first.shards(), span.minus(second.shards()), context);
      assertTrue(span.misses() > 0 && span.evictions() > 0, "the cache tier was exercised: " + context);
      if (stage.equals("none")) {
        assertEquals(index.bytes(), first.shards().storedBytesRead(), "an epoch reads every sample's bytes once: " + context);
        assertEquals(index.bytes(), second.shards().storedBytesRead(), "an epoch reads every sample's bytes once: " + context);
      }
    }
  }
}
