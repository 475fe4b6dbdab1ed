package io.dharmana.dataset.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Buffers for sample reads, recycled when a batch is closed. Pooled buffers are direct, so a
 * positioned read fills them with one copy from the page cache (a heap array costs a second copy
 * through the JDK's temporary direct buffer), and recycling spares the collector the churn and the
 * copying of read-ahead batches. Buffers come in power-of-two size classes from 64 KiB.
 *
 * <p>At most {@code limit} bytes of direct buffers are handed out and not yet given back; beyond
 * that (a caller that never closes its batches) reads get heap buffers, which the collector frees
 * as usual, so forgetting to close costs speed, never direct memory. Thread-safe.
 */
public final class BufferPool {
  private static final int MIN_SHIFT = 16;
  private static final int CLASSES = 31 - MIN_SHIFT;

  private final long limit;
  private final AtomicLong outstanding = new AtomicLong();
  @SuppressWarnings("unchecked")
  private final ConcurrentLinkedDeque<ByteBuffer>[] free = new ConcurrentLinkedDeque[CLASSES];

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

  /** A buffer with position 0 and limit {@code size}, contents unspecified. */
  public ByteBuffer take(int size) {
    int c = sizeClass(size);
    if (c < CLASSES) {
      int capacity = 1 << (c + MIN_SHIFT);
      ByteBuffer b = free[c].pollFirst();
      if (b != null || outstanding.get() + capacity <= limit) {
        outstanding.addAndGet(capacity);
        if (b == null) {
          b = ByteBuffer.allocateDirect(capacity);
        }
        return b.clear().limit(size);
      }
    }
    return ByteBuffer.allocate(size);
  }

  /** Returns a buffer from {@link #take}; the caller must no longer use it or any view of it. */
  public void give(ByteBuffer b) {
    if (!b.isDirect()) {
      return;
    }
    outstanding.addAndGet(-b.capacity());
    free[sizeClass(b.capacity())].addFirst(b);
  }
}
