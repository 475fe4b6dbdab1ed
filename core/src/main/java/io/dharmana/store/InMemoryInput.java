package io.dharmana.store;

import java.nio.ByteBuffer;

/**
 * A blob held in memory, read as a {@link BlobInput}: a stored array (the memory store), an array
 * read for one open (a packed blob read with one ranged GET), or a buffer (a tier's whole-blob
 * read, seen as an input so that promotion can copy it). The bytes are never changed or moved, so
 * concurrent positional reads are safe.
 */
final class InMemoryInput implements BlobInput {
  private final ByteBuffer bytes; // the blob from 0 to its limit; never repositioned
  private final byte[] handOver; // the array readAll may give away, or null: readAll copies

  private InMemoryInput(ByteBuffer bytes, byte[] handOver) {
    this.bytes = bytes.slice();
    this.handOver = handOver;
  }

  /** The blob in {@code bytes}, which others hold too: {@link #readAll()} copies it. */
  static InMemoryInput shared(byte[] bytes) {
    return new InMemoryInput(ByteBuffer.wrap(bytes), null);
  }

  /** The blob in an array read for this input alone: {@link #readAll()} hands it over. */
  static InMemoryInput owning(byte[] bytes) {
    return new InMemoryInput(ByteBuffer.wrap(bytes), bytes);
  }

  /** The blob from {@code buffer}'s position to its limit; {@link #readAll()} copies it. */
  static InMemoryInput of(ByteBuffer buffer) {
    return new InMemoryInput(buffer, null);
  }

  /** The blob's bytes, position 0 to limit: a view that the caller must not write through. */
  ByteBuffer buffer() {
    return bytes.duplicate();
  }

  @Override
  public long length() {
    return bytes.limit();
  }

  @Override
  public int read(long position, ByteBuffer dst) {
    if (position < 0) {
      throw new IllegalArgumentException("Invalid read position " + position + ": must be >= 0");
    }
    if (!dst.hasRemaining()) {
      return 0;
    }
    if (position >= bytes.limit()) {
      return -1;
    }
    int n = (int) Math.min(dst.remaining(), bytes.limit() - position);
    dst.put(bytes.slice((int) position, n));
    return n;
  }

  @Override
  public byte[] readAll() {
    if (handOver != null) {
      return handOver;
    }
    byte[] copy = new byte[bytes.limit()];
    bytes.get(0, copy);
    return copy;
  }

  @Override
  public void close() {}
}
