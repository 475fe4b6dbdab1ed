package io.dharmana.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.dataset.Batch;
import io.dharmana.dataset.DataLoader;
import io.dharmana.dataset.Dataset;
import io.dharmana.dataset.DatasetIndex;
import io.dharmana.dataset.DatasetPacker;
import io.dharmana.dataset.Sample;
import io.dharmana.dataset.ShardCacheStats;
import io.dharmana.dataset.ShardInfo;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A dataset packed into and streamed from a real S3-compatible server (S3Proxy on loopback): the
 * loader reads shards held in the object tier with ranged GETs, or through a cache tier on local
 * disk, and hands out exactly the packed files.
 */
class S3DatasetTest {
  private static final int SAMPLES = 240;

  @TempDir static Path dir;
  private static S3ProxyServer server;
  private static S3Store store;
  private static Map<String, byte[]> files;
  private static DatasetIndex index;

  @BeforeAll
  static void packIntoS3() throws Exception {
    server = S3ProxyServer.shared();
    server.createBucket("datasets");
    store = S3Stores.create("s3://datasets/images/train", server.options().parallelism(4).tempDirectory(dir).build());
    Path src = dir.resolve("src");
    files = new HashMap<>();
    Random random = new Random(7);
    for (int i = 0; i < SAMPLES; i++) {
      // sizes across the 32 KiB blocks the shards are cut into, some empty
      byte[] bytes = new byte[i % 17 == 0 ? 0 : random.nextInt(90_000)];
      random.nextBytes(bytes);
      String key = String.format("class%d/%04d.bin", i % 3, i);
      Files.createDirectories(src.resolve(key).getParent());
      Files.write(src.resolve(key), bytes);
      files.put(key, bytes);
    }
    index = DatasetPacker.builder(store).shardSize(1 << 20).blockSize(32 * 1024).threads(2).build().pack(List.of(src));
    assertTrue(index.shards().size() > 3, "several shards: " + index.shards().size());
  }

  @AfterAll
  static void stop() {
    store.close();
  }

  /** Every sample the loader hands out, checked against the file it was packed from. */
  private static int readAll(DataLoader loader) {
    int read = 0;
    for (Batch batch : loader) {
      for (Sample s : batch.samples()) {
        byte[] expected = files.get(s.key());
        assertArrayEquals(expected, s.bytes(), s.key());
        read++;
      }
    }
    return read;
  }

  @Test
  void shuffledEpochFromTheObjectTierHandsOutEveryFileOnce() {
    try (Dataset dataset = Dataset.open(store, "");
        DataLoader loader = DataLoader.builder(dataset).batchSize(16).shuffle(3).readers(2).prefetch(4).build()) {
      assertEquals(SAMPLES, dataset.size());
      assertEquals(SAMPLES, readAll(loader));
      assertTrue(loader.stats().shards().storedBytesRead() > 0, loader.stats().toString());
    }
  }

  @Test
  void aCacheTierOnLocalDiskIsFilledOnceAndHitAfter() throws IOException {
    Path cacheDir = Files.createTempDirectory(dir, "cache");
    long allShards = index.shards().stream().mapToLong(ShardInfo::storedBytes).sum();
    try (BlobStore cache = Stores.local(cacheDir, false); Dataset dataset = Dataset.open(store, "", cache, 2 * allShards)) {
      for (long epoch = 0; epoch < 2; epoch++) {
        try (DataLoader loader = DataLoader.builder(dataset).batchSize(8).shuffle(5).epoch(epoch).readers(2).build()) {
          assertEquals(SAMPLES, readAll(loader));
        }
      }
      ShardCacheStats counters = dataset.counters();
      assertEquals(index.shards().size(), counters.misses(), "each shard fetched from S3 once: " + counters);
      assertTrue(counters.hits() > counters.misses(), counters.toString());
      assertEquals(allShards, counters.fetchedBytes(), counters.toString());
      for (ShardInfo shard : index.shards()) {
        assertTrue(Files.exists(cacheDir.resolve(shard.key())), "cached: " + shard.key());
      }
    }
  }

  @Test
  void aFlippedBitInAnObjectNamesTheShardAndSample() throws Exception {
    // a copy of the dataset under another prefix, one shard's byte flipped on the server
    try (S3Store copy = S3Stores.create("s3://datasets/images/flipped", server.options().tempDirectory(dir).build())) {
      ShardInfo corrupt = index.shards().get(1);
      copy.write(DatasetIndex.KEY, store.read(DatasetIndex.KEY));
      for (ShardInfo shard : index.shards()) {
        byte[] bytes = store.read(shard.key());
        if (shard == corrupt) {
          bytes[bytes.length / 2] ^= 0x10;
        }
        copy.write(shard.key(), bytes);
      }
      try (Dataset dataset = Dataset.open(copy, ""); DataLoader loader = DataLoader.builder(dataset).batchSize(8).readers(2).build()) {
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> readAll(loader));
        assertTrue(e.getMessage().contains(corrupt.key()) && e.getMessage().contains("sample "), e.getMessage());
      }
    }
  }
}
