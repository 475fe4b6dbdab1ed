package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a remote store every open reads each pack index, one request apiece: with local copies of
 * the indexes, an open reads from the store only the indexes it has no whole copy of.
 */
class PackedBlobStoreIndexCacheTest {
  private static final int PACKS = 12;

  @TempDir Path dir;
  private final List<byte[]> blobs = new ArrayList<>();
  private final long seed = 20_011;

  /** Counts the index reads that reach the store beneath. */
  private static final class IndexReads extends ForwardingBlobStore {
    final AtomicInteger count = new AtomicInteger();

    IndexReads(BlobStore delegate) {
      super(delegate);
    }

    @Override
    public byte[] read(String key) {
      if (key.endsWith(".idx")) {
        count.incrementAndGet();
      }
      return super.read(key);
    }
  }

  private Path cache() {
    return dir.resolve("cache");
  }

  private PackOptions options(boolean cached) {
    PackOptions options = PackOptions.defaults(dir.resolve("spool"));
    return cached ? options.withIndexCache(cache()) : options;
  }

  /** Opens a store over the objects, reads every blob back, and returns how many indexes it read from them. */
  private int openAndReadBack(boolean cached) {
    IndexReads objects = new IndexReads(new LocalStore(dir.resolve("objects"), true, java.time.Clock.systemUTC()));
    try (PackedBlobStore store = PackedBlobStore.open(objects, options(cached))) {
      for (int i = 0; i < blobs.size(); i++) {
        assertArrayEquals(blobs.get(i), store.read("chunks/" + i), "seed " + seed + ", blob " + i);
      }
    }
    return objects.count.get();
  }

  private List<Path> copies() throws Exception {
    if (!Files.isDirectory(cache())) {
      return List.of();
    }
    try (Stream<Path> all = Files.list(cache())) {
      return all.sorted().toList();
    }
  }

  /** Twelve packs, one per flush, written by a store with the cache. */
  @BeforeEach
  void writePacks() throws Exception {
    Random random = new Random(seed);
    try (PackedBlobStore store = PackedBlobStore.open(new LocalStore(dir.resolve("objects"), true, java.time.Clock.systemUTC()),
        options(true))) {
      for (int i = 0; i < PACKS; i++) {
        byte[] blob = new byte[1000 + random.nextInt(5000)];
        random.nextBytes(blob);
        blobs.add(blob);
        store.write("chunks/" + i, blob);
        store.flush();
      }
    }
  }

  @Test
  void anOpenReadsNoIndexItHasACopyOf() throws Exception {
    assertEquals(PACKS, copies().size(), "each seal keeps a copy of the index it wrote");
    assertEquals(0, openAndReadBack(true));
    assertEquals(PACKS, openAndReadBack(false), "without the cache each open reads every index");
    Stores.deleteTreeQuietly(cache(), false);
    assertEquals(PACKS, openAndReadBack(true), "copies gone: read from the store, and copied");
    assertEquals(PACKS, copies().size());
    assertEquals(0, openAndReadBack(true));
  }

  @Test
  void aDamagedOrCutCopyIsReadFromTheStoreAgain() throws Exception {
    List<Path> copies = copies();
    byte[] flipped = Files.readAllBytes(copies.get(0));
    flipped[flipped.length / 2] ^= 0x10;
    Files.write(copies.get(0), flipped);
    byte[] cut = Files.readAllBytes(copies.get(1));
    Files.write(copies.get(1), java.util.Arrays.copyOf(cut, cut.length - 3));
    Files.write(copies.get(2), new byte[0]);
    assertEquals(3, openAndReadBack(true), "the three bad copies, and only those");
    assertEquals(0, openAndReadBack(true), "replaced by whole copies");
  }

  @Test
  void copiesOfPacksAnotherProcessDeletedAreRemovedAtOpen() throws Exception {
    // a store without this cache (another machine's) merges the small packs into one
    try (PackedBlobStore store = PackedBlobStore.open(new LocalStore(dir.resolve("objects"), true, java.time.Clock.systemUTC()),
        options(false))) {
      assertTrue(store.repack(1.0).smallPacksMerged() >= PackedBlobStore.SMALL_PACKS_TO_MERGE);
    }
    List<String> before = copies().stream().map(p -> p.getFileName().toString()).toList();
    assertEquals(1, openAndReadBack(true), "the merged pack's index");
    List<String> after = copies().stream().map(p -> p.getFileName().toString()).toList();
    assertEquals(1, after.size(), "only the merged pack's copy stays: " + after);
    assertFalse(before.contains(after.get(0)));
  }

  @Test
  void aRepackThroughTheCacheDeletesTheCopiesOfThePacksItDeletes() throws Exception {
    try (PackedBlobStore store = PackedBlobStore.open(new LocalStore(dir.resolve("objects"), true, java.time.Clock.systemUTC()),
        options(true))) {
      store.repack(1.0);
    }
    assertEquals(1, copies().size(), copies().toString());
    assertEquals(0, openAndReadBack(true));
  }

  /**
   * An open that fails on a damaged index must not return while it still reads other indexes: a
   * read that ends after the open threw would write its copy into a cache the caller may be
   * deleting (a test's temporary directory, which then could not be deleted). Here the first
   * index listed is damaged and every other index read lasts a while after it, ignoring the
   * interrupt, as a blocking socket read does.
   */
  @Test
  void anOpenThatFailsOnADamagedIndexReadsNoMoreIndexesOnceItThrew() throws Exception {
    Stores.deleteTreeQuietly(cache(), false);
    List<String> indexes;
    try (Stream<Path> all = Files.walk(dir.resolve("objects"))) {
      indexes = all.map(p -> dir.resolve("objects").relativize(p).toString().replace('\\', '/'))
          .filter(k -> k.endsWith(".idx")).sorted().toList();
    }
    String damaged = indexes.get(0);
    Path file = dir.resolve("objects").resolve(damaged);
    Files.write(file, new byte[(int) Files.size(file)]);
    java.util.concurrent.CountDownLatch damagedRead = new java.util.concurrent.CountDownLatch(1);
    AtomicInteger reading = new AtomicInteger();
    BlobStore objects = new ForwardingBlobStore(new LocalStore(dir.resolve("objects"), true, java.time.Clock.systemUTC())) {
      @Override
      public byte[] read(String key) {
        if (!key.endsWith(".idx")) {
          return super.read(key);
        }
        if (key.equals(damaged)) {
          try {
            return super.read(key);
          } finally {
            damagedRead.countDown();
          }
        }
        reading.incrementAndGet();
        try {
          boolean interrupted = false;
          long until = System.nanoTime() + 300_000_000L;
          for (long left; (left = until - System.nanoTime()) > 0; ) {
            try {
              if (damagedRead.getCount() > 0) {
                damagedRead.await(left, java.util.concurrent.TimeUnit.NANOSECONDS);
              } else {
                Thread.sleep(Math.max(1, left / 1_000_000));
              }
            } catch (InterruptedException e) {
              interrupted = true;
            }
          }
          if (interrupted) {
            Thread.currentThread().interrupt();
          }
          return super.read(key);
        } finally {
          reading.decrementAndGet();
        }
      }
    };
    var e = org.junit.jupiter.api.Assertions.assertThrows(io.dharmana.CorruptDataException.class,
        () -> PackedBlobStore.open(objects, options(true)));
    int stillReading = reading.get();
    List<Path> copiesWhenThrown = copies();
    assertTrue(e.getMessage().contains("Cannot load pack index"), e.getMessage());
    assertEquals(0, stillReading, "index reads still running when the open threw");
    Thread.sleep(400); // a read the open left running would write its copy by now
    assertEquals(copiesWhenThrown, copies(), "copies written after the open threw");
  }
}
