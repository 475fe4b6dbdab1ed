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

  /**
   * The length of the bytes under a mapping now, which must be cheap to learn (one {@code fstat}
   * of an open file). A mapped file that something outside the process cut short faults
   * ({@code SIGBUS}) when a page past its new end is read; the JVM reports that as an
   * {@link InternalError} thrown some time after the access, and crashes when the access was in
   * native or intrinsic code (a checksum, a decompressor). A reader that holds a mapping for long
   * must therefore check a range against this length, learnt recently, before it reads the range.
   *
   * <p>The default is for views of bytes that cannot shrink: {@link Long#MAX_VALUE}.
   */
  default long currentLength() throws IOException {
    return Long.MAX_VALUE;
  }
}
