package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class GroupFlushTest {
  /** Every call returns only after a flush that started after it was called; concurrent calls share flushes. */
  @Test
  void everyCallerWaitsForAFlushStartedAfterItsCallAndConcurrentCallersShareThem() throws Exception {
    GroupFlush flushes = new GroupFlush();
    AtomicLong writes = new AtomicLong(); // what a flush "makes durable": the writes before it started
    AtomicLong durable = new AtomicLong();
    AtomicInteger runs = new AtomicInteger();
    int callers = 16;
    int calls = 200;
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    try {
      List<Future<?>> all = new ArrayList<>();
      for (int c = 0; c < callers; c++) {
        all.add(pool.submit(() -> {
          for (int i = 0; i < calls; i++) {
            long mine = writes.incrementAndGet();
            flushes.flush(() -> {
              runs.incrementAndGet();
              long covered = writes.get();
              java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // an fsync's time, during which others arrive
              durable.accumulateAndGet(covered, Math::max);
            }, "flush");
            assertTrue(durable.get() >= mine, "write " + mine + " returned before a flush covering it");
          }
          return null;
        }));
      }
      for (Future<?> f : all) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertTrue(runs.get() < callers * calls, "no flush was shared: " + runs.get() + " for " + callers * calls + " calls");
  }

  @Test
  void aFailedFlushIsThrownToItsCallerWithTheFailureAsCauseAndTheNextFlushRunsAgain() throws Exception {
    GroupFlush flushes = new GroupFlush();
    IOException disk = new IOException("fsync failed: EIO");
    IOException e = assertThrows(IOException.class, () -> flushes.flush(() -> {
      throw disk;
    }, "flush"));
    assertSame(disk, e.getCause());
    assertEquals("fsync failed: EIO", e.getMessage());
    AtomicInteger runs = new AtomicInteger();
    flushes.flush(runs::incrementAndGet, "flush");
    assertEquals(1, runs.get());
  }
}
