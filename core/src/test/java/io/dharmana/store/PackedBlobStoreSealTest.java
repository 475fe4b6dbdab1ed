package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
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

    /** What was asked and stored under packs/, in a fixed order. */
    String summary() {
      return "exists pack=" + count("exists pack") + ", exists idx=" + count("exists idx")
          + ", create pack=" + count("create pack") + ", create idx=" + count("create idx");
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

  /**
   * Writes the blobs into a packed store over {@code objects}, flushes and closes it; returns what
   * it asked and stored. With {@code failFirstIndexWrite}, the first write of an index fails.
   */
  private CountingStore writeAndFlush(BlobStore objects, List<byte[]> blobs, boolean failFirstIndexWrite) throws IOException {
    CountingStore counting = new CountingStore(objects);
    counting.failNextIndex.set(failFirstIndexWrite);
    try (PackedBlobStore store = PackedBlobStore.open(counting, PackOptions.defaults(dir.resolve("spool")))) {
      for (int i = 0; i < blobs.size(); i++) {
        store.write("chunks/" + i, blobs.get(i));
      }
      store.flush();
    }
    return counting;
  }

  /** Every blob read back by a store opened anew over what the packs left in {@code objects}. */
  private void assertReadBack(BlobStore objects, List<byte[]> blobs, long seed) {
    try (PackedBlobStore store = PackedBlobStore.open(objects, PackOptions.defaults(dir.resolve("spool")))) {
      for (int i = 0; i < blobs.size(); i++) {
        assertArrayEquals(blobs.get(i), store.read("chunks/" + i), "seed " + seed);
      }
    }
  }

  /**
   * A first seal asks nothing and stores the pack and its index once. A seal retried after its
   * index's write failed (the sealer's attempt; the flush tries once more) asks for both, finds the
   * pack and stores only the index.
   */
  @ParameterizedTest
  @CsvSource({
      "false, 'exists pack=0, exists idx=0, create pack=1, create idx=1'",
      "true, 'exists pack=1, exists idx=1, create pack=1, create idx=1'"})
  void aSealAsksOnlyWhenItIsRetried(boolean failFirstIndexWrite, String asked) throws Exception {
    long seed = 19_001;
    List<byte[]> blobs = blobs(seed);
    BlobStore memory = Stores.memory();
    CountingStore counting = writeAndFlush(memory, blobs, failFirstIndexWrite);
    assertFalse(counting.failNextIndex.get(), "seed " + seed + ": the failure was injected");
    assertEquals(asked, counting.summary(), "seed " + seed);
    assertReadBack(memory, blobs, seed);
  }
}
