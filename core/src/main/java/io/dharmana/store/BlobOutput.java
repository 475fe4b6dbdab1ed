package io.dharmana.store;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * Writes one new blob. {@link #close()} commits it: it must make the bytes durable (for a durable
 * store) and visible atomically, or throw and leave nothing visible. {@link #abort()} discards
 * it. Both are idempotent, and abort after a successful close does nothing.
 */
public abstract class BlobOutput extends OutputStream {

  /** Key this output commits to. */
  public abstract String key();

  /** Bytes written so far. */
  public abstract long written();

  /** Writes one byte, as a block of one: every output takes its bytes in blocks. */
  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  /** Appends {@code len} bytes of {@code b} from {@code off}; must throw once closed or aborted. */
  @Override
  public abstract void write(byte[] b, int off, int len) throws IOException;

  /**
   * Commits the blob.
   *
   * @throws io.dharmana.AlreadyExistsException if the key was committed by someone else first
   * @throws IOException if the bytes could not be made durable; nothing is visible then
   */
  @Override
  public abstract void close() throws IOException;

  /** Discards what was written; never throws. */
  public abstract void abort();

  /**
   * Writes {@code bytes} and commits them, or aborts and rethrows (an {@link IOException} as
   * {@link UncheckedIOException}) so that nothing is visible after a failure.
   */
  public final void writeAndCommit(byte[] bytes) {
    try {
      write(bytes);
      close();
    } catch (IOException e) {
      abort();
      throw new UncheckedIOException("Cannot write " + key() + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      abort();
      throw e;
    }
  }
}
