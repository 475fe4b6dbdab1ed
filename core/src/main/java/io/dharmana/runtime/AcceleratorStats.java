package io.dharmana.runtime;

import java.util.List;

/**
 * How an accelerator spent its time over a run, as MLPerf Storage measures it: utilization is
 * compute time over wall time, with the first item excluded (its wait is the pipeline's start-up,
 * not steady-state starvation).
 *
 * <p>Compute time is what each compute measured, as MLPerf Storage's DLIO times it (the clock read
 * before and after each emulated compute): a thread that wakes late from its sleep computed
 * longer, it did not wait for storage. How much longer, the overrun, is kept apart, and {@link
 * #strictUtilization()} counts only the compute asked for: the stricter figure charges a late
 * wake-up as idle time, which on a loaded host is partly the loader's CPU and partly the host's
 * timer and scheduler (the host's own floor: bench's HostSleepLimit).
 *
 * @param items items consumed, the first included
 * @param computeNanos compute time asked for by items after the first
 * @param overrunNanos how much longer than asked those computes took (a synchronous launch's thread
 *     woke late); zero for an asynchronous launch, whose device computes exactly what it is asked
 * @param waitNanos time waiting for items after the first
 * @param wallNanos wall time from the end of the first item's compute to the end of the last's
 * @param firstWaitNanos wait for the first item (start-up)
 * @param waitP50Nanos median wait per item after the first
 * @param waitP99Nanos 99th percentile wait per item after the first
 * @param waitMaxNanos longest wait per item after the first
 * @param epochs the same figures per epoch, in order, when the run was told its items' epochs
 *     ({@link EmulatedAccelerator#byEpoch}); empty otherwise. They add up to the run's.
 */
public record AcceleratorStats(
    long items, long computeNanos, long overrunNanos, long waitNanos, long wallNanos, long firstWaitNanos, long waitP50Nanos, long waitP99Nanos,
    long waitMaxNanos, List<Epoch> epochs) {

  public AcceleratorStats {
    if (items < 0 || computeNanos < 0 || overrunNanos < 0 || waitNanos < 0 || wallNanos < 0) {
      throw new IllegalArgumentException("Invalid accelerator stats: negative figures");
    }
    epochs = List.copyOf(epochs);
  }

  /**
   * One epoch of a run, as MLPerf Storage (DLIO) reports utilization per epoch: its wall time runs
   * from the end of the previous epoch's last compute (the run's first item, for the first epoch)
   * to the end of its own last compute, so a wait at an epoch boundary counts in the epoch it
   * delays.
   *
   * @param epoch the epoch's number, as the run was told it
   * @param items items of the epoch (the run's first item excluded)
   * @param computeNanos compute time asked for by those items
   * @param overrunNanos how much longer than asked they computed
   * @param waitNanos time waiting for them
   * @param wallNanos the epoch's wall time
   */
  public record Epoch(long epoch, long items, long computeNanos, long overrunNanos, long waitNanos, long wallNanos) {
    /** Measured compute time over wall time; NaN for an epoch without wall time. */
    public double utilization() {
      return ratio(computeNanos + overrunNanos, wallNanos);
    }

    /** Compute time asked for over wall time; NaN for an epoch without wall time. */
    public double strictUtilization() {
      return ratio(computeNanos, wallNanos);
    }
  }

  /**
   * Utilization over the epochs after the first: what a long run settles at once the process has
   * warmed up (its code compiled, its caches filled) and the loader reads ahead across epoch
   * boundaries. NaN without at least two epochs.
   */
  public double utilizationAfterFirstEpoch() {
    long computed = 0;
    long wall = 0;
    for (Epoch e : epochs.subList(Math.min(1, epochs.size()), epochs.size())) {
      computed += e.computeNanos() + e.overrunNanos();
      wall += e.wallNanos();
    }
    return ratio(computed, wall);
  }

  /** Measured compute time over wall time, items after the first; NaN with fewer than two items. */
  public double utilization() {
    return ratio(computeNanos + overrunNanos, wallNanos);
  }

  /**
   * Compute time asked for over wall time, items after the first: a late wake-up from a compute
   * (the overrun) counts as idle time. NaN with fewer than two items.
   */
  public double strictUtilization() {
    return ratio(computeNanos, wallNanos);
  }

  private static double ratio(long part, long wall) {
    return wall == 0 ? Double.NaN : Math.min(1.0, (double) part / wall);
  }
}
