package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CommitFailedException;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConcurrentWritersTest {
  @TempDir Path dir;

  static PipelineDescriptor plain() {
    return PipelineDescriptor.of("plain", StorageDescriptor.of(List.of()));
  }

  @Test
  void ofTwoWritersReplacingTheSameVersionExactlyOneWins() throws Exception {
    try (Repository r = Repository.init(dir, plain())) {
      r.put("shared", new SyntheticData(1, 100_000), PutOptions.defaults());
      for (int round = 0; round < 10; round++) {
        long base = r.stat("shared").orElseThrow().version();
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger wins = new AtomicInteger();
        List<String> losses = new CopyOnWriteArrayList<>();
        Thread[] writers = new Thread[2];
        for (int w = 0; w < 2; w++) {
          int seed = 100 + round * 2 + w;
          writers[w] = new Thread(() -> {
            try {
              go.await();
              r.put("shared", new SyntheticData(seed, 300_000), PutOptions.defaults().withExpectedVersion(base));
              wins.incrementAndGet();
            } catch (CommitFailedException e) {
              losses.add(e.getMessage());
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
          writers[w].start();
        }
        go.countDown();
        for (Thread t : writers) {
          t.join();
        }
        assertEquals(1, wins.get(), "round " + round);
        assertEquals(1, losses.size(), "round " + round);
        // the loser fails at the commit, or before it writes when the winner committed before it started
        assertTrue(losses.get(0).startsWith("Cannot commit objects/shared: expected version " + base)
            || losses.get(0).startsWith("Cannot put shared: expected version " + base), losses.get(0));
        assertEquals(base + 1, r.stat("shared").orElseThrow().version());
      }
    }
  }

  @Test
  void garbageCollectionBesideWritersLosesNothingCommitted() throws Exception {
    try (Repository r = Repository.init(dir, plain())) {
      AtomicBoolean stop = new AtomicBoolean();
      List<Integer> committed = new CopyOnWriteArrayList<>();
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      Thread writer = new Thread(() -> {
        try {
          for (int i = 0; i < 40 && !stop.get(); i++) {
            // shares half of its bytes with the previous object, so gc races with dedup
            r.put("o" + i, new SyntheticData(i / 2, 400_000 + i % 2), PutOptions.defaults());
            committed.add(i);
            if (i % 5 == 4) {
              r.remove("o" + (i - 2));
              committed.remove(Integer.valueOf(i - 2));
            }
          }
        } catch (Throwable t) {
          failures.add(t);
        }
      });
      Thread collector = new Thread(() -> {
        try {
          while (writer.isAlive()) {
            r.gc(Duration.ZERO);
          }
        } catch (Throwable t) {
          failures.add(t);
        }
      });
      writer.start();
      collector.start();
      writer.join();
      collector.join();
      assertTrue(failures.isEmpty(), () -> "failures: " + failures);
      r.gc(Duration.ZERO);
      for (int i : committed) {
        try (InputStream in = r.open("o" + i)) {
          assertTrue(SyntheticData.sameAs(in, i / 2, 400_000 + i % 2), "o" + i + " lost or damaged");
        }
      }
    }
  }
}
