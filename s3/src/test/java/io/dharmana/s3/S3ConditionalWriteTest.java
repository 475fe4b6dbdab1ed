package io.dharmana.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.store.SupportsConditionalReplace.Versioned;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Racing writers with two SDK clients (two stores) against one real S3 server. */
class S3ConditionalWriteTest {
  private static final int MIB = 1024 * 1024;

  @TempDir static Path dir;
  private static S3ProxyServer server;
  private static S3Store first;
  private static S3Store second;

  @BeforeAll
  static void start() throws Exception {
    server = S3ProxyServer.shared();
    server.createBucket("race");
    S3StoreOptions options = server.options().multipartThreshold(5 * MIB).partSize(5 * MIB).tempDirectory(dir).build();
    first = S3Stores.create("s3://race/repo", options);
    second = S3Stores.create("s3://race/repo", options);
  }

  @AfterAll
  static void stop() throws Exception {
    first.close();
    second.close();
  }

  /** Runs two writers released at the same instant; returns what each returned or threw. */
  private static List<Object> race(java.util.concurrent.Callable<Object> a, java.util.concurrent.Callable<Object> b)
      throws Exception {
    CyclicBarrier start = new CyclicBarrier(2);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Object>> futures = new ArrayList<>();
      for (java.util.concurrent.Callable<Object> writer : List.of(a, b)) {
        futures.add(pool.submit(() -> {
          start.await();
          try {
            return writer.call();
          } catch (RuntimeException e) {
            return e;
          }
        }));
      }
      List<Object> outcomes = new ArrayList<>();
      for (Future<Object> f : futures) {
        outcomes.add(f.get());
      }
      return outcomes;
    } finally {
      pool.shutdownNow();
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1000, 6 * MIB})
  void ofTwoWritersCreatingOneKeyExactlyOneWins(int size) throws Exception {
    for (int round = 0; round < 10; round++) {
      String key = "blobs/" + size + "/" + round;
      byte[] a = filled(size, (byte) 'a');
      byte[] b = filled(size, (byte) 'b');
      List<Object> outcomes = race(() -> { first.write(key, a); return "a"; }, () -> { second.write(key, b); return "b"; });
      long wins = outcomes.stream().filter(o -> o instanceof String).count();
      assertEquals(1, wins, "round " + round + ": " + outcomes);
      Object loser = outcomes.stream().filter(o -> !(o instanceof String)).findFirst().orElseThrow();
      assertTrue(loser instanceof AlreadyExistsException, "round " + round + ": " + loser);
      byte[] stored = first.read(key);
      String winner = (String) outcomes.stream().filter(o -> o instanceof String).findFirst().orElseThrow();
      assertArrayEquals(winner.equals("a") ? a : b, stored, "round " + round);
    }
  }

  /**
   * Swaps from a stale version fail. Not raced here: S3Proxy checks {@code If-Match} before
   * its write rather than atomically with it (only {@code If-None-Match: *} is atomic there;
   * two racing swaps from one version were both seen to win), so a race would test S3Proxy,
   * not this store. AWS S3 evaluates {@code If-Match} atomically.
   */
  @Test
  void swapsFromAStaleVersionFail() {
    String v0 = first.compareAndSwap("refs/main", null, bytes("m0"));
    assertThrows(CommitFailedException.class, () -> second.compareAndSwap("refs/main", null, bytes("other")));
    String v1 = second.compareAndSwap("refs/main", v0, bytes("m1"));
    assertThrows(CommitFailedException.class, () -> first.compareAndSwap("refs/main", v0, bytes("stale")));
    Versioned now = first.readVersioned("refs/main").orElseThrow();
    assertEquals(v1, now.version());
    assertArrayEquals(bytes("m1"), now.bytes());
    String v2 = first.compareAndSwap("refs/main", v1, bytes("m2"));
    assertEquals(v2, second.readVersioned("refs/main").orElseThrow().version());
  }

  @Test
  void ofTwoWritersCreatingOneRefExactlyOneWins() throws Exception {
    for (int round = 0; round < 10; round++) {
      String key = "refs/created-" + round;
      int r = round;
      List<Object> outcomes = race(
          () -> first.compareAndSwap(key, null, bytes("a" + r)),
          () -> second.compareAndSwap(key, null, bytes("b" + r)));
      List<Object> wins = outcomes.stream().filter(o -> o instanceof String).toList();
      assertEquals(1, wins.size(), "round " + round + ": " + outcomes);
      assertTrue(outcomes.stream().anyMatch(o -> o instanceof CommitFailedException), "round " + round + ": " + outcomes);
      assertEquals(wins.get(0), first.readVersioned(key).orElseThrow().version(), "round " + round);
    }
  }

  @Test
  void missingRefReadsAsEmptyAndSwapFromAVersionOfAMissingRefFails() {
    assertEquals(Optional.empty(), first.readVersioned("refs/none"));
    assertThrows(CommitFailedException.class, () -> first.compareAndSwap("refs/none", "\"0123\"", bytes("x")));
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] filled(int size, byte value) {
    byte[] bytes = new byte[size];
    java.util.Arrays.fill(bytes, value);
    return bytes;
  }
}
