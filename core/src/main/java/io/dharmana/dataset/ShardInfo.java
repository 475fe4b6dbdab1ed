package io.dharmana.dataset;

import java.util.Objects;

/**
 * One shard as the dataset index records it.
 *
 * @param key the shard's key relative to the dataset root, e.g. {@code shards/shard-000003.dhs}
 * @param firstSample dataset index of the shard's first sample
 * @param samples samples in the shard
 * @param bytes original (decoded) bytes of the shard's samples
 * @param storedBytes size of the shard file
 * @param sha256 SHA-256 of the shard file, hex
 */
public record ShardInfo(String key, long firstSample, int samples, long bytes, long storedBytes, String sha256) {
  public ShardInfo {
    Objects.requireNonNull(key, "key");
    if (firstSample < 0 || samples < 0 || bytes < 0 || storedBytes < 0) {
      throw new IllegalArgumentException("Invalid shard " + key + ": negative counts");
    }
  }
}
