package io.dharmana.runtime;

/**
 * How an accelerator spent its time over a run, as MLPerf Storage measures it: utilization is
 * compute time over wall time, with the first item excluded (its wait is the pipeline's start-up,
 * not steady-state starvation).
 *
 * @param items items consumed, the first included
 * @param computeNanos compute time asked for by items after the first
 * @param waitNanos time waiting for items after the first
 * @param wallNanos wall time from the end of the first item's compute to the end of the last's
 * @param firstWaitNanos wait for the first item (start-up)
 * @param waitP50Nanos median wait per item after the first
 * @param waitP99Nanos 99th percentile wait per item after the first
 * @param waitMaxNanos longest wait per item after the first
 */
public record AcceleratorStats(
    long items, long computeNanos, long waitNanos, long wallNanos, long firstWaitNanos, long waitP50Nanos, long waitP99Nanos,
    long waitMaxNanos) {

  public AcceleratorStats {
    if (items < 0 || computeNanos < 0 || waitNanos < 0 || wallNanos < 0) {
      throw new IllegalArgumentException("Invalid accelerator stats: negative figures");
    }
  }

  /** Compute time over wall time, items after the first; NaN with fewer than two items. */
  public double utilization() {
    return wallNanos == 0 ? Double.NaN : Math.min(1.0, (double) computeNanos / wallNanos);
  }

  /**
   * Wall time neither computing nor waiting for an item: the accelerator's thread woke late from
   * its compute, because the CPU was busy (on a small machine, with the loader's own threads). The
   * part of the lost utilization that no storage or prefetch setting recovers.
   */
  public long overrunNanos() {
    return Math.max(0, wallNanos - computeNanos - waitNanos);
  }
}
