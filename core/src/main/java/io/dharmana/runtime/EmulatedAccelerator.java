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

  private final ToLongFunction<? super T> computeNanos;
  private final LongSupplier clock;
  private final Sleeper sleeper;

  private EmulatedAccelerator(ToLongFunction<? super T> computeNanos, LongSupplier clock, Sleeper sleeper) {
    this.computeNanos = Objects.requireNonNull(computeNanos, "computeNanos");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
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
    return new EmulatedAccelerator<>(item -> nanos, clock, sleeper);
  }

  /** An accelerator whose compute time depends on the item (e.g. proportional to a batch's samples). */
  public static <T> EmulatedAccelerator<T> computing(ToLongFunction<? super T> computeNanos, LongSupplier clock, Sleeper sleeper) {
    return new EmulatedAccelerator<>(computeNanos, clock, sleeper);
  }

  @Override
  public AcceleratorStats run(Iterator<? extends T> items) {
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
      try {
        sleeper.sleep(want);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("Cannot finish the emulated run: interrupted after " + count + " items", e);
      }
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
    long wall = count > 1 ? last - steadyStart : 0;
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
