package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.store.BlobStore;
import io.dharmana.store.PackOptions;
import io.dharmana.store.PackedBlobStore;
import io.dharmana.store.Stores;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A packed store over a local directory, where sealed packs are read through memory mappings: the
 * pack index as a reopened store reads it (every key form, damage reported by name), and reads
 * that outlive a repack deleting the pack they had mapped.
 */
class PackedBlobStoreLocalTest {
  @TempDir Path dir;

  private PackedBlobStore open() {
    BlobStore objects = Stores.local(dir.resolve("objects"), false);
    return PackedBlobStore.open(objects, PackOptions.defaults(dir.resolve("spool")));
  }

  @Test
  void asciiAndNonAsciiKeysSurviveReopen() throws Exception {
    long seed = 77;
    Random random = new Random(seed);
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    for (String key : List.of("chunks/ab/" + "0".repeat(64), "models/modèle-日本/ø.bin", "a", "x/" + "é".repeat(300))) {
      byte[] bytes = new byte[1 + random.nextInt(4096)];
      random.nextBytes(bytes);
      blobs.put(key, bytes);
    }
    try (PackedBlobStore store = open()) {
      blobs.forEach(store::write);
      store.flush();
    }
    try (PackedBlobStore store = open()) {
      for (Map.Entry<String, byte[]> e : blobs.entrySet()) {
        assertArrayEquals(e.getValue(), store.read(e.getKey()), "seed " + seed + ", key " + e.getKey());
      }
    }
  }

  @Test
  void aTruncatedIndexIsReportedByName() throws Exception {
    try (PackedBlobStore store = open()) {
      store.write("k/" + "e".repeat(40), "payload".getBytes(StandardCharsets.UTF_8));
      store.flush();
    }
    Path index;
    try (Stream<Path> files = Files.walk(dir.resolve("objects"))) {
      index = files.filter(p -> p.toString().endsWith(".idx")).findFirst().orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(index);
    // cut inside the key and recompute nothing: the CRC check or the parser must refuse it
    for (int keep : new int[] {bytes.length - 5, 30, 27}) {
      index.toFile().setWritable(true);
      Files.write(index, java.util.Arrays.copyOf(bytes, keep));
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> {
        try (PackedBlobStore store = open()) {
          store.read("k/" + "e".repeat(40));
        }
      }, "index cut to " + keep + " bytes");
      assertTrue(e.getMessage().contains(".idx"), e.getMessage());
    }
  }

  /** Counts how the packed store writes its marks of deleted blobs: one at a time, or in batches. */
  private static final class CountingMarks extends io.dharmana.store.ForwardingBlobStore {
    final java.util.concurrent.atomic.AtomicInteger singleMarks = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger batches = new java.util.concurrent.atomic.AtomicInteger();

    CountingMarks(BlobStore delegate) {
      super(delegate);
    }

    @Override
    public io.dharmana.store.BlobOutput create(String key) {
      if (key.startsWith("dead/")) {
        singleMarks.incrementAndGet();
      }
      return super.create(key);
    }

    final java.util.concurrent.atomic.AtomicInteger marks = new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public void writeMarkers(java.util.Collection<String> keys) {
      batches.incrementAndGet();
      marks.addAndGet(keys.size());
      delegate().writeMarkers(keys);
    }
  }

  /** Holds the write of pack indexes until released, once armed. */
  private static final class HeldIndexes extends io.dharmana.store.ForwardingBlobStore {
    final java.util.concurrent.CountDownLatch reached = new java.util.concurrent.CountDownLatch(1);
    final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    volatile boolean armed;

    HeldIndexes(BlobStore delegate) {
      super(delegate);
    }

    @Override
    public io.dharmana.store.BlobOutput create(String key) {
      if (armed && key.endsWith(".idx")) {
        reached.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return super.create(key);
    }
  }

  @Test
  void aRefreshWhileAPackIsBetweenItsUploadAndItsIndexKeepsItsBlobs() throws Exception {
    HeldIndexes objects = new HeldIndexes(Stores.local(dir.resolve("objects"), false));
    try (PackedBlobStore store = PackedBlobStore.open(objects, PackOptions.defaults(dir.resolve("spool")))) {
      store.write("before", new byte[] {1});
      store.flush();
      objects.armed = true;
      store.write("sealing", new byte[] {2, 3});
      java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
      try {
        java.util.concurrent.Future<?> flush = threads.submit(() -> {
          store.flush(); // uploads the pack, then waits to write its index
          return null;
        });
        assertTrue(objects.reached.await(30, java.util.concurrent.TimeUnit.SECONDS), "the pack's index is being written");
        // what a gateway's upkeep does every 10 s: the pack is uploaded, its index not listed yet
        java.util.concurrent.Future<?> refreshed = threads.submit(() -> {
          store.refresh();
          return null;
        });
        try {
          refreshed.get(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException waitedForThePack) {
          // (a refresh that took the pack for gone waits for its sealing to let go of it, then drops it)
          objects.release.countDown();
          refreshed.get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
        objects.release.countDown();
        flush.get(30, java.util.concurrent.TimeUnit.SECONDS);
        // exists asks the index alone (a read that misses may refresh, and so hid the loss from this
        // reader but not from the others of the next 200 ms)
        assertTrue(store.exists("sealing"), "a pack whose index was being written is not gone");
        assertArrayEquals(new byte[] {2, 3}, store.read("sealing"));
      } finally {
        objects.release.countDown();
        threads.shutdownNow();
      }
      store.refresh();
      assertArrayEquals(new byte[] {2, 3}, store.read("sealing"));
      assertArrayEquals(new byte[] {1}, store.read("before"));
    }
  }

  @Test
  void aRepackWritesNoMarksForThePacksItDeletesAndKeepsTheOthers() throws Exception {
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    Random random = new Random(92);
    try (PackedBlobStore store = open()) {
      for (String pack : List.of("a", "b")) { // one pack each
        for (int i = 0; i < 1000; i++) {
          byte[] bytes = new byte[1 + random.nextInt(512)];
          random.nextBytes(bytes);
          blobs.put(pack + "/" + i, bytes);
          store.write(pack + "/" + i, bytes);
        }
        store.flush();
      }
    }
    CountingMarks counted = new CountingMarks(Stores.local(dir.resolve("objects"), true));
    List<String> deleted = new java.util.ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      deleted.add("a/" + i); // all of pack a
      if (i % 10 == 0) {
        deleted.add("b/" + i); // a tenth of pack b
      }
    }
    try (PackedBlobStore store = PackedBlobStore.open(counted, PackOptions.defaults(dir.resolve("spool")))) {
      deleted.forEach(store::delete);
      assertEquals(1, store.repack(0.5).packsRewritten(), "pack a, all dead");
      assertEquals(100, counted.marks.get(), "marks only for pack b, which stays");
    }
    assertReopenedHoldsOnly(blobs, deleted);
    try (BlobStore objects = Stores.local(dir.resolve("objects"), false)) {
      assertEquals(100, ((io.dharmana.store.SupportsListing) objects).list("dead/").count(), "no mark is left of pack a");
    }
  }

  @Test
  void deletesOfSealedBlobsAreMarkedInBatchesAndStayDeletedAfterReopen() throws Exception {
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    Random random = new Random(91);
    for (int i = 0; i < 80_000; i++) {
      byte[] bytes = new byte[1 + random.nextInt(64)];
      random.nextBytes(bytes);
      blobs.put("chunks/" + String.format("%02x", i % 256) + "/c" + i, bytes);
    }
    try (PackedBlobStore store = open()) {
      blobs.forEach(store::write);
      store.flush();
    }
    CountingMarks counted = new CountingMarks(Stores.local(dir.resolve("objects"), true));
    List<String> deleted = blobs.keySet().stream().filter(k -> !k.endsWith("7")).toList(); // 72,000 of 80,000
    try (PackedBlobStore store = PackedBlobStore.open(counted, PackOptions.defaults(dir.resolve("spool")))) {
      deleted.forEach(store::delete);
      store.flush();
      assertEquals(0, counted.singleMarks.get(), "no mark written on its own");
      assertEquals(2, counted.batches.get(), "72,000 marks: a full batch of 65,536 and the rest at the flush");
    }
    assertReopenedHoldsOnly(blobs, deleted);
  }

  /** A store opened afresh has none of {@code deleted} and every other blob of {@code blobs}, byte for byte. */
  private void assertReopenedHoldsOnly(Map<String, byte[]> blobs, List<String> deleted) {
    deleted.forEach(blobs::remove);
    try (PackedBlobStore store = open()) {
      for (String key : deleted) {
        assertTrue(!store.exists(key), key);
      }
      for (Map.Entry<String, byte[]> e : blobs.entrySet()) {
        assertArrayEquals(e.getValue(), store.read(e.getKey()), e.getKey());
      }
      assertEquals(blobs.size(), store.list("").count());
    }
  }

  @Test
  void readsStayExactAcrossARepackThatDeletesTheMappedPack() throws Exception {
    long seed = 78;
    Random random = new Random(seed);
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    for (int i = 0; i < 200; i++) {
      byte[] bytes = new byte[1 + random.nextInt(64 << 10)];
      random.nextBytes(bytes);
      blobs.put("chunks/" + i, bytes);
    }
    try (PackedBlobStore store = open()) {
      blobs.forEach(store::write);
      store.flush();
    }
    try (PackedBlobStore store = open()) {
      for (Map.Entry<String, byte[]> e : blobs.entrySet()) { // maps the sealed packs
        assertArrayEquals(e.getValue(), store.read(e.getKey()), "seed " + seed + ", " + e.getKey());
      }
      for (int i = 0; i < 200; i += 2) {
        store.delete("chunks/" + i);
        blobs.remove("chunks/" + i);
      }
      assertTrue(store.repack(0.1).packsRewritten() > 0, "the half-dead pack is rewritten");
      for (Map.Entry<String, byte[]> e : blobs.entrySet()) {
        assertArrayEquals(e.getValue(), store.read(e.getKey()), "after repack, seed " + seed + ", " + e.getKey());
      }
    }
    try (PackedBlobStore store = open()) {
      for (Map.Entry<String, byte[]> e : blobs.entrySet()) {
        assertArrayEquals(e.getValue(), store.read(e.getKey()), "reopened, seed " + seed + ", " + e.getKey());
      }
    }
  }
  @Test
  void aSealedPacksBlobIsReadAsAReadOnlySliceOfTheMapping() throws Exception {
    long seed = 79;
    Random random = new Random(seed);
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    for (int i = 0; i < 50; i++) {
      byte[] bytes = new byte[i == 0 ? 0 : 1 + random.nextInt(64 << 10)];
      random.nextBytes(bytes);
      blobs.put("chunks/" + i, bytes);
    }
    try (PackedBlobStore store = open()) {
      blobs.forEach(store::write);
      // still in the spool: a copy, like read
      ByteBuffer spooled = store.readBuffer("chunks/1");
      assertArrayEquals(blobs.get("chunks/1"), bytes(spooled), "seed " + seed + ", spooled");
      store.flush();
    }
    try (PackedBlobStore store = open()) {
      for (Map.Entry<String, byte[]> e : blobs.entrySet()) {
        ByteBuffer view = store.readBuffer(e.getKey());
        assertTrue(view.isDirect() && view.isReadOnly(), "a mapped, read-only view: " + view);
        assertArrayEquals(e.getValue(), bytes(view), "seed " + seed + ", " + e.getKey());
      }
    }
  }

  /**
   * A sealed pack cut short by something outside Dharmana (a disk-full repair, a user's {@code
   * truncate}): reading a blob past the new end through the mapping would fault, which crashes
   * the JVM in the CRC code. It must be a CorruptDataException naming the pack file and the blob,
   * whether the pack was mapped before the cut or is opened after it; blobs before the cut and
   * other packs' blobs still read.
   */
  @Test
  void aPackCutShortUnderneathIsCorruptDataNamingThePackAndTheBlob() throws Exception {
    long seed = 81;
    Random random = new Random(seed);
    Map<String, byte[]> cutPack = new LinkedHashMap<>();
    Map<String, byte[]> otherPack = new LinkedHashMap<>();
    try (PackedBlobStore store = open()) {
      for (Map<String, byte[]> pack : List.of(cutPack, otherPack)) {
        for (int i = 0; i < 40; i++) {
          byte[] bytes = new byte[1 + random.nextInt(64 << 10)];
          random.nextBytes(bytes);
          String key = "chunks/" + (pack == cutPack ? "a" : "b") + i;
          pack.put(key, bytes);
          store.write(key, bytes);
        }
        store.flush(); // one pack each
      }
    }
    long cutPackSize = cutPack.values().stream().mapToLong(b -> b.length).sum();
    Path pack;
    try (Stream<Path> files = Files.walk(dir.resolve("objects"))) {
      pack = files.filter(p -> p.toString().endsWith(".pack")).filter(p -> p.toFile().length() == cutPackSize).findFirst().orElseThrow();
    }
    String packName = pack.getFileName().toString();
    // cut inside the 20th blob, so that its page and those after it are gone
    long cut = 0;
    List<String> keys = List.copyOf(cutPack.keySet());
    for (int i = 0; i < 20; i++) {
      cut += cutPack.get(keys.get(i)).length;
    }
    cut += cutPack.get(keys.get(20)).length / 2;
    try (PackedBlobStore mappedBefore = open()) {
      for (Map.Entry<String, byte[]> e : cutPack.entrySet()) { // maps the pack
        assertArrayEquals(e.getValue(), bytes(mappedBefore.readBuffer(e.getKey())), "seed " + seed + ", " + e.getKey());
      }
      pack.toFile().setWritable(true);
      try (FileChannel channel = FileChannel.open(pack, StandardOpenOption.WRITE)) {
        channel.truncate(cut);
      }
      Thread.sleep(20); // the store trusts a length it learnt in the last 10 ms (a cut during reads may fault those)
      assertCutShortIsReported(mappedBefore, keys, cutPack, otherPack, packName, "mapped before the cut, seed " + seed);
    }
    try (PackedBlobStore openedAfter = open()) {
      assertCutShortIsReported(openedAfter, keys, cutPack, otherPack, packName, "opened after the cut, seed " + seed);
    }
  }

  private static void assertCutShortIsReported(PackedBlobStore store, List<String> keys, Map<String, byte[]> cutPack,
      Map<String, byte[]> otherPack, String packName, String context) {
    for (int i = 0; i < keys.size(); i++) {
      String key = keys.get(i);
      if (i < 20) {
        assertArrayEquals(cutPack.get(key), bytes(store.readBuffer(key)), context + ": before the cut, " + key);
        assertArrayEquals(cutPack.get(key), store.read(key), context + ": before the cut, " + key);
        continue;
      }
      for (boolean buffer : new boolean[] {true, false}) {
        CorruptDataException e = assertThrows(CorruptDataException.class,
            () -> {
              if (buffer) {
                store.readBuffer(key);
              } else {
                store.read(key);
              }
            }, context + ": " + key + (buffer ? " as a buffer" : ""));
        assertTrue(e.getMessage().contains(packName) && e.getMessage().contains(key), context + ": " + e.getMessage());
      }
    }
    for (Map.Entry<String, byte[]> e : otherPack.entrySet()) {
      assertArrayEquals(e.getValue(), bytes(store.readBuffer(e.getKey())), context + ": the other pack, " + e.getKey());
      assertArrayEquals(e.getValue(), store.read(e.getKey()), context + ": the other pack, " + e.getKey());
    }
  }

  @Test
  void aFlippedBitUnderTheMappingFailsTheCrc() throws Exception {
    long seed = 80;
    Random random = new Random(seed);
    byte[] bytes = new byte[100_000];
    random.nextBytes(bytes);
    try (PackedBlobStore store = open()) {
      store.write("chunks/one", bytes);
      store.flush();
    }
    Path pack;
    try (Stream<Path> files = Files.walk(dir.resolve("objects"))) {
      pack = files.filter(p -> p.toString().endsWith(".pack")).findFirst().orElseThrow();
    }
    byte[] stored = Files.readAllBytes(pack);
    int bit = random.nextInt(stored.length * 8);
    stored[bit >>> 3] ^= (byte) (1 << (bit & 7));
    pack.toFile().setWritable(true);
    Files.write(pack, stored);
    try (PackedBlobStore store = open()) {
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> store.readBuffer("chunks/one"), "seed " + seed + ", bit " + bit);
      assertTrue(e.getMessage().contains("CRC32C mismatch"), e.getMessage());
    }
  }

  private static byte[] bytes(ByteBuffer buffer) {
    byte[] bytes = new byte[buffer.remaining()];
    buffer.duplicate().get(bytes);
    return bytes;
  }
}
