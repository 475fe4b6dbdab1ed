package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deleting a local blob removes the directories it leaves empty (a packed tier's deletion marks
 * piled up as one empty directory per pack), and a commit racing with such a removal still lands.
 */
class LocalStoreEmptyDirectoriesTest {
  @TempDir Path dir;

  @Test
  void deletingABlobRemovesTheDirectoriesItLeavesEmpty() {
    try (BlobStore store = Stores.local(dir, false)) {
      store.write("dead/pack-1/chunks/ab", bytes("x"));
      store.write("dead/pack-1/refs/main", bytes("y"));
      store.write("dead/pack-2/chunks/cd", bytes("z"));
      assertTrue(store.delete("dead/pack-1/chunks/ab"));
      assertFalse(Files.exists(dir.resolve("dead/pack-1/chunks")), "an emptied directory goes");
      assertTrue(Files.isDirectory(dir.resolve("dead/pack-1/refs")), "a directory holding a blob stays");
      assertTrue(store.delete("dead/pack-1/refs/main"));
      assertFalse(Files.exists(dir.resolve("dead/pack-1")));
      assertTrue(Files.isDirectory(dir.resolve("dead/pack-2")));
      assertTrue(store.delete("dead/pack-2/chunks/cd"));
      assertFalse(Files.exists(dir.resolve("dead")), "up to the root");
      assertTrue(Files.isDirectory(dir), "the root stays");
      store.write("top", bytes("t"));
      assertTrue(store.delete("top"));
      assertTrue(Files.isDirectory(dir));
      store.write("dead/pack-1/chunks/ab", bytes("again"));
      assertArrayEquals(bytes("again"), store.read("dead/pack-1/chunks/ab"), "a removed directory is made again");
    }
  }

  /** One thread commits and deletes blobs in a directory while another commits blobs into it: every commit lands. */
  @Test
  void commitsRacingWithDirectoryRemovalLand() throws Exception {
    int rounds = 3000;
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (BlobStore store = Stores.local(dir, false)) {
      Future<?> churn = pool.submit(() -> {
        for (int i = 0; i < rounds; i++) {
          store.write("d/e/churn-" + i, bytes("c" + i));
          assertTrue(store.delete("d/e/churn-" + i));
        }
      });
      Future<?> keep = pool.submit(() -> {
        for (int i = 0; i < rounds; i++) {
          // alone in its directory until written: the churn's deletes try to remove d/e/k<i % 50>
          store.write("d/e/k" + (i % 50) + "/blob-" + i, bytes("k" + i));
          if (i % 50 == 49) {
            for (int j = i - 49; j <= i; j++) {
              assertTrue(store.delete("d/e/k" + (j % 50) + "/blob-" + j));
            }
          }
        }
      });
      churn.get();
      keep.get();
      List<String> left = new ArrayList<>();
      try (var blobs = ((SupportsListing) store).list("")) {
        blobs.forEach(b -> left.add(b.key()));
      }
      assertEquals(List.of(), left, "every blob committed was deleted again");
      assertFalse(Files.exists(dir.resolve("d")), "and no directory is left");
    } finally {
      pool.shutdownNow();
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
