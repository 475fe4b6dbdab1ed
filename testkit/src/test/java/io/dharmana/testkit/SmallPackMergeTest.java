package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.stage.StageSpec;
import io.dharmana.store.PackOptions;
import io.dharmana.store.PackedBlobStore;
import io.dharmana.store.Stores;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small packs (a flush seals the open pack however little it holds, so one small commit makes one
 * pack and one index) are merged by {@link PackedBlobStore#repack}, on real files: every blob
 * survives byte for byte, a store opened before the merge (a gateway while gc runs) still finds
 * every blob, a damaged blob stops the merge before anything is deleted, and a crash between the
 * new pack's seal and the old packs' deletion leaves a store that reads and merges again.
 */
class SmallPackMergeTest {
  @TempDir Path dir;

  private PackedBlobStore open(String spool) {
    return PackedBlobStore.open(Stores.local(dir.resolve("objects"), false), PackOptions.defaults(dir.resolve(spool)));
  }

  /** {@code n} blobs of 1-8 KiB, each committed alone: {@code n} small packs. */
  private Map<String, byte[]> commitOneByOne(int n, long seed) throws IOException {
    Random random = new Random(seed);
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    try (PackedBlobStore store = open("spool")) {
      for (int i = 0; i < n; i++) {
        byte[] bytes = new byte[1024 + random.nextInt(7 * 1024)];
        random.nextBytes(bytes);
        blobs.put("chunks/" + i, bytes);
        store.write("chunks/" + i, bytes);
        store.flush();
      }
    }
    assertEquals(n, packFiles(".pack").size());
    return blobs;
  }

  private List<Path> packFiles(String suffix) {
    try (Stream<Path> files = Files.walk(dir.resolve("objects"))) {
      return files.filter(p -> p.toString().endsWith(suffix)).sorted().toList();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void assertHolds(PackedBlobStore store, Map<String, byte[]> blobs, String when) {
    int i = 0;
    for (Map.Entry<String, byte[]> e : blobs.entrySet()) {
      // both read paths: a copy, and a view of the mapping
      byte[] read = i++ % 2 == 0 ? store.read(e.getKey()) : bytesOf(store.readBuffer(e.getKey()));
      assertArrayEquals(e.getValue(), read, when + ": " + e.getKey());
    }
  }

  private static byte[] bytesOf(ByteBuffer buffer) {
    byte[] bytes = new byte[buffer.remaining()];
    buffer.duplicate().get(bytes);
    return bytes;
  }

  @Test
  void smallPacksAreMergedIntoOneAndADeletedBlobIsDropped() throws IOException {
    Map<String, byte[]> blobs = commitOneByOne(20, 20);
    try (PackedBlobStore store = open("spool")) {
      assertTrue(store.delete("chunks/0")); // its pack is all dead: rewritten as dead, not as small
      blobs.remove("chunks/0");
      PackedBlobStore.RepackResult result = store.repack(0.5);
      assertEquals(new PackedBlobStore.RepackResult(20, 19, result.bytesReclaimed(), 19), result);
      assertTrue(result.bytesReclaimed() > 0, result.toString());
      assertHolds(store, blobs, "after the merge");
    }
    assertEquals(1, packFiles(".pack").size());
    assertEquals(1, packFiles(".idx").size());
    try (PackedBlobStore store = open("spool")) {
      assertHolds(store, blobs, "reopened");
      assertFalse(store.exists("chunks/0"));
      assertEquals(0, store.repack(0.5).packsRewritten(), "one small pack is left alone");
    }
  }

  @Test
  void fewerSmallPacksThanEightStay() throws IOException {
    Map<String, byte[]> blobs = commitOneByOne(PackedBlobStore.SMALL_PACKS_TO_MERGE - 1, 7);
    try (PackedBlobStore store = open("spool")) {
      assertEquals(new PackedBlobStore.RepackResult(0, 0, 0, 0), store.repack(0.5));
      assertHolds(store, blobs, "not merged");
    }
    assertEquals(PackedBlobStore.SMALL_PACKS_TO_MERGE - 1, packFiles(".pack").size());
  }

  @Test
  void aStoreOpenedBeforeAnotherMergedFindsEveryBlob() throws IOException {
    Map<String, byte[]> blobs = commitOneByOne(12, 12);
    try (PackedBlobStore reader = open("reader-spool")) {
      assertArrayEquals(blobs.get("chunks/1"), reader.read("chunks/1")); // this one's pack is mapped now
      try (PackedBlobStore gc = open("gc-spool")) {
        assertTrue(gc.delete("chunks/0"));
        assertEquals(12, gc.repack(0.5).packsRewritten());
      }
      assertEquals(1, packFiles(".pack").size(), "the old packs are deleted");
      // the reader's index still names the old packs: a read finds its pack gone, refreshes, reads
      // the blob where the merge put it
      blobs.remove("chunks/0");
      assertHolds(reader, blobs, "read by a store opened before the merge");
      assertFalse(reader.exists("chunks/0"), "the blob the merge dropped as deleted is gone here too");
      assertThrows(io.dharmana.NotFoundException.class, () -> reader.read("chunks/0"));
    }
  }

  @Test
  void aStoreThatRefreshesWhileTheOldPacksAreBeingDeletedFindsEveryBlob() throws IOException {
    Map<String, byte[]> blobs = commitOneByOne(12, 13);
    Path saved = Files.createDirectories(dir.resolve("saved"));
    List<Path> oldPacks = packFiles(".pack");
    for (Path p : packFiles("")) {
      if (Files.isRegularFile(p)) {
        Files.copy(p, saved.resolve(p.getFileName()));
      }
    }
    try (PackedBlobStore reader = open("reader-spool")) {
      try (PackedBlobStore gc = open("gc-spool")) {
        assertEquals(12, gc.repack(0.5).smallPacksMerged());
      }
      // what the reader sees while gc deletes the old packs one by one: the merged pack and all
      // old ones but the first (the first read finds it gone and refreshes, seeing each blob twice)
      Path packs = oldPacks.get(0).getParent();
      for (Path p : oldPacks.subList(1, oldPacks.size())) {
        String base = p.getFileName().toString().replace(".pack", "");
        Files.copy(saved.resolve(base + ".pack"), packs.resolve(base + ".pack"));
        Files.copy(saved.resolve(base + ".idx"), packs.resolve(base + ".idx"));
      }
      assertHolds(reader, Map.of("chunks/0", blobs.get("chunks/0")), "the first old pack gone");
      // then the rest go
      for (Path p : oldPacks.subList(1, oldPacks.size())) {
        Files.delete(p);
        Files.delete(Path.of(p.toString().replace(".pack", ".idx")));
      }
      assertHolds(reader, blobs, "every old pack gone");
    }
  }

  @Test
  void aDamagedBlobStopsTheMergeBeforeAnythingIsDeleted() throws IOException {
    Map<String, byte[]> blobs = commitOneByOne(10, 10);
    Path damaged = packFiles(".pack").get(3);
    damaged.toFile().setWritable(true);
    byte[] bytes = Files.readAllBytes(damaged);
    bytes[bytes.length / 2] ^= 0x10;
    Files.write(damaged, bytes);
    try (PackedBlobStore store = open("spool")) {
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> store.repack(0.5));
      assertTrue(e.getMessage().contains("CRC32C mismatch"), e.getMessage());
    }
    assertTrue(packFiles(".pack").contains(damaged), "no old pack is deleted");
    try (PackedBlobStore store = open("spool")) {
      int readable = 0;
      for (Map.Entry<String, byte[]> e : blobs.entrySet()) {
        try {
          assertArrayEquals(e.getValue(), store.read(e.getKey()), e.getKey());
          readable++;
        } catch (CorruptDataException expected) {
          // the damaged one: still refused, never resealed under a fresh CRC
        }
      }
      assertEquals(9, readable);
    }
  }

  @Test
  void aCrashBeforeTheOldPacksAreDeletedLeavesAStoreThatReadsAndMergesAgain() throws IOException {
    Map<String, byte[]> blobs = commitOneByOne(9, 9);
    // the state a crash leaves between sealing the merged pack and deleting the old ones: both
    Path saved = Files.createDirectories(dir.resolve("saved"));
    for (Path p : packFiles("")) {
      if (Files.isRegularFile(p)) {
        Files.copy(p, saved.resolve(p.getFileName()));
      }
    }
    try (PackedBlobStore store = open("spool")) {
      assertEquals(9, store.repack(0.5).smallPacksMerged());
    }
    Path packs = packFiles(".idx").get(0).getParent();
    try (Stream<Path> old = Files.list(saved)) {
      for (Path p : old.toList()) {
        Files.copy(p, packs.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    assertEquals(10, packFiles(".pack").size());
    try (PackedBlobStore store = open("spool")) {
      assertHolds(store, blobs, "every blob in two packs");
      // the old packs' copies are not read, so they are dead: the old packs go, the merged one stays
      long oldBytes = blobs.values().stream().mapToLong(b -> b.length).sum();
      assertEquals(new PackedBlobStore.RepackResult(9, 0, oldBytes, 0), store.repack(0.5));
      assertHolds(store, blobs, "merged again");
    }
    assertEquals(1, packFiles(".pack").size());
    try (PackedBlobStore store = open("spool")) {
      assertHolds(store, blobs, "reopened");
    }
  }

  /** A merge run after every commit. */
  private interface Merge {
    PackedBlobStore.RepackResult run(PackedBlobStore store) throws IOException;
  }

  private static final Merge BY_SIZE = PackedBlobStore::mergeSmallPacks;
  private static final Merge ALL_SMALL = store -> store.repack(1.0);
  private static final Merge NONE = store -> new PackedBlobStore.RepackResult(0, 0, 0, 0);

  /**
   * Commits blobs {@code from..from+n} of {@code size} bytes one by one, running {@code merge}
   * after each (as a gateway merges between commits); returns the blobs moved.
   */
  private static long commitEach(PackedBlobStore store, Map<String, byte[]> blobs, int from, int n, int size,
      Random random, Merge merge) throws IOException {
    long moved = 0;
    for (int i = from; i < from + n; i++) {
      byte[] bytes = new byte[size];
      random.nextBytes(bytes);
      blobs.put("chunks/" + i, bytes);
      store.write("chunks/" + i, bytes);
      store.flush();
      moved += merge.run(store).blobsMoved();
    }
    return moved;
  }

  @Test
  void aWriterMergesBySizeSoEachBlobIsRewrittenOncePerSizeStep() throws IOException {
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    Random random = new Random(8);
    try (PackedBlobStore store = open("spool")) {
      // 2 KiB packs: eight of them make one of 16 KiB, a size step (8x) up
      assertEquals(8, commitEach(store, blobs, 0, 8, 2048, random, BY_SIZE));
      assertEquals(1, packFiles(".pack").size());
      assertEquals(0, commitEach(store, blobs, 8, 7, 2048, random, BY_SIZE), "7 small packs of a size stay");
      assertEquals(8, commitEach(store, blobs, 15, 1, 2048, random, BY_SIZE), "the 8th merges them, not the larger one");
      assertEquals(2, packFiles(".pack").size());
      assertHolds(store, blobs, "after two merges");
    }
    try (PackedBlobStore store = open("spool")) {
      assertHolds(store, blobs, "reopened");
    }
  }

  @Test
  void mergingBySizeRewritesFarLessThanMergingAllSmallPacksEachTime() throws IOException {
    int n = 300;
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    long tiered;
    try (PackedBlobStore store = open("spool")) {
      tiered = commitEach(store, blobs, 0, n, 2048, new Random(300), BY_SIZE);
      assertHolds(store, blobs, "merged by size after every commit");
    }
    // 300 packs of 2 KiB climb at most three steps (16 KiB, 128 KiB, 1 MiB); fewer than 8 of a size stay
    assertTrue(tiered <= 3L * n, "blobs moved " + tiered);
    assertTrue(packFiles(".pack").size() < 3 * PackedBlobStore.SMALL_PACKS_TO_MERGE, packFiles(".pack").toString());
    Path other = dir.resolve("objects");
    deleteTree(other);
    long all;
    try (PackedBlobStore store = open("spool")) {
      all = commitEach(store, new LinkedHashMap<String, byte[]>(), 0, n, 2048, new Random(300), ALL_SMALL);
    }
    // the merge of all small packs rewrites the growing merged pack every 7 commits: quadratic
    System.out.printf("blobs moved merging %d one-blob commits: by size %d, all small packs each time %d (%.1fx)%n",
        n, tiered, all, (double) all / tiered);
    assertTrue(all > 3 * tiered, "by size " + tiered + ", all " + all);
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Test
  void aMergerWhosePacksAnotherMergedSkipsThemAndStillReadsEveryBlob() throws IOException {
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    try (PackedBlobStore store = open("spool")) {
      commitEach(store, blobs, 0, 12, 2048, new Random(14), NONE); // 12 packs of one size
    }
    try (PackedBlobStore stale = open("stale-spool")) {
      assertArrayEquals(blobs.get("chunks/3"), stale.read("chunks/3")); // one pack it has open
      try (PackedBlobStore other = open("other-spool")) {
        assertEquals(12, other.mergeSmallPacks().smallPacksMerged());
      }
      // the 11 packs it never opened are gone: skipped; the open one it still reads and merges again
      PackedBlobStore.RepackResult result = stale.mergeSmallPacks();
      assertTrue(result.smallPacksMerged() <= 1, result.toString());
      assertHolds(stale, blobs, "read by the store whose merge found its packs gone");
    }
    try (PackedBlobStore store = open("spool")) {
      assertHolds(store, blobs, "reopened");
    }
  }

  @Test
  void mergingWhileWritersAndReadersRunLosesNothing() throws Exception {
    Map<String, byte[]> blobs = new java.util.concurrent.ConcurrentHashMap<>();
    List<String> committed = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
    java.util.concurrent.atomic.AtomicInteger merged = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try (PackedBlobStore store = open("spool")) {
      List<java.util.concurrent.Future<?>> work = new java.util.ArrayList<>();
      for (int w = 0; w < 2; w++) {
        int writer = w;
        work.add(pool.submit(() -> {
          Random random = new Random(writer);
          for (int i = 0; i < 200; i++) {
            byte[] bytes = new byte[512 + random.nextInt(4096)];
            random.nextBytes(bytes);
            String key = "chunks/" + writer + "-" + i;
            store.write(key, bytes);
            store.flush();
            blobs.put(key, bytes);
            committed.add(key);
          }
          return null;
        }));
      }
      work.add(pool.submit(() -> {
        while (writing.get()) {
          merged.addAndGet(store.mergeSmallPacks().smallPacksMerged());
        }
        return null;
      }));
      work.add(pool.submit(() -> {
        Random random = new Random(9);
        while (writing.get()) {
          if (!committed.isEmpty()) {
            String key = committed.get(random.nextInt(committed.size()));
            byte[] read = random.nextBoolean() ? store.read(key) : bytesOf(store.readBuffer(key));
            assertArrayEquals(blobs.get(key), read, key);
            reads.incrementAndGet();
          }
        }
        return null;
      }));
      work.get(0).get();
      work.get(1).get();
      writing.set(false);
      for (java.util.concurrent.Future<?> f : work) {
        f.get();
      }
      assertTrue(merged.get() > 0, "merged " + merged);
      assertTrue(reads.get() > 0, "reads " + reads);
      assertHolds(store, blobs, "after concurrent merges");
    } finally {
      pool.shutdownNow();
    }
    assertTrue(packFiles(".pack").size() < 400 / 4, packFiles(".pack").size() + " packs");
    try (PackedBlobStore store = open("spool")) {
      assertHolds(store, blobs, "reopened");
    }
  }

  @Test
  void aMergeACrashLeftHalfDoneIsFinishedWithoutCopyingTheBlobsAgain() throws IOException {
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    try (PackedBlobStore store = open("spool")) {
      commitEach(store, blobs, 0, 9, 2048, new Random(15), NONE); // 9 packs of 2 KiB
    }
    Path saved = Files.createDirectories(dir.resolve("saved"));
    for (Path p : packFiles("")) {
      if (Files.isRegularFile(p)) {
        Files.copy(p, saved.resolve(p.getFileName()));
      }
    }
    try (PackedBlobStore store = open("spool")) {
      assertEquals(9, store.mergeSmallPacks().smallPacksMerged()); // one pack of 18 KiB, a size step up
    }
    // the state a crash leaves between sealing the merged pack and deleting the old ones
    Path packs = packFiles(".idx").get(0).getParent();
    try (Stream<Path> old = Files.list(saved)) {
      for (Path p : old.toList()) {
        Files.copy(p, packs.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    try (PackedBlobStore store = open("spool")) {
      // the old packs hold nothing live: the merged pack's copies are the ones read
      PackedBlobStore.RepackResult result = store.mergeSmallPacks();
      assertEquals(new PackedBlobStore.RepackResult(9, 0, 9 * 2048, 9), result); // all their bytes were copies
      assertHolds(store, blobs, "after the merge was finished");
    }
    List<Path> left = packFiles(".pack");
    assertEquals(1, left.size(), left.toString());
    assertEquals(9 * 2048, Files.size(left.get(0)), "no blob is stored twice");
    try (PackedBlobStore store = open("spool")) {
      assertHolds(store, blobs, "reopened");
    }
  }

  /**
   * A store that read the small packs it then merged keeps neither a handle nor a mapping of them:
   * either would hold the deleted files' disk space (in a gateway, for as long as the garbage
   * collector leaves them).
   */
  @Test
  void packsAStoreMergedAwayAreNeitherOpenNorMappedInIt() throws IOException {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs Linux's /proc");
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    try (PackedBlobStore store = open("spool")) {
      commitEach(store, blobs, 0, 8, 2048, new Random(16), NONE);
      assertHolds(store, blobs, "read from the small packs"); // opens (and would map) each of them
      List<String> small = packFiles(".pack").stream().map(p -> p.getFileName().toString()).toList();
      assertEquals(8, store.mergeSmallPacks().smallPacksMerged());
      assertHolds(store, blobs, "read after the merge");
      for (String name : small) {
        assertTrue(OpenFiles.held(name).isEmpty(), name + " is still open or mapped: " + OpenFiles.held(name));
      }
    }
  }

  /**
   * {@link OpenFiles#held} once nothing more is let go within 10 s: a mapping goes when the collector
   * has freed its buffer, which the store asked for but which finishes on the collector's threads.
   */
  private static List<String> heldOnceCollected(String fileName) throws IOException, InterruptedException {
    return OpenFiles.heldAfter(fileName, java.time.Duration.ofSeconds(10));
  }

  /** 1 MiB packs: one of 4 blobs of 100 KiB is neither small nor merged in the background. */
  private PackedBlobStore openWithSmallPacks(String spool) {
    return PackedBlobStore.open(Stores.local(dir.resolve("objects"), false),
        new PackOptions(1 << 20, 512 << 10, dir.resolve(spool)));
  }

  private static Map<String, byte[]> writeOnePack(PackedBlobStore store, int blobs, long seed) throws IOException {
    Random random = new Random(seed);
    Map<String, byte[]> written = new LinkedHashMap<>();
    for (int i = 0; i < blobs; i++) {
      byte[] bytes = new byte[100 << 10];
      random.nextBytes(bytes);
      written.put("chunks/" + i, bytes);
      store.write("chunks/" + i, bytes);
    }
    store.flush();
    return written;
  }

  /**
   * A gateway reads a large pack (a descriptor, and a mapping), then a gc in another process
   * repacks it away. Holding either would keep the deleted file's disk space for as long as the
   * gateway runs, and the gc would have reclaimed nothing. Its next check lets go of
   * both (the mapping once collected, which the store asks for).
   */
  @Test
  void aPackAnotherProcessRepackedAwayIsLetGoOf() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs Linux's /proc");
    try (PackedBlobStore gateway = openWithSmallPacks("spool-gateway")) {
      Map<String, byte[]> blobs = writeOnePack(gateway, 4, 17);
      String pack = packFiles(".pack").get(0).getFileName().toString();
      assertHolds(gateway, blobs, "read by the gateway"); // a copy and a view of the mapping each
      List<String> held = OpenFiles.held(pack);
      assertTrue(held.stream().anyMatch(h -> h.startsWith("mapping")), "the test needs a mapped pack: " + held);
      try (PackedBlobStore gc = openWithSmallPacks("spool-gc")) {
        gc.delete("chunks/0");
        gc.delete("chunks/1");
        assertEquals(1, gc.repack(0.5).packsRewritten());
      }
      blobs.remove("chunks/0");
      blobs.remove("chunks/1");
      assertTrue(packFiles(".pack").stream().noneMatch(p -> p.getFileName().toString().equals(pack)), "the gc deleted it");
      gateway.releaseDeletedPacks(); // what the gateway runs every few seconds
      assertEquals(List.of(), heldOnceCollected(pack), "the gateway still holds the deleted pack");
      assertHolds(gateway, blobs, "read by the gateway from where the gc moved them");
      assertThrows(io.dharmana.NotFoundException.class, () -> gateway.read("chunks/0"));
    }
  }

  /**
   * The same through a repository, as {@code dharmana serve} holds one: the gateway's background
   * merge learns of the gc run beside it, and lets go of the pack that gc deleted.
   */
  @Test
  void aServingRepositoryLetsGoOfAPackAGcBesideItDeleted() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs Linux's /proc");
    Path repo = dir.resolve("repo");
    Random random = new Random(19);
    byte[] keep = new byte[3 << 20];
    byte[] drop = new byte[3 << 20]; // random: a pack of 3 MiB, which is mapped
    random.nextBytes(keep);
    random.nextBytes(drop);
    PipelineDescriptor zstd = PipelineDescriptor.of("zstd3",
        StorageDescriptor.of(List.of(StageSpec.of("zstd", Map.of("level", "3")))));
    try (Repository r = Repository.init(repo, zstd)) {
      r.put("keep", new ByteArrayInputStream(keep), PutOptions.defaults());
    }
    java.util.Set<String> before = packNames(repo);
    try (Repository gateway = Repository.open(repo)) {
      gateway.put("drop", new ByteArrayInputStream(drop), PutOptions.defaults());
      java.util.Set<String> dropPacks = packNames(repo);
      dropPacks.removeAll(before);
      assertEquals(1, dropPacks.size(), dropPacks.toString());
      String dropPack = dropPacks.iterator().next();
      try (java.io.InputStream in = gateway.open("drop")) {
        assertArrayEquals(drop, in.readAllBytes());
      }
      assertTrue(OpenFiles.held(dropPack).stream().anyMatch(h -> h.startsWith("mapping")),
          "the test needs a mapped pack: " + OpenFiles.held(dropPack));
      try (Repository gc = Repository.open(repo)) {
        gc.remove("drop");
        gc.gc(java.time.Duration.ZERO);
      }
      assertFalse(packNames(repo).contains(dropPack), "the gc deleted the pack");
      gateway.releaseDeletedPacks(); // what the gateway runs every few seconds
      assertEquals(List.of(), heldOnceCollected(dropPack), "the gateway still holds the pack the gc deleted");
      try (java.io.InputStream in = gateway.open("keep")) {
        assertArrayEquals(keep, in.readAllBytes());
      }
    }
  }

  private static java.util.Set<String> packNames(Path repo) throws IOException {
    try (Stream<Path> files = Files.walk(repo)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".pack"))
          .collect(java.util.stream.Collectors.toCollection(java.util.HashSet::new));
    }
  }

  /**
   * A crash between a repack's seal of the new pack and its deletion of the old one leaves the
   * live blobs in both. The old copies are not read (the newer pack's are), so they count as dead
   * in the old pack: the next gc reclaims it, where before they counted as live and a large pack
   * that was mostly such copies kept them for good.
   */
  @Test
  void aLargePackARepackLeftBehindIsReclaimedByTheNextGc() throws IOException {
    Map<String, byte[]> blobs;
    try (PackedBlobStore store = openWithSmallPacks("spool")) {
      blobs = writeOnePack(store, 4, 18);
      store.delete("chunks/3"); // a quarter dead: below gc's half, so this pack is kept
      blobs.remove("chunks/3");
    }
    Path saved = Files.createDirectories(dir.resolve("saved"));
    Path objects = dir.resolve("objects");
    List<Path> before;
    try (Stream<Path> files = Files.walk(objects)) {
      before = files.filter(Files::isRegularFile).toList();
    }
    for (Path p : before) {
      Files.copy(p, Files.createDirectories(saved.resolve(objects.relativize(p)).getParent())
          .resolve(p.getFileName()));
    }
    long oldPack = Files.size(packFiles(".pack").get(0));
    try (PackedBlobStore store = openWithSmallPacks("spool")) {
      assertEquals(1, store.repack(0.25).packsRewritten()); // 3 live blobs move to a new pack
    }
    // the state a crash leaves before the old pack, its index and its deletion mark are deleted
    // (the mark's directory too: the store removes a directory once a delete empties it)
    for (Path p : before) {
      Files.copy(saved.resolve(objects.relativize(p)), Files.createDirectories(p.getParent()).resolve(p.getFileName()),
          StandardCopyOption.REPLACE_EXISTING);
    }
    assertEquals(2, packFiles(".pack").size());
    try (PackedBlobStore store = openWithSmallPacks("spool")) {
      assertHolds(store, blobs, "with the old pack back");
      PackedBlobStore.RepackResult result = store.repack(0.5); // what gc runs
      assertEquals(new PackedBlobStore.RepackResult(1, 0, oldPack, 0), result);
      assertHolds(store, blobs, "after the gc");
    }
    List<Path> left = packFiles(".pack");
    assertEquals(1, left.size(), left.toString());
    assertEquals(3 * (100 << 10), Files.size(left.get(0)), "no blob is stored twice");
    try (PackedBlobStore store = openWithSmallPacks("spool")) {
      assertHolds(store, blobs, "reopened");
      assertThrows(io.dharmana.NotFoundException.class, () -> store.read("chunks/3"));
    }
  }
}
