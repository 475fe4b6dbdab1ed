package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pack's name and its index's name are made durable by one flush of their folder, so a machine
 * crash may keep the index and lose the pack's name: such an index is not loaded (its blobs were
 * never durable, so nothing refers to them), and the blobs' keys stay free to be written again.
 */
class PackedBlobStoreIndexTest {
  @TempDir Path dir;

  private PackedBlobStore open() {
    return PackedBlobStore.open(new LocalStore(dir.resolve("objects"), true, java.time.Clock.systemUTC()),
        PackOptions.defaults(dir.resolve("spool")));
  }

  private List<Path> files(String suffix) throws Exception {
    try (Stream<Path> all = Files.list(dir.resolve("objects").resolve("packs"))) {
      return all.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
    }
  }

  @Test
  void anIndexWhosePackNameACrashLostIsNotLoadedAndItsKeysCanBeWrittenAgain() throws Exception {
    long seed = 4242;
    Random random = new Random(seed);
    byte[] lost = new byte[5000];
    byte[] kept = new byte[7000];
    random.nextBytes(lost);
    random.nextBytes(kept);
    try (PackedBlobStore store = open()) {
      store.write("chunks/aa/lost", lost);
      store.flush();
    }
    // what a crash between the two links' flush can leave: the index's name without the pack's
    Path pack = files(".pack").get(0);
    Files.delete(pack);
    try (PackedBlobStore store = open()) {
      assertFalse(store.exists("chunks/aa/lost"), "seed " + seed + ": a blob of a pack that is not there");
      store.write("chunks/aa/lost", lost); // not taken for a duplicate of a blob that is gone
      store.write("chunks/bb/kept", kept);
      store.flush();
    }
    try (PackedBlobStore store = open()) {
      assertArrayEquals(lost, store.read("chunks/aa/lost"), "seed " + seed);
      assertArrayEquals(kept, store.read("chunks/bb/kept"), "seed " + seed);
    }
    assertEquals(1, files(".pack").size());
    assertEquals(2, files(".idx").size(), "the lone index stays (it is never loaded)");
  }

  @Test
  void aPackAndItsIndexCommittedTogetherAreBothThereAfterFlush() throws Exception {
    byte[] bytes = "one small blob".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (PackedBlobStore store = open()) {
      store.write("chunks/cc/one", bytes);
      store.flush();
      assertEquals(1, files(".pack").size());
      assertEquals(1, files(".idx").size());
    }
    try (PackedBlobStore store = open()) {
      assertTrue(store.exists("chunks/cc/one"));
      assertArrayEquals(bytes, store.read("chunks/cc/one"));
    }
  }
}
