package io.dharmana.bench;

import io.dharmana.runtime.AcceleratorStats;
import io.dharmana.runtime.EmulatedAccelerator;
import io.dharmana.runtime.HostScheduling;
import java.time.Duration;
import java.util.Iterator;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.LongStream;
import java.util.zip.CRC32C;

/**
 * The host's limit for the synchronous emulated accelerator: the strict utilization (compute asked
 * for over wall time, {@link AcceleratorStats#strictUtilization()}) it reaches when
 * every batch is ready at once, while threads as busy as the loader's readers would be at that
 * demand keep the cores occupied. Storage cannot do better than this on the same machine: the
 * loss is the accelerator's thread waking late from its compute.
 *
 * <p>Usage: {@code HostSleepLimit COMPUTE_MS DUTY [THREADS (2)] [SECONDS (5)]}, e.g. {@code 1.9
 * 0.8}: prints one JSON line with the utilization with and without the short slice (see {@link
 * HostScheduling}) beside ordinary busy threads, and with the short slice beside busy threads in
 * the background (as {@code dataset bench} runs the loader's readers by default), taking turns
 * for three rounds each.
 */
public final class HostSleepLimit {

  private HostSleepLimit() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length < 2) {
      System.err.println("Usage: HostSleepLimit COMPUTE_MS DUTY [THREADS] [SECONDS]");
      System.exit(2);
    }
    double computeMs = Double.parseDouble(args[0]);
    double duty = Double.parseDouble(args[1]);
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    double seconds = args.length > 3 ? Double.parseDouble(args[3]) : 5;
    if (!(computeMs > 0) || !(duty > 0 && duty <= 1) || threads < 0 || !(seconds > 0)) {
      System.err.println("Invalid arguments: COMPUTE_MS > 0, 0 < DUTY <= 1, THREADS >= 0, SECONDS > 0");
      System.exit(2);
    }
    long items = Math.max(2, (long) (seconds * 1000 / computeMs));
    double[] withSlice = new double[3];
    double[] without = new double[3];
    double[] background = new double[3];
    for (int round = 0; round < 3; round++) {
      Busy busy = new Busy(threads, duty, false);
      try {
        try (HostScheduling.Slice slice = HostScheduling.shortSlice(HostScheduling.MIN_SLICE)) {
          withSlice[round] = utilization(computeMs, items);
        }
        without[round] = utilization(computeMs, items);
      } finally {
        busy.stop();
      }
      busy = new Busy(threads, duty, true);
      try (HostScheduling.Slice slice = HostScheduling.shortSlice(HostScheduling.MIN_SLICE)) {
        background[round] = utilization(computeMs, items);
      } finally {
        busy.stop();
      }
    }
    System.out.printf(Locale.ROOT, "{\"computeMs\":%s,\"duty\":%s,\"threads\":%d,\"shortSlice\":%.3f,\"defaultSlice\":%.3f,"
        + "\"backgroundBusy\":%.3f}%n", computeMs, duty, threads, median(withSlice), median(without), median(background));
  }

  private static double utilization(double computeMs, long items) {
    Iterator<Long> ready = LongStream.range(0, items).boxed().iterator();
    AcceleratorStats stats = EmulatedAccelerator.<Long>of(Duration.ofNanos((long) (computeMs * 1e6))).run(ready);
    // the strict figure: with every batch ready, measured compute is all the wall time there is
    return stats.strictUtilization();
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  /**
   * Threads that checksum memory (as the readers verify samples) for {@code duty} of the time,
   * started at once and given 200 ms to get going.
   */
  private static final class Busy {
    private static final byte[] MEMORY = new byte[64 << 20];
    private final Thread[] threads;
    private volatile boolean stop;

    Busy(int count, double duty, boolean inBackground) throws InterruptedException {
      threads = new Thread[count];
      byte[] memory = MEMORY;
      for (int i = 0; i < count; i++) {
        threads[i] = new Thread(() -> {
          if (inBackground) {
            HostScheduling.background();
          }
          CRC32C crc = new CRC32C();
          int at = 0;
          while (!stop) {
            long t0 = System.nanoTime();
            for (int k = 0; k < 16; k++) { // 16 MiB at a time: about a batch's reading
              crc.update(memory, at, 1 << 20);
              at = (at + (1 << 20)) % memory.length;
            }
            long busyNanos = System.nanoTime() - t0;
            if (duty < 1) {
              LockSupport.parkNanos((long) (busyNanos * (1 - duty) / duty));
            }
          }
        }, "busy-" + i);
        threads[i].setDaemon(true);
        threads[i].start();
      }
      Thread.sleep(200);
    }

    void stop() throws InterruptedException {
      stop = true;
      for (Thread t : threads) {
        t.join();
      }
    }
  }
}
