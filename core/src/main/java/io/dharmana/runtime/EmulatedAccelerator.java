package io.dharmana.runtime;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;
import org.HdrHistogram.Histogram;

/**
 * An emulated accelerator, as MLPerf Storage uses: it computes on each item by sleeping a given
 * time (fixed, or a function of the item such as per-sample time × batch size), and records
 * compute time (asked for, and how much longer the sleep took) against wall time and the time
 * spent waiting for the next item. The clock and the sleeper are injectable
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
  private final ToLongFunction<? super T> epochOf; // null: no per-epoch account

  private EmulatedAccelerator(
      ToLongFunction<? super T> computeNanos, LongSupplier clock, Sleeper sleeper, Launch launch, ToLongFunction<? super T> epochOf) {
    this.computeNanos = Objects.requireNonNull(computeNanos, "computeNanos");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    this.launch = Objects.requireNonNull(launch, "launch");
    this.epochOf = epochOf;
  }

  /** This accelerator with its compute launched as given (synchronous by default). */
  public EmulatedAccelerator<T> launching(Launch how) {
    return new EmulatedAccelerator<>(computeNanos, clock, sleeper, how, epochOf);
  }

  /**
   * This accelerator accounting for each epoch as well ({@link AcceleratorStats#epochs()}), with
   * {@code epochOf} telling an item's epoch; an epoch ends where the items' epoch changes.
   */
  public EmulatedAccelerator<T> byEpoch(ToLongFunction<? super T> epochOf) {
    return new EmulatedAccelerator<>(computeNanos, clock, sleeper, launch, Objects.requireNonNull(epochOf, "epochOf"));
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
    return new EmulatedAccelerator<>(item -> nanos, clock, sleeper, Launch.SYNCHRONOUS, null);
  }

  /** An accelerator whose compute time depends on the item (e.g. proportional to a batch's samples). */
  public static <T> EmulatedAccelerator<T> computing(ToLongFunction<? super T> computeNanos, LongSupplier clock, Sleeper sleeper) {
    return new EmulatedAccelerator<>(computeNanos, clock, sleeper, Launch.SYNCHRONOUS, null);
  }

  @Override
  public AcceleratorStats run(Iterator<? extends T> items) {
    boolean async = launch == Launch.ASYNCHRONOUS;
    Histogram waits = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
    long count = 0;
    long compute = 0;
    long overrun = 0;
    long wait = 0;
    long firstWait = 0;
    long maxWait = 0;
    long firstEnd = 0;
    long end = 0; // when the accelerator finishes the items taken so far
    List<AcceleratorStats.Epoch> epochs = new ArrayList<>();
    EpochAccount epoch = null;
    while (true) {
      long before = clock.getAsLong();
      if (!items.hasNext()) {
        break;
      }
      T item = items.next();
      long arrived = clock.getAsLong();
      long want = computeNanos.applyAsLong(item);
      if (epochOf != null) {
        long number = epochOf.applyAsLong(item);
        if (epoch == null) {
          epoch = new EpochAccount(number);
        } else if (number != epoch.number) {
          // the epoch before ends with its last compute: the wait for this item is this epoch's
          epochs.add(epoch.close(end));
          epoch = new EpochAccount(number, end);
        }
      }
      long waited;
      long late = 0;
      if (async) {
        // the device's timeline: an item starts when it has arrived and the device is free; a
        // wait is time the device had nothing to compute. The thread takes the next item as soon
        // as this one starts (one queued behind the one in compute).
        long start = count == 0 ? arrived : Math.max(arrived, end);
        waited = count == 0 ? arrived - before : start - end;
        end = start + want;
        sleepUntil(start, count);
      } else {
        waited = arrived - before;
        pause(want, count);
        end = clock.getAsLong();
        // measured from the item's arrival, as DLIO times its compute: a sleep that overruns (the
        // thread was preempted or woke late) computed longer, it did not wait for storage
        late = Math.max(0, end - arrived - want);
      }
      if (count == 0) {
        firstWait = waited;
        firstEnd = end;
        if (epoch != null) {
          epoch.start = end;
        }
      } else {
        if (epoch != null) {
          epoch.add(want, late, waited);
        }
        wait += waited;
        compute += want;
        overrun += late;
        waits.recordValue(Math.min(waited, waits.getHighestTrackableValue()));
        maxWait = Math.max(maxWait, waited);
      }
      count++;
    }
    if (async) {
      sleepUntil(end, count); // the run ends when the device does
    }
    if (epoch != null) {
      epochs.add(epoch.close(end));
    }
    // a percentile is the top of its histogram bucket (3 digits), which may lie above the longest
    // wait measured: never report a p99 longer than the max
    long p50 = waits.getTotalCount() > 0 ? Math.min(waits.getValueAtPercentile(50), maxWait) : 0;
    long p99 = waits.getTotalCount() > 0 ? Math.min(waits.getValueAtPercentile(99), maxWait) : 0;
    return new AcceleratorStats(count, compute, overrun, wait, count > 1 ? end - firstEnd : 0, firstWait, p50, p99, maxWait, epochs);
  }

  /** The figures of the epoch in progress. */
  private static final class EpochAccount {
    final long number;
    long start; // the end of the compute before the epoch's first counted item
    long items;
    long compute;
    long overrun;
    long wait;

    EpochAccount(long number) {
      this.number = number;
    }

    EpochAccount(long number, long start) {
      this.number = number;
      this.start = start;
    }

    void add(long computeNanos, long overrunNanos, long waitNanos) {
      items++;
      compute += computeNanos;
      overrun += overrunNanos;
      wait += waitNanos;
    }

    AcceleratorStats.Epoch close(long end) {
      return new AcceleratorStats.Epoch(number, items, compute, overrun, wait, Math.max(0, end - start));
    }
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
