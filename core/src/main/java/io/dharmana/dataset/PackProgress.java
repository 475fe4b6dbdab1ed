package io.dharmana.dataset;

/**
 * Receives the progress of a pack. Called from packing threads; implementations must be
 * thread-safe and fast (the CLI prints a progress line from it).
 */
public interface PackProgress {
  PackProgress NONE = new PackProgress() {};

  /** {@code samples} samples of {@code bytes} input bytes have been read from the sources so far. */
  default void read(long samples, long bytes) {}

  /** A shard was committed; {@code shards} shards holding {@code bytes} input bytes are done. */
  default void shardWritten(String key, int shards, long bytes) {}
}
