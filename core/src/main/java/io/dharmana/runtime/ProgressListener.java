package io.dharmana.runtime;

/** Told how far a long read or write has come; called from one thread at a time. */
@FunctionalInterface
public interface ProgressListener {
  ProgressListener NONE = (done, total) -> {};

  /**
   * @param done bytes processed so far
   * @param total bytes expected in all, or -1 when unknown (a stream of unknown length)
   */
  void progress(long done, long total);
}
