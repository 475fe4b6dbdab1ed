package io.dharmana.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * Random-access reader of one committed blob. Positional reads do not move a cursor, so one
 * instance may serve several threads; {@link #stream()} gives a sequential view.
 */
public interface BlobInput extends AutoCloseable {

  /** Length of the blob in bytes. */
  long length();

  /**
   * Reads up to {@code dst.remaining()} bytes starting at {@code position}; returns the number
   * read, or -1 at end of blob.
   */
  int read(long position, ByteBuffer dst) throws IOException;

  /** Reads exactly {@code length} bytes from {@code position}; fails with EOFException if short. */
  default byte[] readFully(long position, int length) throws IOException {
    ByteBuffer dst = ByteBuffer.allocate(length);
    long pos = position;
    while (dst.hasRemaining()) {
      int n = read(pos, dst);
      if (n < 0) {
        throw new java.io.EOFException("Cannot read " + length + " bytes at " + position + ": blob has " + length());
      }
      pos += n;
    }
    return dst.array();
  }

  /** Reads the whole blob into one array. */
  default byte[] readAll() throws IOException {
    long len = length();
    if (len > Integer.MAX_VALUE - 16) {
      throw new IOException("Cannot read a blob of " + len + " bytes into one array");
    }
    return readFully(0, (int) len);
  }

  /** A sequential stream over the whole blob. */
  default InputStream stream() {
    return new BlobInputStream(this);
  }

  @Override
  void close() throws IOException;
}
