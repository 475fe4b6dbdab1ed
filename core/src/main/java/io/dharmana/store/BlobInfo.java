package io.dharmana.store;

import java.time.Instant;
import java.util.Objects;

/** A committed blob as listing sees it. */
public record BlobInfo(String key, long size, Instant lastModified) {
  public BlobInfo {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(lastModified, "lastModified");
    if (size < 0) {
      throw new IllegalArgumentException("Invalid blob size for " + key + ": " + size);
    }
  }
}
