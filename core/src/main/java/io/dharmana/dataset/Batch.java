package io.dharmana.dataset;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;

/**
 * A batch of samples as a {@link DataLoader} hands it out.
 *
 * <p>Closing a batch is optional: it gives the arrays its samples were read into back to the
 * loader for the next batches, which spares the garbage collector. After {@link #close()} the
 * batch's samples (and any buffer taken from them) must no longer be used; copy what must be
 * kept. A batch that is never closed is simply collected.
 */
public final class Batch implements AutoCloseable {
  private final long number;
  private final List<Sample> samples;
  private final long bytes;
  private final List<ByteBuffer> buffers;
  private final Consumer<ByteBuffer> release;
  private boolean closed;

  /** A batch that owns no pooled buffers. */
  public Batch(long number, List<Sample> samples) {
    this.number = number;
    this.samples = List.copyOf(samples);
    long n = 0;
    for (Sample s : this.samples) {
      n += s.size();
    }
    this.bytes = n;
    this.buffers = List.of();
    this.release = b -> {};
  }

  /** A loader's batch: it owns {@code samples} (no copy is made) and {@code buffers}; {@code bytes} is their total size. */
  Batch(long number, Sample[] samples, long bytes, List<ByteBuffer> buffers, Consumer<ByteBuffer> release) {
    this.number = number;
    this.samples = Collections.unmodifiableList(Arrays.asList(samples));
    this.bytes = bytes;
    this.buffers = buffers;
    this.release = release;
  }

  /** 0-based batch number within this loader's part of the epoch. */
  public long number() {
    return number;
  }

  /** The samples, in epoch order. */
  public List<Sample> samples() {
    return samples;
  }

  /** Total bytes of the batch's samples. */
  public long bytes() {
    return bytes;
  }

  public int size() {
    return samples.size();
  }

  /** Gives the batch's buffers back for reuse; idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    buffers.forEach(release);
  }

  @Override
  public String toString() {
    return "Batch[" + number + ", " + samples.size() + " samples]";
  }
}
