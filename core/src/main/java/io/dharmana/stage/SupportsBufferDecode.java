package io.dharmana.stage;

import io.dharmana.CorruptDataException;
import java.nio.ByteBuffer;

/**
 * A {@link Stage} that can decode from any buffer straight into native memory, so that a reader
 * can hand decoded bytes to a channel without copying them out of a Java array. Optional: readers
 * fall back to {@link Stage#decode(byte[])} for stages without it.
 *
 * <p>Both methods must check the encoded bytes as {@code decode(byte[])} does and fail on the same
 * damage with a {@link CorruptDataException}; neither may move the position of {@code encoded}.
 * Thread-safe, as stages are.
 */
public interface SupportsBufferDecode {

  /**
   * The exact number of bytes the remaining bytes of {@code encoded} decode to, read from their
   * header without decoding them.
   *
   * @throws CorruptDataException if the header is damaged or claims more than it can hold
   */
  int decodedLength(ByteBuffer encoded);

  /**
   * Decodes the remaining bytes of {@code encoded} (a heap or a direct buffer) into {@code out},
   * which must be direct and have at least {@link #decodedLength} bytes remaining; writes from
   * its position and advances it by the bytes written, which it returns.
   *
   * @throws CorruptDataException if the bytes are damaged
   * @throws IllegalArgumentException if {@code out} is not direct or too small
   */
  int decode(ByteBuffer encoded, ByteBuffer out);
}
