package io.dharmana.metrics;

/**
 * What one stage of a chain did in one direction: calls, bytes in and out, time spent.
 *
 * @param index position in the chain (0 = first applied on encode)
 * @param stage the stage's name
 * @param direction {@code encode} or {@code decode}
 */
public record StageStats(int index, String stage, String direction, long calls, long bytesIn, long bytesOut, long nanos) {

  /** Input megabytes (10^6) per second of time spent in the stage. */
  public double throughputMBps() {
    return nanos == 0 ? 0 : bytesIn / 1e6 / (nanos / 1e9);
  }

  /** Bytes in over bytes out (for encode: the compression ratio). */
  public double ratio() {
    return bytesOut == 0 ? 0 : (double) bytesIn / bytesOut;
  }

  /**
   * Whether this entry codes the bytes: a stage of the pipeline's chain, or a step that changes
   * their size (the checkpoint path's float codec runs ahead of the chain). Runtime steps (chunking,
   * hashing, store I/O) pass bytes through unchanged.
   */
  public boolean codes() {
    return index >= 0 || bytesIn != bytesOut;
  }

  public double seconds() {
    return nanos / 1e9;
  }

  public StageStats plus(StageStats o) {
    return new StageStats(index, stage, direction, calls + o.calls, bytesIn + o.bytesIn, bytesOut + o.bytesOut, nanos + o.nanos);
  }
}
