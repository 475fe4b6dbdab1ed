package io.dharmana.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.AlreadyExistsException;
import io.dharmana.store.StoreLock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lock object on a real S3 server (S3Proxy on loopback), taken by takers with a client each,
 * released at the same instant: the conditional write lets exactly one have it.
 */
class S3StoreLockTest {
  private static final int TAKERS = 6;

  @Test
  void ofTakersRacingForALockExactlyOneHasIt(@TempDir Path dir) throws Exception {
    S3ProxyServer server = S3ProxyServer.shared();
    server.createBucket("locks");
    List<S3Store> stores = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(TAKERS);
    try {
      for (int round = 0; round < 5; round++) {
        String prefix = "s3://locks/ds" + round;
        CyclicBarrier start = new CyclicBarrier(TAKERS);
        List<Future<StoreLock>> takes = new ArrayList<>();
        for (int i = 0; i < TAKERS; i++) {
          S3Store store = S3Stores.create(prefix, server.options().tempDirectory(dir).build());
          stores.add(store);
          takes.add(pool.submit(() -> {
            start.await();
            try {
              return StoreLock.take(store, ".pack.lock", "pack into " + prefix, prefix + "/.pack.lock", "run one at a time");
            } catch (AlreadyExistsException e) {
              assertTrue(e.getMessage().startsWith("Cannot pack into " + prefix + ": " + prefix + "/.pack.lock is held by pid "
                  + ProcessHandle.current().pid() + " on "), e.getMessage());
              assertTrue(e.getMessage().endsWith("; run one at a time"), e.getMessage());
              return null;
            }
          }));
        }
        List<StoreLock> held = new ArrayList<>();
        for (Future<StoreLock> take : takes) {
          if (take.get() != null) {
            held.add(take.get());
          }
        }
        assertEquals(1, held.size(), "round " + round);
        S3Store any = stores.get(stores.size() - 1);
        assertThrows(AlreadyExistsException.class, () -> StoreLock.take(any, ".pack.lock", "x", "y", "z"));
        held.get(0).close();
        held.get(0).close(); // idempotent
        assertFalse(any.exists(".pack.lock"), "released");
        StoreLock.take(any, ".pack.lock", "x", "y", "z"); // as a pack that was killed then leaves it
        assertTrue(StoreLock.breakLock(any, ".pack.lock"));
        StoreLock.take(any, ".pack.lock", "x", "y", "z").close();
      }
    } finally {
      pool.shutdownNow();
      stores.forEach(S3Store::close);
    }
  }
}
