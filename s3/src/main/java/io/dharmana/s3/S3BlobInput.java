package io.dharmana.s3;

import io.dharmana.store.BlobInput;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Reads one object by ranged GETs pinned to the ETag seen at open. Holds no connection between
 * reads, so it is cheap to keep open and safe to share between threads.
 */
final class S3BlobInput implements BlobInput {
  private final S3Store store;
  private final String key;
  private final String objectKey;
  private final long length;
  private final String etag;

  S3BlobInput(S3Store store, String key, String objectKey, long length, String etag) {
    this.store = store;
    this.key = key;
    this.objectKey = objectKey;
    this.length = length;
    this.etag = etag;
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public int read(long position, ByteBuffer dst) throws IOException {
    if (position < 0) {
      throw new IllegalArgumentException("Invalid position " + position + " in " + key + ": must be >= 0");
    }
    if (!dst.hasRemaining()) {
      return 0;
    }
    if (position >= length) {
      return -1;
    }
    int n = (int) Math.min(dst.remaining(), length - position);
    store.readRange(objectKey, etag, position, n, dst);
    return n;
  }

  /** A sequential stream that keeps several ranged GETs in flight ahead of the reader. */
  @Override
  public InputStream stream() {
    return new ReadAheadStream();
  }

  @Override
  public void close() {
    // nothing held between reads
  }

  @Override
  public String toString() {
    return "S3BlobInput[" + key + ", " + length + " bytes]";
  }

  private final class ReadAheadStream extends InputStream {
    private final long part = store.options().readPartSize();
    private final int window = Math.max(1, Math.min(4, store.options().parallelism()));
    private final ArrayDeque<Future<ByteBuffer>> ahead = new ArrayDeque<>();
    private long scheduled;
    private ByteBuffer current = ByteBuffer.allocate(0);
    private boolean closed;

    private void schedule() {
      while (ahead.size() < window && scheduled < length) {
        long at = scheduled;
        int size = (int) Math.min(part, length - at);
        ahead.add(
            store.transfers().submit(
                () -> {
                  ByteBuffer buffer = ByteBuffer.allocate(size);
                  store.readSerial(objectKey, etag, at, size, buffer);
                  return buffer.flip();
                }));
        scheduled += size;
      }
    }

    private boolean fill() throws IOException {
      if (closed) {
        throw new IOException("Cannot read " + key + ": the stream is closed");
      }
      if (current.hasRemaining()) {
        return true;
      }
      schedule();
      Future<ByteBuffer> next = ahead.poll();
      if (next == null) {
        return false;
      }
      try {
        current = next.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("Cannot read " + key + ": interrupted");
      } catch (ExecutionException e) {
        throw e.getCause() instanceof IOException io ? io : new IOException("Cannot read " + key + ": " + e.getCause(), e.getCause());
      }
      schedule();
      return current.hasRemaining();
    }

    @Override
    public int read() throws IOException {
      return fill() ? current.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, current.remaining());
      current.get(b, off, n);
      return n;
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        ahead.forEach(f -> f.cancel(true));
        ahead.clear();
      }
    }
  }
}
