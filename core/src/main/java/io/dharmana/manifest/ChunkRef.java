package io.dharmana.manifest;

import io.dharmana.chunk.ChunkId;
import java.util.Objects;

/**
 * One chunk of an object: its id (the SHA-256 of the stored bytes), how many bytes of the object
 * it holds once decoded, and how many bytes it occupies in the store.
 */
public record ChunkRef(ChunkId id, int length, int storedLength) {
  public ChunkRef {
    Objects.requireNonNull(id, "id");
    if (length < 0 || storedLength < 0) {
      throw new IllegalArgumentException("Invalid chunk " + id + ": negative length");
    }
  }
}
