package io.dharmana.s3;
import io.dharmana.store.PackedBlobStore;
import io.dharmana.store.PackOptions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CorruptDataException;
import io.dharmana.NotFoundException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.store.BlobInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

class PackedBlobStoreTest {
  private static final int KIB = 1024;
  private static final String BUCKET = "packed";
  private static final AtomicInteger REPOS = new AtomicInteger();

  @TempDir Path dir;
  private static S3ProxyServer server;

  @BeforeAll
  static void start() throws Exception {
    server = S3ProxyServer.shared();
    server.createBucket(BUCKET);
  }

  private String newRepo() {
    return "repo-" + REPOS.incrementAndGet();
  }

  private PackedBlobStore open(String repo, long packSize, long directThreshold) {
    return open(repo, packSize, directThreshold, "spool");
  }

  private PackedBlobStore open(String repo, long packSize, long directThreshold, String spool) {
    S3Store objects = S3Stores.create(
        "s3://" + BUCKET + "/" + repo,
        server.options().multipartThreshold(5 << 20).partSize(5 << 20).tempDirectory(dir).build());
    return PackedBlobStore.open(objects, new PackOptions(packSize, directThreshold, dir.resolve(spool)));
  }

  private static List<S3Object> objects(String repo) {
    try (S3Client client = server.client()) {
      return client.listObjectsV2Paginator(r -> r.bucket(BUCKET).prefix(repo + "/")).contents().stream().toList();
    }
  }

  /** Content-addressed chunks of seeded random sizes and bytes, keyed by their SHA-256. */
  private static Map<String, byte[]> chunks(long seed, int count, int minSize, int maxSize) {
    Random random = new Random(seed);
    Map<String, byte[]> chunks = new LinkedHashMap<>();
    while (chunks.size() < count) {
      byte[] bytes = new byte[minSize + random.nextInt(maxSize - minSize + 1)];
      random.nextBytes(bytes);
      chunks.put("chunks/" + ChunkId.of(bytes).hex(), bytes);
    }
    return chunks;
  }

  @Test
  void smallPacksAreMergedAndAStoreOpenedBeforeFindsEveryChunk() throws Exception {
    String repo = newRepo();
    Map<String, byte[]> chunks = chunks(52, 12, 256, 4 * KIB);
    try (PackedBlobStore store = open(repo, 1 << 20, 512 * KIB)) {
      for (Map.Entry<String, byte[]> e : chunks.entrySet()) { // one commit each: a pack each
        store.write(e.getKey(), e.getValue());
        store.flush();
      }
    }
    assertEquals(12, objects(repo).stream().filter(o -> o.key().endsWith(".pack")).count());
    try (PackedBlobStore reader = open(repo, 1 << 20, 512 * KIB, "reader-spool")) {
      String first = chunks.keySet().iterator().next();
      assertArrayEquals(chunks.get(first), reader.read(first)); // its pack is open here (HEAD done)
      try (PackedBlobStore gc = open(repo, 1 << 20, 512 * KIB, "gc-spool")) {
        assertEquals(12, gc.repack(0.5).smallPacksMerged());
      }
      assertEquals(1, objects(repo).stream().filter(o -> o.key().endsWith(".pack")).count());
      for (Map.Entry<String, byte[]> e : chunks.entrySet()) {
        assertArrayEquals(e.getValue(), reader.read(e.getKey()), "read by a store opened before the merge: " + e.getKey());
      }
    }
  }

  @Test
  void tenThousandSmallChunksBecomeAHandfulOfObjectsAndReadBackVerified() throws Exception {
    long seed = 51;
    String repo = newRepo();
    Map<String, byte[]> chunks = chunks(seed, 10_000, 256, 2 * KIB);
    try (PackedBlobStore store = open(repo, 1 << 20, 256 * KIB)) {
      ExecutorService writers = Executors.newFixedThreadPool(4);
      List<Future<?>> futures = new ArrayList<>();
      List<Map.Entry<String, byte[]>> all = new ArrayList<>(chunks.entrySet());
      for (int w = 0; w < 4; w++) {
        int from = w * all.size() / 4;
        int to = (w + 1) * all.size() / 4;
        futures.add(writers.submit(() -> {
          List<Map.Entry<String, byte[]>> mine = all.subList(from, to);
          for (int i = 0; i < mine.size(); i++) {
            store.write(mine.get(i).getKey(), mine.get(i).getValue());
            if (i % 100 == 99) {
              // read back an earlier chunk while packs fill, seal and drop their spools
              Map.Entry<String, byte[]> earlier = mine.get((int) ((i * 7919L) % (i + 1)));
              assertArrayEquals(earlier.getValue(), store.read(earlier.getKey()), "seed " + seed + " " + earlier.getKey());
            }
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
      writers.shutdown();
      // readable here before the flush, from the spool
      String first = all.get(0).getKey();
      assertArrayEquals(chunks.get(first), store.read(first), "seed " + seed);
      store.flush();
    }
    List<S3Object> objects = objects(repo);
    long bytes = chunks.values().stream().mapToLong(b -> b.length).sum();
    assertTrue(objects.size() <= 2 * (bytes / (1 << 20) + 2),
        "seed " + seed + ": " + chunks.size() + " chunks of " + bytes + " bytes became " + objects.size() + " objects");

    try (PackedBlobStore reopened = open(repo, 1 << 20, 256 * KIB)) {
      assertEquals(chunks.size(), reopened.list("chunks/").count(), "seed " + seed);
      Random pick = new Random(seed);
      List<String> keys = new ArrayList<>(chunks.keySet());
      for (int i = 0; i < 200; i++) {
        String key = keys.get(pick.nextInt(keys.size()));
        byte[] read = reopened.read(key);
        ChunkId.parse(key.substring("chunks/".length())).verify(read, key + " (seed " + seed + ")");
      }
    }
  }

  @Test
  void blobsAreDurableOnlyAfterFlush() throws Exception {
    String repo = newRepo();
    Map<String, byte[]> chunks = chunks(61, 20, 100, 1000);
    try (PackedBlobStore writer = open(repo, 1 << 20, 256 * KIB); PackedBlobStore reader = open(repo, 1 << 20, 256 * KIB)) {
      chunks.forEach(writer::write);
      assertEquals(20, writer.list("").count());
      reader.refresh();
      assertEquals(0, reader.list("").count(), "unflushed chunks must not be in the object store");
      writer.flush();
      reader.refresh();
      assertEquals(20, reader.list("").count());
      chunks.forEach((k, v) -> assertArrayEquals(v, reader.read(k), k));
    }
  }

  @Test
  void largeBlobsAreStoredAloneAndKeysStayImmutable() throws Exception {
    String repo = newRepo();
    byte[] large = new byte[600 * KIB];
    new Random(71).nextBytes(large);
    try (PackedBlobStore store = open(repo, 1 << 20, 256 * KIB)) {
      store.write("big/one", large);
      store.write("small/one", new byte[] {1, 2, 3});
      assertThrows(AlreadyExistsException.class, () -> store.write("big/one", new byte[] {1}));
      assertThrows(AlreadyExistsException.class, () -> store.write("small/one", new byte[] {9}));
      assertArrayEquals(large, store.read("big/one"));
      assertTrue(objects(repo).stream().anyMatch(o -> o.key().equals(repo + "/blobs/big/one")));
      assertThrows(NotFoundException.class, () -> store.open("small/none"));
    }
    try (PackedBlobStore reopened = open(repo, 1 << 20, 256 * KIB)) {
      assertEquals(List.of("big/one", "small/one"), reopened.list("").map(BlobInfo::key).toList());
      assertArrayEquals(large, reopened.read("big/one"));
      assertArrayEquals(new byte[] {1, 2, 3}, reopened.read("small/one"));
    }
  }

  @Test
  void deletedBlobsStayDeletedAndRepackReclaimsTheirBytes() throws Exception {
    long seed = 81;
    String repo = newRepo();
    Map<String, byte[]> chunks = chunks(seed, 80, 2 * KIB, 6 * KIB);
    List<String> keys = new ArrayList<>(chunks.keySet());
    try (PackedBlobStore store = open(repo, 256 * KIB, 64 * KIB)) {
      chunks.forEach(store::write);
      store.write("open/deleted-before-seal", new byte[] {5});
      assertTrue(store.delete("open/deleted-before-seal"));
      store.flush();
      for (int i = 0; i < keys.size(); i++) {
        if (i % 4 != 0) {
          assertTrue(store.delete(keys.get(i)));
        }
      }
      assertFalse(store.delete(keys.get(1)));
    }
    int packsBefore = (int) objects(repo).stream().filter(o -> o.key().endsWith(".pack")).count();
    try (PackedBlobStore store = open(repo, 256 * KIB, 64 * KIB)) {
      assertEquals(20, store.list("").count(), "seed " + seed);
      assertFalse(store.exists("open/deleted-before-seal"));
      PackedBlobStore.RepackResult result = store.repack(0.5);
      assertEquals(packsBefore, result.packsRewritten(), "seed " + seed + ": " + result);
      assertEquals(20, result.blobsMoved(), "seed " + seed);
      assertTrue(result.bytesReclaimed() > 0, "seed " + seed);
    }
    List<S3Object> after = objects(repo);
    assertTrue(after.stream().noneMatch(o -> o.key().contains("/dead/")), "marks of rewritten packs are deleted");
    assertTrue(after.stream().filter(o -> o.key().endsWith(".pack")).count() < packsBefore, "seed " + seed);
    try (PackedBlobStore store = open(repo, 256 * KIB, 64 * KIB)) {
      assertEquals(20, store.list("").count(), "seed " + seed);
      for (int i = 0; i < keys.size(); i += 4) {
        assertArrayEquals(chunks.get(keys.get(i)), store.read(keys.get(i)), "seed " + seed);
      }
    }
  }

  @Test
  void packsLeftWithoutAnIndexByACrashAreReaped() throws Exception {
    String repo = newRepo();
    try (PackedBlobStore store = open(repo, 1 << 20, 256 * KIB)) {
      store.write("kept", new byte[] {1});
    }
    try (S3Client client = server.client()) {
      // what a crash between uploading a pack and its index leaves
      client.putObject(r -> r.bucket(BUCKET).key(repo + "/packs/0000000000000-crashed.pack"), RequestBody.fromBytes(new byte[] {9, 9}));
    }
    try (PackedBlobStore store = open(repo, 1 << 20, 256 * KIB)) {
      assertEquals(0, store.deleteOrphanPacks(java.time.Duration.ofHours(1)), "too young to reap");
      assertEquals(1, store.deleteOrphanPacks(java.time.Duration.ZERO));
      assertArrayEquals(new byte[] {1}, store.read("kept"));
    }
    assertEquals(2, objects(repo).size(), "one pack and its index remain");
  }

  @Test
  void aCorruptedPackIsDetectedOnRead() throws Exception {
    String repo = newRepo();
    try (PackedBlobStore store = open(repo, 1 << 20, 256 * KIB)) {
      store.write("k", new byte[] {1, 2, 3, 4});
    }
    S3Object pack = objects(repo).stream().filter(o -> o.key().endsWith(".pack")).findFirst().orElseThrow();
    try (S3Client client = server.client()) {
      client.putObject(r -> r.bucket(BUCKET).key(pack.key()), RequestBody.fromBytes(new byte[] {1, 2, 7, 4}));
    }
    try (PackedBlobStore store = open(repo, 1 << 20, 256 * KIB)) {
      assertThrows(CorruptDataException.class, () -> store.read("k"));
    }
  }
}
