package io.dharmana.runtime;

/** Told how far a long read or write has come; called from one thread at a time. */
@FunctionalInterface
public interface ProgressListener {
  ProgressListener NONE = (done, total) -> {};

  /**
   * @param done bytes processed so far (or what the method taking the listener counts instead,
   *     such as the manifests a gc read)
   * @param total bytes expected in all, or -1 when unknown (a stream of unknown length)
   */
  void progress(long done, long total);

  /**
   * A listener for work whose parts finish on several threads in any order: each {@code
   * add(bytes)} of the result reports the sum so far to {@code listener}, one call at a time, never
   * going back.
   */
  static Summing summing(ProgressListener listener, long total) {
    return new Summing(listener, total);
  }

  /** See {@link #summing}. */
  final class Summing {
    private final ProgressListener listener;
    private final long total;
    private long done;

    private Summing(ProgressListener listener, long total) {
      this.listener = listener;
      this.total = total;
    }

    /** Reports that a part of {@code bytes} is done. */
    public synchronized void add(long bytes) {
      done += bytes;
      listener.progress(done, total);
    }
  }
}
