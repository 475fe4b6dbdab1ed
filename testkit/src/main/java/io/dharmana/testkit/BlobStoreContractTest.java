package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.dharmana.AlreadyExistsException;
import io.dharmana.NotFoundException;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobInput;
import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import io.dharmana.store.SupportsListing;
import io.dharmana.store.SupportsTouch;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The contract of {@link BlobStore} as tests, in the manner of Lucene's {@code
 * BaseDirectoryTestCase}: every store implementation extends this class and supplies {@link
 * #newStore()}. Durable stores also override {@link #supportsReopen()} and {@link
 * #reopen(BlobStore)}.
 *
 * <p>Random data comes from one seed per test, printed in every assertion message; set the
 * system property {@code dharmana.seed} to repeat a failing run.
 */
public abstract class BlobStoreContractTest {
  private final List<BlobStore> opened = new ArrayList<>();

  /** A new, empty store. Stores returned here are closed after each test. */
  protected abstract BlobStore newStore() throws Exception;

  /** Whether {@link #reopen} is implemented (the store keeps its blobs across instances). */
  protected boolean supportsReopen() {
    return false;
  }

  /** Closes {@code store} and opens a new instance over the same data. */
  protected BlobStore reopen(BlobStore store) throws Exception {
    throw new UnsupportedOperationException("Cannot reopen " + store + ": override reopen() and supportsReopen()");
  }

  private BlobStore store() throws Exception {
    BlobStore store = newStore();
    opened.add(store);
    return store;
  }

  @AfterEach
  void closeStores() {
    for (BlobStore store : opened) {
      store.close();
    }
    opened.clear();
  }

  /** A seed for this test, from {@code -Ddharmana.seed} or fresh. */
  protected static long seed() {
    Long fixed = Long.getLong("dharmana.seed");
    return fixed != null ? fixed : new Random().nextLong();
  }

  protected static byte[] randomBytes(Random random, int size) {
    byte[] bytes = new byte[size];
    random.nextBytes(bytes);
    return bytes;
  }

  private static List<String> keys(BlobStore store, String prefix) {
    try (Stream<BlobInfo> infos = ((SupportsListing) store).list(prefix)) {
      return infos.map(BlobInfo::key).collect(Collectors.toList());
    }
  }

  @Test
  void writeThenReadBack() throws Exception {
    long seed = seed();
    Random random = new Random(seed);
    BlobStore store = store();
    byte[] bytes = randomBytes(random, 1 + random.nextInt(100_000));
    store.write("runs/7/blob", bytes);
    assertTrue(store.exists("runs/7/blob"), "seed " + seed);
    assertArrayEquals(bytes, store.read("runs/7/blob"), "seed " + seed);
    try (BlobInput in = store.open("runs/7/blob")) {
      assertEquals(bytes.length, in.length(), "seed " + seed);
    }
  }

  @Test
  void emptyBlobRoundTrips() throws Exception {
    BlobStore store = store();
    store.write("empty", new byte[0]);
    assertTrue(store.exists("empty"));
    assertArrayEquals(new byte[0], store.read("empty"));
    try (BlobInput in = store.open("empty")) {
      assertEquals(0, in.length());
      assertEquals(-1, in.read(0, ByteBuffer.allocate(1)));
    }
  }

  @Test
  void readBufferHoldsTheBlobFromPositionZero() throws Exception {
    long seed = seed();
    Random random = new Random(seed);
    BlobStore store = store();
    List<byte[]> blobs = List.of(new byte[0], randomBytes(random, 1), randomBytes(random, 1 + random.nextInt(100_000)));
    for (int i = 0; i < blobs.size(); i++) {
      store.write("buffers/" + i, blobs.get(i));
    }
    assertBuffersHold(store, blobs, seed);
    if (supportsReopen()) {
      BlobStore reopened = reopen(store); // where sealed packs are read through mappings
      opened.add(reopened);
      assertBuffersHold(reopened, blobs, seed);
    }
  }

  private static void assertBuffersHold(BlobStore store, List<byte[]> blobs, long seed) {
    for (int i = 0; i < blobs.size(); i++) {
      ByteBuffer buffer = store.readBuffer("buffers/" + i);
      assertEquals(0, buffer.position(), "seed " + seed + ", blob " + i);
      byte[] got = new byte[buffer.remaining()];
      buffer.duplicate().get(got);
      assertArrayEquals(blobs.get(i), got, "seed " + seed + ", blob " + i);
      assertArrayEquals(blobs.get(i), store.read("buffers/" + i), "seed " + seed + ", blob " + i + " read after its buffer");
    }
    assertThrows(NotFoundException.class, () -> store.readBuffer("buffers/missing"));
  }

  @Test
  void openMissingKeyThrowsNotFound() throws Exception {
    BlobStore store = store();
    assertThrows(NotFoundException.class, () -> store.open("missing"));
    assertFalse(store.exists("missing"));
  }

  @Test
  void createOnExistingKeyFailsAndKeepsOldBytes() throws Exception {
    long seed = seed();
    Random random = new Random(seed);
    BlobStore store = store();
    byte[] first = randomBytes(random, 5000);
    store.write("k", first);
    assertThrows(AlreadyExistsException.class, () -> store.write("k", randomBytes(random, 7000)), "seed " + seed);
    BlobOutput late = store.create("k");
    late.write(randomBytes(random, 10));
    assertThrows(AlreadyExistsException.class, late::close, "seed " + seed);
    late.abort();
    assertArrayEquals(first, store.read("k"), "seed " + seed);
  }

  @Test
  void nothingVisibleBeforeClose() throws Exception {
    long seed = seed();
    Random random = new Random(seed);
    BlobStore store = store();
    byte[] bytes = randomBytes(random, 20_000);
    BlobOutput out = store.create("pending/blob");
    out.write(bytes, 0, 10_000);
    assertFalse(store.exists("pending/blob"), "seed " + seed);
    assertThrows(NotFoundException.class, () -> store.open("pending/blob"));
    if (store instanceof SupportsListing) {
      assertEquals(List.of(), keys(store, ""), "seed " + seed);
    }
    out.write(bytes, 10_000, 10_000);
    assertEquals(20_000, out.written());
    out.close();
    assertTrue(store.exists("pending/blob"));
    assertArrayEquals(bytes, store.read("pending/blob"), "seed " + seed);
    if (store instanceof SupportsListing) {
      assertEquals(List.of("pending/blob"), keys(store, ""), "seed " + seed);
    }
  }

  @Test
  void abortLeavesNothing() throws Exception {
    long seed = seed();
    Random random = new Random(seed);
    BlobStore store = store();
    BlobOutput out = store.create("aborted");
    out.write(randomBytes(random, 100_000));
    out.abort();
    out.abort();
    out.close(); // close after abort must not commit
    assertFalse(store.exists("aborted"));
    assertThrows(NotFoundException.class, () -> store.open("aborted"));
    if (store instanceof SupportsListing) {
      assertEquals(List.of(), keys(store, ""));
    }
    byte[] bytes = randomBytes(random, 10);
    store.write("aborted", bytes);
    assertArrayEquals(bytes, store.read("aborted"), "seed " + seed);
  }

  @Test
  void closeIsIdempotentAndAbortAfterCloseKeepsTheBlob() throws Exception {
    BlobStore store = store();
    BlobOutput out = store.create("twice");
    out.write(new byte[] {1, 2, 3});
    out.close();
    out.close();
    out.abort();
    assertArrayEquals(new byte[] {1, 2, 3}, store.read("twice"));
    assertThrows(IOException.class, () -> out.write(4));
  }

  @Test
  void survivesCloseAndReopen() throws Exception {
    Assumptions.assumeTrue(supportsReopen(), "store does not keep blobs across instances");
    long seed = seed();
    Random random = new Random(seed);
    BlobStore store = newStore();
    byte[] a = randomBytes(random, 3000);
    byte[] b = randomBytes(random, 300_000);
    store.write("a", a);
    store.write("dir/b", b);
    BlobOutput pending = store.create("dir/pending");
    pending.write(randomBytes(random, 100));
    BlobStore again = reopen(store);
    opened.add(again);
    pending.abort();
    assertArrayEquals(a, again.read("a"), "seed " + seed);
    assertArrayEquals(b, again.read("dir/b"), "seed " + seed);
    assertFalse(again.exists("dir/pending"));
    assertThrows(AlreadyExistsException.class, () -> again.write("a", new byte[1]));
    if (again instanceof SupportsListing) {
      assertEquals(List.of("a", "dir/b"), keys(again, ""));
    }
  }

  @Test
  void markersAreEmptyBlobsThatLeaveExistingKeysAsTheyAreAndSurviveReopen() throws Exception {
    BlobStore store = newStore();
    store.write("marks/p1/kept", new byte[] {7});
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      keys.add("marks/p" + (i % 3) + "/chunks/" + String.format("%02x", i % 7) + "/k" + i);
    }
    keys.add("marks/p1/kept");
    keys.add(keys.get(0)); // twice in one batch
    store.writeMarkers(keys);
    store.writeMarkers(keys.subList(0, 10)); // again: nothing changes
    for (String key : keys.subList(0, 300)) {
      assertArrayEquals(new byte[0], store.read(key), key);
    }
    assertArrayEquals(new byte[] {7}, store.read("marks/p1/kept"), "an existing blob is left as it is");
    assertThrows(IllegalArgumentException.class, () -> store.writeMarkers(List.of("marks/../x")));
    if (store instanceof SupportsListing) {
      assertEquals(301, keys(store, "marks/").size());
    }
    if (supportsReopen()) {
      BlobStore again = reopen(store);
      opened.add(again);
      for (String key : keys.subList(0, 300)) {
        assertTrue(again.exists(key), key);
      }
    }
  }

  @Test
  void listingIsSortedAndPrefixFiltered() throws Exception {
    BlobStore store = store();
    Assumptions.assumeTrue(store instanceof SupportsListing, "store does not list");
    // "a-c" sorts before "a/b" ('-' < '/') although a directory walk would visit "a" first.
    List<String> written = List.of("b", "a/b", "ab", "a-c", "a/c/d", "a/c/e", "c/x/y/z", "a/b0");
    for (String key : written) {
      store.write(key, key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    assertEquals(written.stream().sorted().collect(Collectors.toList()), keys(store, ""));
    assertEquals(List.of("a-c", "a/b", "a/b0", "a/c/d", "a/c/e", "ab"), keys(store, "a"));
    assertEquals(List.of("a/b", "a/b0", "a/c/d", "a/c/e"), keys(store, "a/"));
    assertEquals(List.of("a/b", "a/b0"), keys(store, "a/b"));
    assertEquals(List.of("a/c/d", "a/c/e"), keys(store, "a/c/"));
    assertEquals(List.of("c/x/y/z"), keys(store, "c/x/y"));
    assertEquals(List.of(), keys(store, "d"));
    assertEquals(List.of(), keys(store, "a/c/d/e"));
    try (Stream<BlobInfo> infos = ((SupportsListing) store).list("a/c/d")) {
      BlobInfo info = infos.findFirst().orElseThrow();
      assertEquals(5, info.size());
    }
  }

  @Test
  void racingCreatesOfOneKeyHaveExactlyOneWinner() throws Exception {
    long seed = seed();
    BlobStore store = store();
    int threads = 8;
    for (int round = 0; round < 5; round++) {
      String key = "race/" + round;
      CyclicBarrier barrier = new CyclicBarrier(threads);
      AtomicInteger winners = new AtomicInteger();
      AtomicInteger losers = new AtomicInteger();
      byte[][] payloads = new byte[threads][];
      Random random = new Random(seed + round);
      for (int t = 0; t < threads; t++) {
        payloads[t] = randomBytes(random, 1000 + random.nextInt(50_000));
      }
      ConcurrentHashMap<Integer, Boolean> won = new ConcurrentHashMap<>();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int id = t;
          futures.add(pool.submit(() -> {
            BlobOutput out = store.create(key);
            out.write(payloads[id]);
            barrier.await(10, TimeUnit.SECONDS);
            try {
              out.close();
              winners.incrementAndGet();
              won.put(id, true);
            } catch (AlreadyExistsException e) {
              losers.incrementAndGet();
              out.abort();
            }
            return null;
          }));
        }
        for (Future<?> f : futures) {
          f.get(60, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(1, winners.get(), "seed " + seed + " round " + round);
      assertEquals(threads - 1, losers.get(), "seed " + seed + " round " + round);
      int winner = won.keySet().iterator().next();
      assertArrayEquals(payloads[winner], store.read(key), "seed " + seed + " round " + round);
    }
  }

  @Test
  void manyThreadsWritingDistinctKeys() throws Exception {
    long seed = seed();
    BlobStore store = store();
    int threads = 6;
    int perThread = 40;
    ConcurrentHashMap<String, byte[]> expected = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        futures.add(pool.submit(() -> {
          Random random = new Random(seed + id);
          for (int i = 0; i < perThread; i++) {
            String key = "t" + id + "/" + (i % 7) + "/k" + i;
            byte[] bytes = randomBytes(random, random.nextInt(20_000));
            store.write(key, bytes);
            expected.put(key, bytes);
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(threads * perThread, expected.size());
    for (var e : expected.entrySet()) {
      assertArrayEquals(e.getValue(), store.read(e.getKey()), "seed " + seed + " key " + e.getKey());
    }
    if (store instanceof SupportsListing) {
      assertEquals(expected.keySet().stream().sorted().collect(Collectors.toList()), keys(store, ""), "seed " + seed);
    }
  }

  @Test
  void positionalAndRangedReads() throws Exception {
    long seed = seed();
    Random random = new Random(seed);
    BlobStore store = store();
    byte[] bytes = randomBytes(random, 70_001);
    store.write("ranged", bytes);
    try (BlobInput in = store.open("ranged")) {
      assertEquals(bytes.length, in.length());
      for (int i = 0; i < 200; i++) {
        int position = random.nextInt(bytes.length);
        int length = random.nextInt(Math.min(5000, bytes.length - position) + 1);
        assertArrayEquals(
            Arrays.copyOfRange(bytes, position, position + length),
            in.readFully(position, length),
            "seed " + seed + " position " + position + " length " + length);
      }
      // A read that crosses the end returns the bytes up to the end, then -1.
      ByteBuffer tail = ByteBuffer.allocate(100);
      int n = in.read(bytes.length - 10, tail);
      assertTrue(n > 0 && n <= 10, "seed " + seed + " read " + n);
      assertEquals(-1, in.read(bytes.length, ByteBuffer.allocate(10)));
      assertEquals(-1, in.read(bytes.length + 1000L, ByteBuffer.allocate(10)));
      assertThrows(EOFException.class, () -> in.readFully(bytes.length - 5, 10));
      assertThrows(IllegalArgumentException.class, () -> in.read(-1, ByteBuffer.allocate(1)));
      // Positional reads leave no cursor behind: the stream still starts at 0.
      try (InputStream stream = in.stream()) {
        assertArrayEquals(bytes, stream.readAllBytes(), "seed " + seed);
      }
    }
  }

  @Test
  void invalidKeysAreRefusedAndChangeNothing() throws Exception {
    BlobStore store = store();
    store.write("ok", new byte[] {1});
    List<String> invalid =
        List.of("", "..", "a/../b", "./a", "a/./b", "/abs", "a//b", "a/", "nul\0byte", "back\\slash", "x".repeat(1025));
    for (String key : invalid) {
      String shown = key.length() > 40 ? key.substring(0, 40) + "..." : key;
      assertThrows(IllegalArgumentException.class, () -> store.create(key), "create '" + shown + "'");
      assertThrows(IllegalArgumentException.class, () -> store.open(key), "open '" + shown + "'");
      assertThrows(IllegalArgumentException.class, () -> store.exists(key), "exists '" + shown + "'");
      assertThrows(IllegalArgumentException.class, () -> store.delete(key), "delete '" + shown + "'");
      assertThrows(IllegalArgumentException.class, () -> store.write(key, new byte[] {2}), "write '" + shown + "'");
      if (store instanceof SupportsTouch touch) {
        assertThrows(IllegalArgumentException.class, () -> touch.touch(key), "touch '" + shown + "'");
      }
    }
    assertArrayEquals(new byte[] {1}, store.read("ok"));
    if (store instanceof SupportsListing) {
      assertEquals(List.of("ok"), keys(store, ""));
    }
  }

  @Test
  void deleteRemovesAndAllowsRecreate() throws Exception {
    BlobStore store = store();
    store.write("d/x", new byte[] {1, 2});
    store.write("d/y", new byte[] {3});
    assertTrue(store.delete("d/x"));
    assertFalse(store.delete("d/x"));
    assertFalse(store.delete("never/written"));
    assertFalse(store.exists("d/x"));
    assertThrows(NotFoundException.class, () -> store.open("d/x"));
    assertArrayEquals(new byte[] {3}, store.read("d/y"));
    store.write("d/x", new byte[] {9});
    assertArrayEquals(new byte[] {9}, store.read("d/x"));
    if (store instanceof SupportsListing) {
      assertEquals(List.of("d/x", "d/y"), keys(store, ""));
    }
  }

  @Test
  void touchRefreshesLastModified() throws Exception {
    BlobStore store = store();
    Assumptions.assumeTrue(store instanceof SupportsTouch && store instanceof SupportsListing, "store does not touch and list");
    SupportsTouch touch = (SupportsTouch) store;
    store.write("t", new byte[] {1});
    Instant before = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    assertTrue(touch.touch("t"));
    assertFalse(touch.touch("not/there"));
    assertFalse(store.exists("not/there"));
    try (Stream<BlobInfo> infos = ((SupportsListing) store).list("t")) {
      BlobInfo info = infos.findFirst().orElseThrow();
      assertFalse(info.lastModified().isBefore(before), "lastModified " + info.lastModified() + " before " + before);
    }
    assertArrayEquals(new byte[] {1}, store.read("t"));
  }

  @Test
  void largeBlobStreamedInOddPiecesReadsBackIdentical() throws Exception {
    long seed = seed();
    Random random = new Random(seed);
    BlobStore store = store();
    int size = 8 << 20;
    byte[] bytes = randomBytes(random, size);
    BlobOutput out = store.create("large/blob");
    try {
      int position = 0;
      while (position < size) {
        if (random.nextInt(50) == 0) {
          out.write(bytes[position++]);
          continue;
        }
        int piece = Math.min(size - position, 1 + random.nextInt(random.nextBoolean() ? 1000 : 300_001));
        out.write(bytes, position, piece);
        position += piece;
      }
      assertEquals(size, out.written(), "seed " + seed);
      out.close();
    } catch (IOException | RuntimeException e) {
      out.abort();
      throw e;
    }
    try (BlobInput in = store.open("large/blob")) {
      assertEquals(size, in.length());
      assertArrayEquals(bytes, in.readAll(), "seed " + seed);
      byte[] streamed = new byte[size];
      try (InputStream stream = in.stream()) {
        int offset = 0;
        while (offset < size) {
          int n = stream.read(streamed, offset, Math.min(size - offset, 1 + random.nextInt(100_000)));
          if (n < 0) {
            fail("seed " + seed + ": stream ended at " + offset);
          }
          offset += n;
        }
        assertEquals(-1, stream.read());
      }
      assertArrayEquals(bytes, streamed, "seed " + seed);
    }
  }
}
