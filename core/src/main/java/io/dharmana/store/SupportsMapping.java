package io.dharmana.store;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A {@link BlobInput} whose bytes can be viewed in place (a memory-mapped file) instead of being
 * copied by {@link BlobInput#read}. Readers that hand out many large slices of one immutable blob
 * (dataset shards) use it to skip a copy per byte read.
 */
public interface SupportsMapping {

  /**
   * A read-only view of bytes {@code [position, position + length)} of the blob, position 0,
   * limit {@code length}. The view must stay valid after this input is closed and after the blob
   * is deleted (it holds the bytes it was made from), and is released when it becomes unreachable.
   *
   * @throws IOException if the range cannot be mapped; callers must then fall back to
   *     {@link BlobInput#read}
   * @throws IllegalArgumentException if the range is negative, larger than
   *     {@link Integer#MAX_VALUE} or outside the blob
   */
  ByteBuffer map(long position, long length) throws IOException;
}
