package io.dharmana.runtime;

import io.dharmana.manifest.ChunkRef;
import java.util.List;

/**
 * What the storage runtime wrote for one object: its chunks in order, the SHA-256 of the original
 * bytes (empty if not asked for), and how many stored bytes were new (not deduplicated against chunks already present).
 */
public record WrittenObject(long size, String sha256, List<ChunkRef> chunks, long newChunks, long newStoredBytes) {
  public WrittenObject {
    chunks = List.copyOf(chunks);
  }

  public long storedBytes() {
    return chunks.stream().mapToLong(ChunkRef::storedLength).sum();
  }
}
