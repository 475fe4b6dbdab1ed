package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The body runs on as many threads as asked, the caller among them; the first failure is thrown once all have finished. */
class InParallelTest {
  @Test
  void theBodyRunsOnEveryThreadTheCallerIncluded() throws IOException {
    for (int threads = 1; threads <= 4; threads++) {
      Set<Thread> ran = ConcurrentHashMap.newKeySet();
      AtomicInteger runs = new AtomicInteger();
      InParallel.run(threads, () -> {
        ran.add(Thread.currentThread());
        runs.incrementAndGet();
      });
      assertEquals(threads, runs.get());
      assertEquals(threads, ran.size());
      assertTrue(ran.contains(Thread.currentThread()));
    }
  }

  @Test
  void aFailureOnAnyThreadIsThrownAfterAllHaveFinished() {
    for (int failing = 0; failing < 3; failing++) {
      AtomicInteger started = new AtomicInteger();
      AtomicInteger finished = new AtomicInteger();
      IOException failure = new IOException("disk full");
      int which = failing;
      IOException thrown = assertThrows(IOException.class, () -> InParallel.run(3, () -> {
        int me = started.getAndIncrement();
        try {
          Thread.sleep(20);
          if (me == which) {
            throw failure;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          finished.incrementAndGet();
        }
      }));
      assertSame(failure, thrown);
      assertEquals(3, finished.get(), "every thread finished before the failure was thrown");
    }
    IllegalStateException bug = new IllegalStateException("bug");
    assertSame(bug, assertThrows(IllegalStateException.class, () -> InParallel.run(2, () -> {
      throw bug;
    })));
  }
}
