package io.dharmana.runtime;

import java.time.Duration;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;
import org.HdrHistogram.Histogram;

/**
 * An emulated accelerator, as MLPerf Storage uses: it computes on each item by sleeping a given
 * time (fixed, or a function of the item such as per-sample time × batch size), and records
 * compute time (the time asked for) against wall time and the time spent waiting for the next
 * item. The clock and the sleeper are injectable
 * so that tests run on a fake clock.
 *
 * <p>Two ways to launch the compute ({@link Launch}): {@linkplain Launch#SYNCHRONOUS synchronous},
 * as MLPerf Storage (DLIO) emulates it, where the consuming thread sleeps the compute and then
 * takes the next item; or {@linkplain Launch#ASYNCHRONOUS asynchronous}, as a training loop whose
 * accelerator runs queued work while the host thread already takes the next batch (CUDA streams,
 * JAX dispatch): the device is modelled as a timeline with one item queued behind the one it
 * computes, so a host thread that wakes late idles the device only when it is later than a whole
 * item's compute.
 *
 * <p>Not thread-safe; one instance serves one run at a time.
 *
 * @param <T> the item type
 */
public final class EmulatedAccelerator<T> implements ComputationRuntime<T> {

  /** Sleeps for a number of nanoseconds; the real one parks the thread. */
  @FunctionalInterface
  public interface Sleeper {
    Sleeper REAL = EmulatedAccelerator::sleepPrecisely;

    void sleep(long nanos) throws InterruptedException;
  }

  /** How the compute of an item is launched relative to taking the next one. */
  public enum Launch {
    /** The thread computes (sleeps), then takes the next item: MLPerf Storage's emulation. */
    SYNCHRONOUS,
    /**
     * The device computes while the thread takes the next item, one item queued at most: a late
     * thread or a slow take costs device time only beyond the item in compute.
     */
    ASYNCHRONOUS
  }

  private final ToLongFunction<? super T> computeNanos;
  private final LongSupplier clock;
  private final Sleeper sleeper;
  private final Launch launch;

  private EmulatedAccelerator(ToLongFunction<? super T> computeNanos, LongSupplier clock, Sleeper sleeper, Launch launch) {
    this.computeNanos = Objects.requireNonNull(computeNanos, "computeNanos");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    this.launch = Objects.requireNonNull(launch, "launch");
  }

  /** This accelerator with its compute launched as given (synchronous by default). */
  public EmulatedAccelerator<T> launching(Launch how) {
    return new EmulatedAccelerator<>(computeNanos, clock, sleeper, how);
  }

  /** An accelerator spending {@code perItem} on every item, on the real clock. */
  public static <T> EmulatedAccelerator<T> of(Duration perItem) {
    return of(perItem, System::nanoTime, Sleeper.REAL);
  }

  /** An accelerator spending {@code perItem} on every item, with the given clock and sleeper. */
  public static <T> EmulatedAccelerator<T> of(Duration perItem, LongSupplier clock, Sleeper sleeper) {
    if (perItem.isNegative()) {
      throw new IllegalArgumentException("Invalid compute time " + perItem + ": must not be negative");
    }
    long nanos = perItem.toNanos();
    return new EmulatedAccelerator<>(item -> nanos, clock, sleeper, Launch.SYNCHRONOUS);
  }

  /** An accelerator whose compute time depends on the item (e.g. proportional to a batch's samples). */
  public static <T> EmulatedAccelerator<T> computing(ToLongFunction<? super T> computeNanos, LongSupplier clock, Sleeper sleeper) {
    return new EmulatedAccelerator<>(computeNanos, clock, sleeper, Launch.SYNCHRONOUS);
  }

  @Override
  public AcceleratorStats run(Iterator<? extends T> items) {
    return launch == Launch.SYNCHRONOUS ? runSynchronous(items) : runAsynchronous(items);
  }

  private AcceleratorStats runSynchronous(Iterator<? extends T> items) {
    Histogram waits = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
    long count = 0;
    long compute = 0;
    long wait = 0;
    long firstWait = 0;
    long steadyStart = 0;
    long last = 0;
    long maxWait = 0;
    while (true) {
      long before = clock.getAsLong();
      if (!items.hasNext()) {
        break;
      }
      T item = items.next();
      long arrived = clock.getAsLong();
      long waited = arrived - before;
      long want = computeNanos.applyAsLong(item);
      pause(want, count);
      long done = clock.getAsLong();
      if (count == 0) {
        firstWait = waited;
        steadyStart = done;
      } else {
        wait += waited;
        // the compute asked for, as MLPerf Storage counts it: a sleep that overruns (the thread was
        // preempted) is time the accelerator would have been idle, not time it computed
        compute += want;
        waits.recordValue(Math.min(waited, waits.getHighestTrackableValue()));
        maxWait = Math.max(maxWait, waited);
      }
      last = done;
      count++;
    }
    return stats(count, compute, wait, count > 1 ? last - steadyStart : 0, firstWait, waits, maxWait);
  }

  /**
   * The device's timeline: item i starts when it has arrived and the device has finished item
   * i-1; the thread takes item i+1 as soon as item i starts (one item queued behind the one in
   * compute). A wait is time the device had nothing to compute.
   */
  private AcceleratorStats runAsynchronous(Iterator<? extends T> items) {
    Histogram idles = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
    long count = 0;
    long compute = 0;
    long idle = 0;
    long firstWait = 0;
    long maxIdle = 0;
    long deviceFree = 0; // when the device finishes the items launched so far
    long steadyStart = 0;
    while (true) {
      long before = clock.getAsLong();
      if (!items.hasNext()) {
        break;
      }
      T item = items.next();
      long arrived = clock.getAsLong();
      long want = computeNanos.applyAsLong(item);
      long start;
      if (count == 0) {
        firstWait = arrived - before;
        start = arrived;
        steadyStart = start + want;
      } else {
        start = Math.max(arrived, deviceFree);
        long waited = start - deviceFree;
        idle += waited;
        compute += want;
        idles.recordValue(Math.min(waited, idles.getHighestTrackableValue()));
        maxIdle = Math.max(maxIdle, waited);
      }
      deviceFree = start + want;
      count++;
      // the queue holds one item behind the one in compute: take the next when this one starts
      sleepUntil(start, count);
    }
    sleepUntil(deviceFree, count); // the run ends when the device does
    return stats(count, compute, idle, count > 1 ? deviceFree - steadyStart : 0, firstWait, idles, maxIdle);
  }

  private void sleepUntil(long deadline, long count) {
    long left = deadline - clock.getAsLong();
    if (left > 0) {
      pause(left, count);
    }
  }

  private void pause(long nanos, long count) {
    try {
      sleeper.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Cannot finish the emulated run: interrupted after " + count + " items", e);
    }
  }

  private static AcceleratorStats stats(long count, long compute, long wait, long wall, long firstWait, Histogram waits, long maxWait) {
    boolean any = waits.getTotalCount() > 0;
    return new AcceleratorStats(count, compute, wait, wall, firstWait, any ? waits.getValueAtPercentile(50) : 0,
        any ? waits.getValueAtPercentile(99) : 0, maxWait);
  }

  /** Parks until the deadline, spinning the last stretch: Thread.sleep overshoots by a millisecond or more. */
  private static void sleepPrecisely(long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + nanos;
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return;
      }
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
      if (left > 200_000) {
        LockSupport.parkNanos(left - 100_000);
      } else {
        Thread.onSpinWait();
      }
    }
  }
}
