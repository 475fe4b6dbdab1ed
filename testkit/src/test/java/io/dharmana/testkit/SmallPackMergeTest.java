package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.store.PackOptions;
import io.dharmana.store.PackedBlobStore;
import io.dharmana.store.Stores;
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
      assertEquals(10, store.repack(0.5).packsRewritten());
      assertHolds(store, blobs, "merged again");
    }
    assertEquals(1, packFiles(".pack").size());
    try (PackedBlobStore store = open("spool")) {
      assertHolds(store, blobs, "reopened");
    }
  }
}
