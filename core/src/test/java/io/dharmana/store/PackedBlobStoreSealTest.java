package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a seal asks of the store under the packs: on an object store every question is a request
 * (a HEAD) on each commit's path, so a first seal asks none, and a seal retried after a failure
 * asks what the failed attempt stored, and stores each object once.
 */
class PackedBlobStoreSealTest {
  @TempDir Path dir;

  /** Counts what the packed store asks and creates, per kind of key; fails the first index write if told. */
  private static final class CountingStore extends ForwardingBlobStore {
    final ConcurrentHashMap<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    final AtomicBoolean failNextIndex = new AtomicBoolean();

    CountingStore(BlobStore delegate) {
      super(delegate);
    }

    int count(String what) {
      return counts.computeIfAbsent(what, k -> new AtomicInteger()).get();
    }

    private void add(String what) {
      counts.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
    }

    private static String kind(String key) {
      return key.endsWith(".pack") ? "pack" : key.endsWith(".idx") ? "idx" : "other";
    }

    @Override
    public boolean exists(String key) {
      add("exists " + kind(key));
      return super.exists(key);
    }

    @Override
    public BlobOutput create(String key) {
      if (kind(key).equals("idx") && failNextIndex.getAndSet(false)) {
        throw new java.io.UncheckedIOException(new IOException("Cannot create " + key + ": injected failure"));
      }
      add("create " + kind(key));
      return super.create(key);
    }
  }

  private static List<byte[]> blobs(long seed) {
    Random random = new Random(seed);
    return List.of(bytes(random, 5000), bytes(random, 70_000), bytes(random, 1));
  }

  private static byte[] bytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  @Test
  void aFirstSealAsksNothingAndStoresThePackAndItsIndexOnce() throws Exception {
    long seed = 19_001;
    List<byte[]> blobs = blobs(seed);
    BlobStore memory = Stores.memory();
    CountingStore counting = new CountingStore(memory);
    try (PackedBlobStore store = PackedBlobStore.open(counting, PackOptions.defaults(dir.resolve("spool")))) {
      for (int i = 0; i < blobs.size(); i++) {
        store.write("chunks/" + i, blobs.get(i));
      }
      store.flush();
      assertEquals(0, counting.count("exists pack"), "seed " + seed + ": " + counting.counts);
      assertEquals(0, counting.count("exists idx"), "seed " + seed + ": " + counting.counts);
      assertEquals(1, counting.count("create pack"), "seed " + seed + ": " + counting.counts);
      assertEquals(1, counting.count("create idx"), "seed " + seed + ": " + counting.counts);
    }
    try (PackedBlobStore store = PackedBlobStore.open(memory, PackOptions.defaults(dir.resolve("spool")))) {
      for (int i = 0; i < blobs.size(); i++) {
        assertArrayEquals(blobs.get(i), store.read("chunks/" + i), "seed " + seed);
      }
    }
  }

  @Test
  void aSealRetriedAfterItsIndexFailedAsksWhatTheFailedAttemptStoredAndUploadsThePackOnce() throws Exception {
    long seed = 19_002;
    List<byte[]> blobs = blobs(seed);
    BlobStore memory = Stores.memory();
    CountingStore counting = new CountingStore(memory);
    counting.failNextIndex.set(true);
    try (PackedBlobStore store = PackedBlobStore.open(counting, PackOptions.defaults(dir.resolve("spool")))) {
      for (int i = 0; i < blobs.size(); i++) {
        store.write("chunks/" + i, blobs.get(i));
      }
      store.flush(); // the sealer's attempt fails; the flush tries once more, and that succeeds
      assertFalse(counting.failNextIndex.get(), "seed " + seed + ": the index's first write failed");
      assertEquals(1, counting.count("create pack"), "seed " + seed + ": the pack is stored once; " + counting.counts);
      assertEquals(1, counting.count("create idx"), "seed " + seed + ": " + counting.counts);
      assertTrue(counting.count("exists pack") >= 1, "seed " + seed + ": the retry asks; " + counting.counts);
    }
    try (PackedBlobStore store = PackedBlobStore.open(memory, PackOptions.defaults(dir.resolve("spool")))) {
      for (int i = 0; i < blobs.size(); i++) {
        assertArrayEquals(blobs.get(i), store.read("chunks/" + i), "seed " + seed);
      }
    }
  }
}
