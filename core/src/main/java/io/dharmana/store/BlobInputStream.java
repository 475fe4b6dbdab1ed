package io.dharmana.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/** Sequential view over a {@link BlobInput}; does not close the input. */
final class BlobInputStream extends InputStream {
  private final BlobInput input;
  private long position;

  BlobInputStream(BlobInput input) {
    this.input = input;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    int n = input.read(position, ByteBuffer.wrap(b, off, len));
    if (n > 0) {
      position += n;
    }
    return n;
  }

  @Override
  public long skip(long n) {
    long skipped = Math.max(0, Math.min(n, input.length() - position));
    position += skipped;
    return skipped;
  }

  @Override
  public int available() {
    return (int) Math.min(Integer.MAX_VALUE, input.length() - position);
  }
}
