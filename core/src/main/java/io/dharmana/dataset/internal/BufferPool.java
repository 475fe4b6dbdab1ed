package io.dharmana.dataset.internal;

import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Byte arrays for sample reads, recycled when a batch is closed. Recycling spares the collector
 * the churn (and the copying of read-ahead batches that survive a young collection) that a fresh
 * array per read costs; arrays that are never given back are simply collected. Arrays come in
 * power-of-two size classes from 64 KiB; at most {@code limit} bytes are kept. Thread-safe.
 */
public final class BufferPool {
  private static final int MIN_SHIFT = 16;
  private static final int CLASSES = 31 - MIN_SHIFT;

  private final long limit;
  private final AtomicLong pooled = new AtomicLong();
  @SuppressWarnings("unchecked")
  private final ConcurrentLinkedDeque<byte[]>[] free = new ConcurrentLinkedDeque[CLASSES];

  public BufferPool(long limit) {
    this.limit = limit;
    for (int i = 0; i < CLASSES; i++) {
      free[i] = new ConcurrentLinkedDeque<>();
    }
  }

  private static int sizeClass(int size) {
    int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(1, size) - 1));
    return shift - MIN_SHIFT;
  }

  /** An array of at least {@code size} bytes, with unspecified contents. */
  public byte[] take(int size) {
    int c = sizeClass(size);
    if (c >= CLASSES) {
      return new byte[size];
    }
    byte[] b = free[c].pollFirst();
    if (b != null) {
      pooled.addAndGet(-b.length);
      return b;
    }
    return new byte[1 << (c + MIN_SHIFT)];
  }

  /** Returns an array; the caller must no longer use it. */
  public void give(byte[] b) {
    int c = sizeClass(b.length);
    if (c >= CLASSES || b.length != 1 << (c + MIN_SHIFT) || pooled.get() + b.length > limit) {
      return;
    }
    pooled.addAndGet(b.length);
    free[c].addFirst(b);
  }
}
