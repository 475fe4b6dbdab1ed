package io.dharmana.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CommitFailedException;
import io.dharmana.repo.Ref;
import io.dharmana.repo.RefStore;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Refs on S3: the repository's {@link RefStore} moves a ref by creating its next version with
 * {@code If-None-Match: *}; two writers with two SDK clients race from one base against the real
 * server and exactly one wins, every round.
 */
class S3RefStoreTest {
  @TempDir Path dir;

  @Test
  void ofTwoWritersMovingOneRefFromOneBaseExactlyOneWins() throws Exception {
    S3ProxyServer server = S3ProxyServer.shared();
    server.createBucket("refs");
    S3StoreOptions options = server.options().tempDirectory(dir).build();
    try (S3Store a = S3Stores.create("s3://refs/repo", options);
        S3Store b = S3Stores.create("s3://refs/repo", options)) {
      RefStore first = new RefStore(a, Clock.systemUTC());
      RefStore second = new RefStore(b, Clock.systemUTC());
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        long base = 0;
        for (int round = 0; round < 6; round++) {
          long from = base;
          int r = round;
          CyclicBarrier start = new CyclicBarrier(2);
          List<Future<Object>> futures = new ArrayList<>();
          for (RefStore refs : List.of(first, second)) {
            String target = (refs == first ? "a" : "b") + r;
            futures.add(pool.submit(() -> {
              start.await();
              try {
                return refs.compareAndSet("run-7/ckpt/latest", from, target);
              } catch (CommitFailedException e) {
                return e;
              }
            }));
          }
          List<Object> outcomes = new ArrayList<>();
          for (Future<Object> f : futures) {
            outcomes.add(f.get());
          }
          List<Ref> wins = outcomes.stream().filter(o -> o instanceof Ref).map(o -> (Ref) o).toList();
          assertEquals(1, wins.size(), "round " + round + ": " + outcomes);
          assertTrue(outcomes.stream().anyMatch(o -> o instanceof CommitFailedException), "round " + round + ": " + outcomes);
          Ref head = second.read("run-7/ckpt/latest").orElseThrow();
          assertEquals(wins.get(0).target(), head.target(), "round " + round);
          base = head.version();
        }
        assertEquals(6, base);
      } finally {
        pool.shutdownNow();
      }
    }
  }
}
