package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A local store removes the directories a delete leaves empty: a packed tier's {@code dead/}
 * filled with empty directories, one per repacked pack and key prefix, for ever. Writers into a
 * directory being removed are not disturbed.
 */
class LocalStoreDirectoriesTest {
  private static final long SEED = 2323L;

  @TempDir Path dir;

  /** Every directory under {@code top} that holds nothing. */
  private static List<Path> emptyDirectories(Path top) throws Exception {
    if (!Files.isDirectory(top)) {
      return List.of();
    }
    List<Path> empty = new ArrayList<>();
    try (Stream<Path> all = Files.walk(top)) {
      for (Path d : (Iterable<Path>) all.filter(Files::isDirectory)::iterator) {
        try (Stream<Path> entries = Files.list(d)) {
          if (entries.findAny().isEmpty()) {
            empty.add(d);
          }
        }
      }
    }
    return empty;
  }

  @Test
  void aDeleteRemovesTheDirectoriesItEmptiesAndKeepsTheOthers() throws Exception {
    Path root = dir.resolve("objects");
    LocalStore store = new LocalStore(root, true, Clock.systemUTC());
    store.write("a/b/c/one", new byte[] {1});
    store.write("a/b/two", new byte[] {2});
    store.write("top", new byte[] {3});
    assertTrue(store.delete("a/b/c/one"));
    assertFalse(Files.exists(root.resolve("a/b/c")), "a/b/c held only the deleted blob");
    assertTrue(Files.isDirectory(root.resolve("a/b")), "a/b still holds two");
    assertTrue(store.delete("a/b/two"));
    assertFalse(Files.exists(root.resolve("a")));
    assertTrue(store.delete("top"));
    assertTrue(Files.isDirectory(root), "the store's own directory stays");
    assertEquals(List.of(), emptyDirectories(root).stream().filter(d -> !d.equals(root) && !d.endsWith(".tmp")).toList());
    store.write("a/b/c/one", new byte[] {4}); // the directories come back when needed
    assertArrayEquals(new byte[] {4}, store.read("a/b/c/one"));
  }

  /** Marks in dead/ are deleted with their pack by a repack: their directories go with them. */
  @Test
  void aRepackLeavesNoEmptyDirectoriesUnderDead() throws Exception {
    Random random = new Random(SEED);
    Path objects = dir.resolve("objects");
    try (PackedBlobStore store = PackedBlobStore.open(new LocalStore(objects, true, Clock.systemUTC()),
        PackOptions.defaults(dir.resolve("spool")))) {
      List<String> keys = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        byte[] id = new byte[8];
        random.nextBytes(id);
        String hex = HexFormat.of().formatHex(id);
        String key = "chunks/" + hex.substring(0, 2) + "/" + hex;
        byte[] data = new byte[100 + random.nextInt(2000)];
        random.nextBytes(data);
        store.write(key, data);
        keys.add(key);
      }
      store.flush(); // sealed: deletes are marks under dead/<pack>/
      for (String key : keys) {
        assertTrue(store.delete(key));
      }
      store.flush(); // the marks are written
      try (Stream<Path> marks = Files.walk(objects.resolve("dead"))) {
        assertEquals(keys.size(), marks.filter(Files::isRegularFile).count(), "seed " + SEED);
      }
      assertEquals(1, store.repack(1.0).packsRewritten(), "seed " + SEED);
    }
    assertEquals(List.of(), emptyDirectories(objects.resolve("dead")), "seed " + SEED);
  }

  /**
   * Writers and deleters of keys in the same few directories, at once: every write lands although
   * its directory may be removed, by a delete of the last other blob in it, between creating it and
   * linking into it; and no emptied directory stays.
   */
  @Test
  void writesIntoADirectoryBeingRemovedStillLand() throws Exception {
    Path root = dir.resolve("objects");
    LocalStore store = new LocalStore(root, false, Clock.systemUTC());
    int threads = 4;
    int rounds = 400;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          Random random = new Random(SEED + thread);
          for (int i = 0; i < rounds; i++) {
            String key = "dead/p" + random.nextInt(2) + "/chunks/" + random.nextInt(2) + "/t" + thread + "-" + i;
            byte[] data = {(byte) i};
            store.write(key, data);
            assertArrayEquals(data, store.read(key), "seed " + SEED + ", thread " + thread);
            assertTrue(store.delete(key)); // its directory is emptied and refilled often

          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    try (Stream<BlobInfo> all = store.list("")) {
      assertEquals(0, all.count(), "seed " + SEED);
    }
    assertFalse(Files.exists(root.resolve("dead")), "seed " + SEED + ": emptied directories stay");
  }
}
