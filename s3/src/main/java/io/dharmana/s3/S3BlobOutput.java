package io.dharmana.s3;

import io.dharmana.store.BlobOutput;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Stages a blob in memory, spilling to a temporary file past the spill threshold, and commits it
 * with one conditional write at {@link #close()}. Not thread safe (one writer per output).
 */
final class S3BlobOutput extends BlobOutput {
  private final S3Store store;
  private final String key;
  private final long spillThreshold;
  private byte[] buffer = new byte[1024];
  private int buffered;
  private Path spillFile;
  private OutputStream spill;
  private long written;
  private boolean done;

  S3BlobOutput(S3Store store, String key) {
    this.store = store;
    this.key = key;
    this.spillThreshold = store.options().spillThreshold();
  }

  @Override
  public String key() {
    return key;
  }

  @Override
  public long written() {
    return written;
  }


  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    if (done) {
      throw new IOException("Cannot write to " + key + ": the output is closed or aborted");
    }
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (spill == null && (long) buffered + len > spillThreshold) {
      spillFile = Files.createTempFile(store.options().tempDirectory(), "dharmana-s3-", ".spill");
      spill = new java.io.BufferedOutputStream(Files.newOutputStream(spillFile), 1 << 16);
      spill.write(buffer, 0, buffered);
      buffer = null;
    }
    if (spill != null) {
      spill.write(b, off, len);
    } else {
      if (buffered + len > buffer.length) {
        buffer = Arrays.copyOf(buffer, (int) Math.min(Integer.MAX_VALUE - 16, Math.max((long) buffered + len, 2L * buffer.length)));
      }
      System.arraycopy(b, off, buffer, buffered, len);
      buffered += len;
    }
    written += len;
  }

  @Override
  public void close() throws IOException {
    if (done) {
      return;
    }
    done = true;
    try {
      Payload payload;
      if (spill != null) {
        spill.close();
        payload = Payload.of(spillFile, written);
      } else {
        payload = Payload.of(buffer, buffered);
      }
      store.commit(key, payload);
    } finally {
      release();
    }
  }

  @Override
  public void abort() {
    if (!done) {
      done = true;
      release();
    }
  }

  private void release() {
    buffer = null;
    if (spill != null) {
      try {
        spill.close();
      } catch (IOException ignored) {
        // the file is deleted next
      }
    }
    if (spillFile != null) {
      try {
        Files.deleteIfExists(spillFile);
      } catch (IOException ignored) {
        // a temp file left behind is harmless
      }
    }
  }
}
