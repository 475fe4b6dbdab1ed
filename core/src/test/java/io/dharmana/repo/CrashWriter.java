package io.dharmana.repo;

import java.nio.file.Path;

/**
 * Child process of {@link CrashRecoveryTest}: puts objects {@code obj-<i>} from index {@code
 * start} on, forever, from {@code threads} threads at once (default 1), printing each name once
 * its put has returned (committed). With several threads it also merges small packs all along,
 * as a serving gateway does. The parent kills it with SIGKILL at a random moment.
 */
public final class CrashWriter {
  static long sizeOf(int i) {
    return (1L << 20) + (i * 7919L % 7) * (1L << 20) + i;
  }

  /** Sizes of the concurrent writers' objects: most of them small, as a gateway's are, so that their puts share packs. */
  static long concurrentSizeOf(int i) {
    return i % 4 == 3 ? sizeOf(i) : 4096 + i * 7919L % (256 << 10);
  }

  public static void main(String[] args) throws Exception {
    Path repo = Path.of(args[0]);
    java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger(Integer.parseInt(args[1]));
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    try (Repository r = Repository.open(repo)) {
      System.out.println("ready");
      System.out.flush();
      java.util.List<Thread> writers = new java.util.ArrayList<>();
      for (int t = 0; t < threads; t++) {
        Thread writer = new Thread(() -> {
          for (int i = next.getAndIncrement(); ; i = next.getAndIncrement()) {
            long size = threads == 1 ? sizeOf(i) : concurrentSizeOf(i);
            try {
              r.put("obj-" + i, new SyntheticData(i, size), PutOptions.defaults());
            } catch (io.dharmana.CommitFailedException replacedMeanwhile) {
              continue; // another writer's replacement of it (the same bytes) committed first
            }
            synchronized (System.out) {
              System.out.println("committed obj-" + i);
              System.out.flush();
            }
            if (i % 3 == 0) {
              // replace an older object too: a new version must never be half visible either
              int older = i / 2;
              try {
                r.put("obj-" + older, new SyntheticData(older, threads == 1 ? sizeOf(older) : concurrentSizeOf(older)),
                    PutOptions.defaults());
              } catch (io.dharmana.CommitFailedException raced) {
                // another writer put it meanwhile, with the same bytes
              }
            }
          }
        });
        writers.add(writer);
        writer.start();
      }
      if (threads > 1) {
        Thread merger = new Thread(() -> {
          while (true) {
            r.mergeSmallPacks();
            try {
              Thread.sleep(20);
            } catch (InterruptedException e) {
              return;
            }
          }
        });
        merger.setDaemon(true);
        merger.start();
      }
      for (Thread writer : writers) {
        writer.join();
      }
    }
  }
}
