package io.dharmana.checkpoint;

/**
 * How a {@link CheckpointManager} saves.
 *
 * @param rank this process's rank, {@code 0 <= rank < world}
 * @param world how many ranks save shards of each step; a step is complete when all have
 * @param maxInFlight saves that may be staged or being written at once; a further {@code save}
 *     blocks until one finishes, so staging memory is bounded by {@code maxInFlight} states
 * @param fullEvery K: a tensor is stored whole when its delta chain would reach K links, so
 *     restore never decodes more than K encodings of one tensor; 1 stores every tensor whole
 * @param floatCoding whether tensors are float-coded (lossless, and deltas need it); false
 *     stores raw bytes (fastest, no deltas)
 * @param threads background threads encoding tensors of one save in parallel
 * @param lossy {@code none}, or {@code int8} / {@code fp8}: fp32 tensors are block-quantized (an
 *     approximation, marked lossy in the table and in {@code list}; never a delta base); other
 *     dtypes stay lossless
 */
public record CheckpointOptions(int rank, int world, int maxInFlight, int fullEvery, boolean floatCoding, int threads,
    String lossy) {
  public static final CheckpointOptions DEFAULT =
      new CheckpointOptions(0, 1, 2, 8, true, Math.max(1, Runtime.getRuntime().availableProcessors()), "none");

  public CheckpointOptions {
    if (world < 1 || rank < 0 || rank >= world) {
      throw new IllegalArgumentException("Invalid rank " + rank + " of world " + world + ": need 0 <= rank < world");
    }
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("Invalid maxInFlight " + maxInFlight + ": must be >= 1");
    }
    if (fullEvery < 1) {
      throw new IllegalArgumentException("Invalid fullEvery " + fullEvery + ": must be >= 1");
    }
    lossy = lossy == null ? "none" : lossy;
    if (!lossy.equals("none") && !lossy.equals("int8") && !lossy.equals("fp8")) {
      throw new IllegalArgumentException("Invalid lossy '" + lossy + "': allowed are none, int8, fp8");
    }
    if (threads < 1) {
      throw new IllegalArgumentException("Invalid threads " + threads + ": must be >= 1");
    }
  }

  public CheckpointOptions withRank(int newRank, int newWorld) {
    return new CheckpointOptions(newRank, newWorld, maxInFlight, fullEvery, floatCoding, threads, lossy);
  }

  public CheckpointOptions withMaxInFlight(int n) {
    return new CheckpointOptions(rank, world, n, fullEvery, floatCoding, threads, lossy);
  }

  public CheckpointOptions withFullEvery(int k) {
    return new CheckpointOptions(rank, world, maxInFlight, k, floatCoding, threads, lossy);
  }

  /** Stores raw bytes instead of float-coded ones (no deltas). */
  public CheckpointOptions withRawBytes() {
    return new CheckpointOptions(rank, world, maxInFlight, fullEvery, false, threads, lossy);
  }

  public CheckpointOptions withThreads(int n) {
    return new CheckpointOptions(rank, world, maxInFlight, fullEvery, floatCoding, n, lossy);
  }

  /** Quantizes fp32 tensors with {@code format} ({@code int8} or {@code fp8}); the checkpoint is marked lossy. */
  public CheckpointOptions withLossy(String format) {
    return new CheckpointOptions(rank, world, maxInFlight, fullEvery, floatCoding, threads, format);
  }
}
