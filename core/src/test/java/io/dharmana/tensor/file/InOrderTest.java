package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Tasks run on the caller and the pool; results arrive in order; failures stop the run with nothing left running. */
class InOrderTest {
  static LongStream seeds() {
    return LongStream.range(0, 8).map(i -> 0x1A0DE7L + i * 7919);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void resultsArriveInOrderWhateverFinishesFirst(long seed) throws IOException {
    Random r = new Random(seed);
    int count = r.nextInt(600);
    int threads = 1 + r.nextInt(4);
    long[] sizes = r.longs(count, 0, 4L << 20).toArray();
    long[] waits = r.longs(count, 0, 200_000).toArray();
    List<Integer> seen = new ArrayList<>();
    Set<String> workers = ConcurrentHashMap.newKeySet();
    InOrder.run(count, threads, i -> sizes[i], i -> {
      LockSupport.parkNanos(waits[i]);
      workers.add(Thread.currentThread().getName());
      return i;
    }, (i, result) -> {
      assertEquals(i, (int) result, "seed " + seed);
      seen.add(result);
    });
    assertEquals(count, seen.size(), "seed " + seed);
    assertTrue(workers.size() <= (threads == 1 ? 1 : threads + 1), "seed " + seed + ": " + workers + " on " + threads + " threads");
    if (threads == 1 && count > 0) {
      assertEquals(Set.of(Thread.currentThread().getName()), workers, "seed " + seed + ": one thread is the caller");
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aFailingTaskFailsTheRunAfterTheResultsBeforeIt(long seed) {
    Random r = new Random(seed);
    int count = 1 + r.nextInt(300);
    int failing = r.nextInt(count);
    int threads = 1 + r.nextInt(4);
    AtomicInteger running = new AtomicInteger();
    List<Integer> seen = new ArrayList<>();
    long[] waits = r.longs(count, 0, 100_000).toArray();
    IllegalStateException failure = new IllegalStateException("task " + failing);
    IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> InOrder.run(count, threads, i -> 1 << 20, i -> {
      running.incrementAndGet();
      try {
        LockSupport.parkNanos(waits[i]);
        if (i == failing) {
          throw failure;
        }
        return i;
      } finally {
        running.decrementAndGet();
      }
    }, (i, result) -> seen.add(result)), "seed " + seed);
    assertSame(failure, thrown, "seed " + seed);
    assertEquals(failing, seen.size(), "seed " + seed);
    assertEquals(0, running.get(), "seed " + seed + ": no task may run after the run has failed");
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aFailingSinkFailsTheRunWithNothingLeftRunning(long seed) {
    Random r = new Random(seed);
    int count = 2 + r.nextInt(300);
    int failing = r.nextInt(count);
    int threads = 1 + r.nextInt(4);
    AtomicInteger running = new AtomicInteger();
    IOException thrown = assertThrows(IOException.class, () -> InOrder.run(count, threads, i -> 4096, i -> {
      running.incrementAndGet();
      LockSupport.parkNanos(50_000);
      running.decrementAndGet();
      return i;
    }, (i, result) -> {
      if (i == failing) {
        throw new IOException("Cannot write " + i);
      }
    }), "seed " + seed);
    assertEquals("Cannot write " + failing, thrown.getMessage(), "seed " + seed);
    assertEquals(0, running.get(), "seed " + seed + ": no task may run after the run has failed");
  }
}
