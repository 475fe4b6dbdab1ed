package io.dharmana.chunk;

/**
 * Finds chunk boundaries in a stream of bytes. Implementations are stateless between calls and
 * thread-safe; content-defined chunkers choose boundaries from the bytes themselves, so an
 * insertion shifts only the chunks around it.
 */
public interface Chunker {

  /**
   * Returns the length of the next chunk of {@code buf[offset, offset + length)}. When {@code
   * length} is less than the maximum chunk size and {@code last} is false, the caller must supply
   * more bytes if the returned value equals {@code length} (no boundary found yet).
   *
   * @param last true when no more bytes follow {@code length}
   */
  int nextBoundary(byte[] buf, int offset, int length, boolean last);

  /** The largest chunk this chunker produces; callers buffer at least this much. */
  int maxSize();
}
